// Settings: email verification, change password, download my data, sign out.

import { h, field, messageArea, busy, replace } from "../dom.js";
import { explain } from "../errors.js";
import { live, track, type App, type Screen } from "../app.js";

export function settingsScreen(app: App): Screen {
  const el = h("div", { class: "stack narrow" }, h("h1", {}, "Settings"),
    emailSection(app), passwordSection(app), dataSection(app),
    h("section", { class: "card" }, h("h2", {}, "Sign out"),
      h("p", {}, "Signs this tab out and revokes its login on the server."),
      h("button", { type: "button", class: "secondary", onclick: () => void app.signOut() }, "Sign out")));
  return { title: "Settings", el };
}

function emailSection(app: App): HTMLElement {
  const state = live(app);
  const message = messageArea();
  const status = h("p", { id: "email-status" });
  const resend = h("button", { type: "button", class: "secondary" }, "Send the verification mail again");
  const section = h("section", { class: "card", "aria-labelledby": "email-title" },
    h("h2", { id: "email-title" }, "Email"), status, message.el, resend);
  const render = (): void => {
    replace(status, `${state.me.email}: `, state.me.email_verified ? "verified ✓" : "not verified yet.");
    resend.hidden = state.me.email_verified;
  };
  resend.addEventListener("click", () => void busy(section, async () => {
    message.clear();
    try {
      await app.session.withToken((token) => app.rest.resendVerification(token));
      message.ok("Sent. Follow the link in the mail (earlier links no longer work).");
    } catch (error) {
      message.error(explain(error));
    }
  }));
  render();
  track(state.on("me", render));
  return section;
}

function passwordSection(app: App): HTMLElement {
  const current = h("input", { type: "password", name: "current_password", autocomplete: "current-password" });
  const next = h("input", { type: "password", name: "new_password", autocomplete: "new-password", minlength: 8,
    maxlength: 128 });
  const message = messageArea();
  const form = h("form", { class: "card", novalidate: true, "aria-labelledby": "password-title" },
    h("h2", { id: "password-title" }, "Change password"), message.el,
    field("Current password", current), field("New password", next, "8 to 128 characters. Other devices are signed out."),
    h("button", { type: "submit", class: "primary" }, "Change password"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    message.clear();
    void busy(form, async () => {
      try {
        const tokens = await app.session.withToken((token) => app.rest.changePassword(
          { current_password: current.value, new_password: next.value }, token));
        app.session.start(tokens); // the new login; the socket refreshes with it if the old one is closed
        await live(app).client.renew(tokens.access_token).catch(() => undefined);
        current.value = next.value = "";
        message.ok("Password changed. Your other devices were signed out.");
      } catch (error) {
        message.error(explain(error));
      }
    });
  });
  return form;
}

function dataSection(app: App): HTMLElement {
  const message = messageArea();
  const button = h("button", { type: "button", class: "secondary" }, "Download my data");
  const section = h("section", { class: "card", "aria-labelledby": "data-title" },
    h("h2", { id: "data-title" }, "Your data"),
    h("p", {}, "Everything Delete stores about you, as one JSON file (once an hour)."), message.el, button);
  button.addEventListener("click", () => void busy(section, async () => {
    message.clear();
    try {
      const data = await app.session.withToken((token) => app.rest.exportAccount(token));
      const url = URL.createObjectURL(new Blob([JSON.stringify(data, null, 2)], { type: "application/json" }));
      const link = h("a", { href: url, download: `delete-export-${data.exported_at.slice(0, 10)}.json` });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
      message.ok("Your data was downloaded.");
    } catch (error) {
      message.error(explain(error));
    }
  }));
  return section;
}

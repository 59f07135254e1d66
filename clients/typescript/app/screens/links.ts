// The pages mails link to: /app/verify-email#token=… and /app/reset-password#token=…. The token travels in the
// fragment, which browsers never send to a server; it is read once and removed from the address bar.

import { h, field, messageArea, busy } from "../dom.js";
import { explain } from "../errors.js";
import type { App, Screen } from "../app.js";

/** The `token` of the fragment, removed from the address bar (and history) at once. */
export function takeToken(): string | null {
  const token = new URLSearchParams(location.hash.slice(1)).get("token");
  if (location.hash) history.replaceState(history.state, "", location.pathname + location.search);
  return token;
}

export function verifyEmailScreen(app: App, token: string | null): Screen {
  const message = messageArea();
  const el = h("section", { class: "card narrow", "aria-labelledby": "verify-title" },
    h("h1", { id: "verify-title" }, "Verify your email"), message.el,
    h("p", {}, h("a", { href: "/app" }, "Continue to Delete")));
  if (token === null) {
    message.error("This link has no token. Open the link from the mail again, or ask for a new mail in Settings.");
  } else {
    void app.rest.verifyEmail(token).then((reply) => {
      message.ok(`Thank you: ${reply.user.email} is verified.`);
      if (app.live !== null && app.live.me.id === reply.user.id) app.live.setMe(reply.user);
    }, (error: unknown) => message.error(explain(error)));
  }
  return { title: "Verify your email", el };
}

export function resetPasswordScreen(app: App, token: string | null): Screen {
  const password = h("input", { type: "password", name: "password", autocomplete: "new-password", minlength: 8,
    maxlength: 128 });
  const message = messageArea();
  const form = h("form", { class: "card narrow", novalidate: true, "aria-labelledby": "reset-title" },
    h("h1", { id: "reset-title" }, "Choose a new password"), message.el,
    field("New password", password, "8 to 128 characters. Every device is signed out."),
    h("button", { type: "submit", class: "primary" }, "Set password"));
  if (token === null) message.error("This link has no token. Ask for a new one from the log-in screen.");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    message.clear();
    if (token === null) return;
    void busy(form, async () => {
      try {
        const tokens = await app.rest.resetPassword({ token, password: password.value });
        if (app.live !== null) await app.signOut();
        await app.signedIn(tokens);
        app.toast("Your password was changed.");
      } catch (error) {
        message.error(explain(error));
      }
    });
  });
  return { title: "New password", el: form };
}

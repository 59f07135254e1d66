// Sign up, log in and "forgot password", on one screen.

import { h, field, messageArea, busy } from "../dom.js";
import { explain } from "../errors.js";
import type { App, Screen } from "../app.js";

type Mode = "login" | "signup" | "forgot";

export function authScreen(app: App, mode: Mode = "login"): Screen {
  const el = h("section", { class: "card narrow", "aria-labelledby": "auth-title" });
  const render = (next: Mode): void => {
    el.replaceChildren(next === "login" ? loginForm(app, render) : next === "signup" ? signupForm(app, render)
      : forgotForm(app, render));
    el.querySelector<HTMLInputElement>("input")?.focus();
  };
  render(mode);
  return { title: "Welcome", el };
}

function switcher(text: string, label: string, go: () => void): HTMLElement {
  return h("p", { class: "switch" }, text, " ", h("button", { type: "button", class: "link", onclick: go }, label));
}

function loginForm(app: App, render: (m: Mode) => void): HTMLElement {
  const email = h("input", { type: "email", name: "email", autocomplete: "username", required: true });
  const password = h("input", { type: "password", name: "password", autocomplete: "current-password", required: true });
  const message = messageArea();
  const form = h("form", { novalidate: true },
    h("h1", { id: "auth-title" }, "Log in"),
    message.el,
    field("Email", email), field("Password", password),
    h("button", { type: "submit", class: "primary" }, "Log in"),
    switcher("New here?", "Create an account", () => render("signup")),
    switcher("Forgot your password?", "Reset it", () => render("forgot")));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    message.clear();
    void busy(form, async () => {
      try {
        await app.signedIn(await app.rest.login({ email: email.value.trim(), password: password.value }));
      } catch (error) {
        message.error(explain(error));
      }
    });
  });
  return form;
}

function signupForm(app: App, render: (m: Mode) => void): HTMLElement {
  const name = h("input", { type: "text", name: "display_name", autocomplete: "given-name", required: true,
    maxlength: 50 });
  const email = h("input", { type: "email", name: "email", autocomplete: "email", required: true });
  const password = h("input", { type: "password", name: "password", autocomplete: "new-password", required: true,
    minlength: 8, maxlength: 128 });
  const birthdate = h("input", { type: "date", name: "birthdate", required: true });
  const message = messageArea();
  const form = h("form", { novalidate: true },
    h("h1", { id: "auth-title" }, "Create your account"),
    message.el,
    field("Your name", name), field("Email", email),
    field("Password", password, "8 to 128 characters"),
    field("Birthdate", birthdate, "You must be 18 or older"),
    h("button", { type: "submit", class: "primary" }, "Sign up"),
    switcher("Already have an account?", "Log in", () => render("login")));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    message.clear();
    void busy(form, async () => {
      try {
        const tokens = await app.rest.signup({ email: email.value.trim(), password: password.value,
          display_name: name.value.trim(), birthdate: birthdate.value });
        await app.signedIn(tokens, "/app/profile");
      } catch (error) {
        message.error(explain(error));
      }
    });
  });
  return form;
}

function forgotForm(app: App, render: (m: Mode) => void): HTMLElement {
  const email = h("input", { type: "email", name: "email", autocomplete: "email", required: true });
  const message = messageArea();
  const form = h("form", { novalidate: true },
    h("h1", { id: "auth-title" }, "Reset your password"),
    h("p", {}, "We will mail you a link to choose a new password."),
    message.el,
    field("Email", email),
    h("button", { type: "submit", class: "primary" }, "Send the link"),
    switcher("Remembered it?", "Log in", () => render("login")));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    message.clear();
    void busy(form, async () => {
      try {
        await app.rest.forgotPassword(email.value.trim());
        message.ok("If an account uses this email, a link is on its way. It works once, for 30 minutes.");
      } catch (error) {
        message.error(explain(error));
      }
    });
  });
  return form;
}

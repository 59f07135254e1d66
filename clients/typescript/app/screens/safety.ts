// Block and report: each asks first, in a dialog.

import type { ReportIn } from "../../src/index.js";
import { h, field, messageArea, busy } from "../dom.js";
import { explain } from "../errors.js";
import type { Live } from "../live.js";

const REASONS: [ReportIn["reason"], string][] = [
  ["harassment", "Harassment"], ["inappropriate_content", "Inappropriate content"], ["fake_profile", "Fake profile"],
  ["spam", "Spam or scam"], ["underage", "Under 18"], ["other", "Something else"]];

function dialog(title: string, body: HTMLElement[], confirm: string,
                work: (message: ReturnType<typeof messageArea>) => Promise<void>): void {
  const message = messageArea();
  const form = h("form", { method: "dialog", novalidate: true }, h("h2", {}, title), message.el, ...body,
    h("div", { class: "actions" },
      h("button", { type: "button", class: "secondary", onclick: () => box.close() }, "Cancel"),
      h("button", { type: "submit", class: "danger" }, confirm)));
  const box = h("dialog", { "aria-label": title }, form);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    void busy(form, async () => {
      try {
        await work(message);
        box.close();
      } catch (error) {
        message.error(explain(error));
      }
    });
  });
  box.addEventListener("close", () => box.remove());
  document.body.append(box);
  box.showModal();
}

export function askBlock(state: Live, userId: string, name: string, done: () => void): void {
  dialog(`Block ${name}?`, [h("p", {}, `${name} will not see you again, and you will not see them. A match ends. `
    + "This cannot be undone.")], "Block", async () => {
    await state.block(userId);
    done();
  });
}

export function askReport(state: Live, userId: string, name: string, done: () => void): void {
  const reason = h("select", { name: "reason" }, ...REASONS.map(([value, label]) => h("option", { value }, label)));
  const details = h("textarea", { name: "details", rows: 3, maxlength: 2000 });
  dialog(`Report ${name}`, [h("p", {}, "Our moderators will look at it. Reporting also blocks them."),
    field("Reason", reason), field("What happened (optional)", details)], "Report", async () => {
    await state.report(userId, reason.value as ReportIn["reason"], details.value.trim() || null);
    done();
  });
}

// Prompts: pick one of the catalog, answer it (at most 3 answered), delete an answer.

import type { CatalogPrompt } from "../../src/index.js";
import { h, field, messageArea, busy, replace } from "../dom.js";
import { explain } from "../errors.js";
import { live, track, type App } from "../app.js";

export function promptsSection(app: App): HTMLElement {
  const state = live(app);
  const list = h("ul", { class: "prompts", "aria-label": "Your prompts" });
  const select = h("select", { name: "prompt_id" });
  const answer = h("textarea", { name: "answer", rows: 2, maxlength: 300 });
  const message = messageArea();
  const form = h("form", { novalidate: true }, field("Prompt", select), field("Your answer", answer, "1 to 300 characters"),
    h("button", { type: "submit", class: "primary" }, "Save answer"));
  const section = h("section", { class: "card", "aria-labelledby": "prompts-title" },
    h("h2", { id: "prompts-title" }, "Prompts"), h("p", { class: "hint" }, "Answer up to 3."), message.el, list, form);
  let catalog: CatalogPrompt[] = [];

  const render = (): void => {
    const answered = state.me.prompts;
    replace(list, ...answered.map((p) => h("li", {}, h("strong", {}, p.text), h("p", {}, p.answer),
      h("button", { type: "button", class: "secondary small", "aria-label": `Delete the answer to “${p.text}”`,
        onclick: () => void remove(p.prompt_id) }, "Delete"))));
    const taken = new Set(answered.map((p) => p.prompt_id));
    replace(select, ...catalog.map((p) => h("option", { value: p.id }, taken.has(p.id) ? `${p.text} (replace)` : p.text)));
  };
  const apply = (prompts: typeof state.me.prompts): void => state.setMe({ ...state.me, prompts });
  const remove = (promptId: string): Promise<void> => busy(section, async () => {
    message.clear();
    try {
      apply((await state.client.call("prompts.delete", { prompt_id: promptId })).prompts);
    } catch (error) {
      message.error(explain(error));
    }
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    message.clear();
    void busy(form, async () => {
      try {
        apply((await state.client.call("prompts.answer", { prompt_id: select.value, answer: answer.value.trim() })).prompts);
        answer.value = "";
      } catch (error) {
        message.error(explain(error));
      }
    });
  });
  void state.client.call("prompts.catalog").then((reply) => {
    catalog = reply.prompts;
    render();
  }, (error: unknown) => message.error(explain(error)));
  render();
  track(state.on("me", render));
  return section;
}

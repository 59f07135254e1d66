// Likes received: who liked me and waits for an answer (likes.pending, then live like.received).

import type { PendingLike } from "../../src/index.js";
import { h, field, messageArea, busy, replace } from "../dom.js";
import { explain } from "../errors.js";
import { live, type App, type Screen } from "../app.js";
import { cardView } from "./card.js";

export function likesScreen(app: App): Screen {
  const state = live(app);
  const list = h("div", { class: "stack", id: "likes-list", "aria-live": "polite" });
  const el = h("div", { class: "stack narrow" }, h("h1", {}, "Likes"), list);
  const forms = new Map<string, HTMLElement>(); // by liker: a redraw keeps what is being typed
  const build = (like: PendingLike): HTMLElement => {
    const message = messageArea();
    const comment = h("textarea", { name: "comment", rows: 2, maxlength: 500 });
    const form = h("form", { class: "card like-form", novalidate: true, "data-user-id": like.from.user_id }, message.el,
      like.comment ? h("blockquote", { class: "comment" }, like.comment) : null,
      cardView(like.from, "h3"),
      field("Comment", comment, "Your first 5 likes need a comment (10 to 500 characters)."),
      h("div", { class: "actions" },
        h("button", { type: "button", class: "secondary", onclick: () => void act(form, message,
          () => state.pass(like.from.user_id)) }, "Pass"),
        h("button", { type: "submit", class: "primary" }, "Like back")));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      void act(form, message, async () => void await state.like(like.from.user_id, comment.value.trim() || null));
    });
    forms.set(like.from.user_id, form);
    return form;
  };
  const render = (): void => {
    for (const key of [...forms.keys()]) if (!state.likes.has(key)) forms.delete(key);
    const likes = [...state.likes.values()];
    if (likes.length === 0) {
      replace(list, h("p", { class: "card empty-state" }, "No likes waiting. They appear here the moment they happen."));
      return;
    }
    replace(list, ...likes.map((like) => forms.get(like.from.user_id) ?? build(like)));
  };
  const act = (form: HTMLElement, message: ReturnType<typeof messageArea>, work: () => Promise<void>): Promise<void> =>
    busy(form, async () => {
      message.clear();
      try {
        await work();
      } catch (error) {
        message.error(explain(error));
      }
    });
  render();
  void state.loadLikes().catch(() => undefined);
  return { title: "Likes", el, dispose: state.on("likes", render) };
}

// Discovery: cards stream in over the socket (discovery.request, then discovery.card / discovery.empty events;
// credits left open are filled live as new people become eligible). Like with a comment, or pass.

import { h, field, messageArea, busy, replace } from "../dom.js";
import { explain } from "../errors.js";
import { live, type App, type Screen } from "../app.js";
import { cardView } from "./card.js";

export function discoverScreen(app: App): Screen {
  const state = live(app);
  const stage = h("div", { class: "stage", "aria-live": "polite", id: "discover-stage" });
  const message = messageArea();
  const el = h("div", { class: "stack narrow" }, h("h1", {}, "Discover"), message.el, stage);
  let shownFor: string | null = null;

  const render = (): void => {
    const card = state.cards[0];
    if (card === undefined) {
      shownFor = null;
      replace(stage, h("div", { class: "card empty-state" },
        h("p", {}, state.discoveryEmpty ? "No one new right now. New people appear here as soon as they join."
          : "Looking for people…"),
        state.me.discoverable ? null : h("p", {}, "Others cannot see you yet: ",
          h("a", { href: "/app/profile" }, "finish your profile"), ".")));
      return;
    }
    if (shownFor === card.user_id) return; // keep what the person is typing
    shownFor = card.user_id;
    message.clear();
    const comment = h("textarea", { name: "comment", rows: 2, maxlength: 500 });
    const form = h("form", { class: "card like-form", novalidate: true },
      cardView(card),
      field("Comment", comment, "Say what caught your eye. Your first 5 likes need one (10 to 500 characters)."),
      h("div", { class: "actions" },
        h("button", { type: "button", class: "secondary", onclick: () => void act(form, () => state.pass(card.user_id)) },
          "Pass"),
        h("button", { type: "submit", class: "primary" }, "Like")));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      void act(form, async () => {
        const matched = await state.like(card.user_id, comment.value.trim() || null);
        if (!matched) app.toast(`You liked ${card.display_name}.`);
      }, comment);
    });
    replace(stage, form);
  };

  const act = (form: HTMLElement, work: () => Promise<void>, focus?: HTMLElement): Promise<void> =>
    busy(form, async () => {
      message.clear();
      try {
        await work();
        if (state.cards.length <= 2) void state.requestCards().catch(() => undefined);
      } catch (error) {
        message.error(explain(error));
        focus?.focus();
      }
    });

  const offCards = state.on("cards", render);
  const offMe = state.on("me", render);
  render();
  void state.requestCards().catch((error: unknown) => message.error(explain(error)));
  return { title: "Discover", el, dispose: () => { offCards(); offMe(); } };
}

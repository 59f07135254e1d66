// A person's card: photos, name, age, distance, compatibility, badges, prompt answers.

import type { Card } from "../../src/index.js";
import { h, photo } from "../dom.js";

export function cardView(card: Card, headingLevel: "h2" | "h3" = "h2"): HTMLElement {
  const distance = card.distance_km === null ? "" : ` · ${card.distance_km} km away`;
  return h("article", { class: "person", "data-user-id": card.user_id, "aria-label": card.display_name },
    h("div", { class: "gallery" }, ...(card.photos.length
      ? card.photos.slice(0, 3).map((p, i) => photo(p.url, `${card.display_name}, photo ${i + 1}`))
      : [photo(undefined, `${card.display_name} has no photo`)])),
    h(headingLevel, { class: "person-name" }, `${card.display_name}, ${card.age}`),
    h("p", { class: "meta" }, `${card.compatibility.score}% compatible: ${card.compatibility.summary}${distance}`),
    card.badges.length ? h("ul", { class: "badges", "aria-label": "Badges" }, ...card.badges.map((b) => h("li", {}, b)))
      : null,
    ...card.prompts.map((p) => h("div", { class: "prompt" }, h("strong", {}, p.text), h("p", {}, p.answer))));
}

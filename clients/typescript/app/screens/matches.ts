// Matches: newest first, with the last message, unread counts and presence dots; live as matches and
// messages arrive.

import type { MatchItem } from "../../src/index.js";
import { h, replace, photo, time } from "../dom.js";
import { live, type App, type Screen } from "../app.js";
import type { Live } from "../live.js";

export function presenceDot(state: Live, userId: string): HTMLElement {
  const online = state.presence.get(userId);
  const word = online === undefined ? "unknown" : online ? "online" : "offline";
  return h("span", { class: `dot ${word}`, "data-presence": word, "data-user-id": userId, role: "img",
    "aria-label": online === undefined ? "presence unknown" : word });
}

function sortKey(match: MatchItem): string {
  return match.last_message_at ?? match.matched_at;
}

export function matchesScreen(app: App): Screen {
  const state = live(app);
  const list = h("ul", { class: "matches", id: "matches-list", "aria-live": "polite" });
  const el = h("div", { class: "stack narrow" }, h("h1", {}, "Matches"), list);
  const render = (): void => {
    const matches = [...state.matches.values()].sort((a, b) => sortKey(b).localeCompare(sortKey(a)));
    if (matches.length === 0) {
      replace(list, h("li", { class: "card empty-state" }, "No matches yet. Like people in Discover: when they like you "
        + "back, the match appears here at once."));
      return;
    }
    replace(list, ...matches.map((m) => {
      const last = m.last_message;
      const preview = last === null ? "Say hello!" : `${last.sender_id === state.me.id ? "You: " : ""}${last.body}`;
      return h("li", { class: "match", "data-match-id": m.id },
        h("a", { href: `/app/chat/${m.id}`, class: "match-link" },
          photo(m.user.photos[0]?.thumb_url, "", "avatar"),
          h("span", { class: "match-text" },
            h("span", { class: "match-name" }, presenceDot(state, m.user.user_id), ` ${m.user.display_name}`,
              m.state === "dating" ? " · dating" : m.state === "archived" ? " · archived" : ""),
            h("span", { class: "preview" }, preview)),
          h("span", { class: "match-side" },
            last ? h("time", { datetime: last.created_at }, time(last.created_at)) : null,
            m.unread_count > 0 ? h("span", { class: "unread", "aria-label": `${m.unread_count} unread` },
              String(m.unread_count)) : null)));
    }));
  };
  render();
  const offs = [state.on("matches", render), state.on("presence", render)];
  return { title: "Matches", el, dispose: () => offs.forEach((off) => off()) };
}

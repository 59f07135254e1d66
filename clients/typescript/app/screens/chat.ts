// One conversation: history, live messages, sending (retried with the same client_msg_id across a reconnect),
// typing both ways, read receipts, contact-shielding warnings, block and report.

import type { Message } from "../../src/index.js";
import { h, messageArea, busy, replace, time, photo } from "../dom.js";
import { explain } from "../errors.js";
import { live, type App, type Screen } from "../app.js";
import { presenceDot } from "./matches.js";
import { askBlock, askReport } from "./safety.js";

const SAFETY: Record<string, string> = {
  link: "a link", email: "an email address", phone: "a phone number", handle: "a handle for another app" };

function safetyNote(message: Message, mine: boolean): HTMLElement | null {
  const flags = message.safety ?? [];
  if (flags.length === 0) return null;
  const what = flags.map((f) => SAFETY[f] ?? f).join(", ");
  return h("p", { class: "safety", role: "note" }, mine
    ? `⚠ Shared ${what} early on: take your time before moving off Delete.`
    : `⚠ This message contains ${what}. Be careful with people you have just met: never send money or codes.`);
}

export function chatScreen(app: App, matchId: string): Screen {
  const state = live(app);
  const match = state.matches.get(matchId);
  if (match === undefined) {
    return { title: "Chat", el: h("div", { class: "card narrow" }, h("p", {}, "This conversation is not available. "),
      h("a", { href: "/app/matches" }, "Back to matches")) };
  }
  const other = match.user;
  const log = h("ol", { class: "messages", id: "messages", "aria-live": "polite", "aria-label": `Messages with ${other.display_name}` });
  const typing = h("p", { class: "typing", id: "typing", "aria-live": "polite" });
  const body = h("textarea", { name: "body", rows: 2, maxlength: 4000, id: "message-body" });
  const message = messageArea();
  const composer = h("form", { class: "composer", novalidate: true },
    h("label", { for: "message-body", class: "visually-hidden" }, "Message"), body,
    h("button", { type: "submit", class: "primary" }, "Send"));
  const presenceSlot = h("span", {});
  const leave = (): void => app.navigate("/app/matches");
  const header = h("header", { class: "chat-head" },
    h("a", { href: "/app/matches", class: "back", "aria-label": "Back to matches" }, "←"),
    photo(other.photos[0]?.thumb_url, "", "avatar"),
    h("h1", {}, presenceSlot, ` ${other.display_name}`),
    h("div", { class: "chat-actions" },
      h("button", { type: "button", class: "secondary small", onclick: () => askReport(state, other.user_id,
        other.display_name, leave) }, "Report"),
      h("button", { type: "button", class: "secondary small", onclick: () => askBlock(state, other.user_id,
        other.display_name, leave) }, "Block")));
  const el = h("section", { class: "chat card" }, header, log, typing, message.el, composer);

  const readByThem = (): string | null => {
    const upTo = state.readUpTo.get(matchId);
    if (upTo === undefined) return null;
    const list = state.messages.get(matchId) ?? [];
    return list.find((m) => m.id === upTo)?.created_at ?? null;
  };
  const renderMessages = (): void => {
    const list = state.messages.get(matchId) ?? [];
    const readAt = readByThem();
    const lastReadMine = readAt === null ? undefined
      : [...list].reverse().find((m) => m.sender_id === state.me.id && m.created_at <= readAt);
    const stick = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
    replace(log, ...list.map((m) => {
      const mine = m.sender_id === state.me.id;
      return h("li", { class: `msg ${mine ? "mine" : "theirs"}`, "data-message-id": m.id },
        h("p", { class: "body" }, m.body), safetyNote(m, mine),
        h("span", { class: "when" }, h("time", { datetime: m.created_at }, time(m.created_at)),
          m === lastReadMine ? h("span", { class: "receipt" }, " · Read") : null));
    }));
    if (list.length === 0) log.append(h("li", { class: "empty" }, `You matched with ${other.display_name}. Say hello!`));
    if (stick) log.scrollTop = log.scrollHeight;
  };
  const renderTyping = (): void => {
    typing.textContent = state.isTyping(matchId) ? `${other.display_name} is typing…` : "";
  };
  const renderPresence = (): void => replace(presenceSlot, presenceDot(state, other.user_id));

  body.addEventListener("input", () => state.typingNow(matchId));
  body.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      composer.requestSubmit();
    }
  });
  composer.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = body.value.trim();
    if (text === "") return;
    message.clear();
    void busy(composer, async () => {
      try {
        await state.send(matchId, text);
        body.value = "";
      } catch (error) {
        message.error(explain(error));
      }
    }).then(() => body.focus());
  });
  const onVisible = (): void => {
    if (document.visibilityState === "visible") void state.markRead(matchId).catch(() => undefined);
  };
  document.addEventListener("visibilitychange", onVisible);

  state.openChat = matchId;
  const offs = [
    state.on("messages", (id) => id === matchId && renderMessages()),
    state.on("read", (id) => id === matchId && renderMessages()),
    state.on("typing", (id) => id === matchId && renderTyping()),
    state.on("presence", (id) => id === other.user_id && renderPresence()),
    state.on("matches", () => {
      if (!state.matches.has(matchId)) {
        app.toast(`The conversation with ${other.display_name} has ended.`);
        leave();
      }
    }),
  ];
  renderMessages();
  renderPresence();
  void state.loadHistory(matchId).then(onVisible, (error: unknown) => message.error(explain(error)));
  return {
    title: other.display_name, el,
    dispose: () => {
      offs.forEach((off) => off());
      document.removeEventListener("visibilitychange", onVisible);
      if (state.openChat === matchId) state.openChat = null;
    },
  };
}

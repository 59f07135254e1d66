// The signed-in person's live state: one DeleteClient (the socket, with resume and failover across the API's
// nodes), the lists the screens show, and the events that keep them current. Screens subscribe to topics and
// redraw what changed; nothing here touches the DOM.

import { DeleteClient } from "../src/index.js";
import type { Card, ClientState, EventFrame, MatchItem, Message, PendingLike, User } from "../src/index.js";
import type { ApiConfig } from "./config.js";
import type { Session } from "./session.js";

export type Topic = "me" | "matches" | "messages" | "read" | "likes" | "cards" | "presence" | "typing" | "connection";
type Listener = (detail: string | undefined) => void;

const TYPING_SHOWN_MS = 5000;
const TYPING_SEND_EVERY_MS = 3000;
const TYPING_QUIET_MS = 1000;
const DISCOVERY_BATCH = 10;
const ENDED = new Set(["unmatched", "deleted"]);

export class Live {
  readonly client: DeleteClient;
  me: User;
  readonly matches = new Map<string, MatchItem>();
  /** Messages per match, oldest first (only for matches whose chat was opened). */
  readonly messages = new Map<string, Message[]>();
  /** Per match: the id of the newest of my messages the other person has read. */
  readonly readUpTo = new Map<string, string>();
  /** Per user: online or offline, as the last `presence` event said (unknown before the first one). */
  readonly presence = new Map<string, boolean>();
  /** Per match: until when the other person counts as typing. */
  readonly typing = new Map<string, number>();
  /** Likes waiting for an answer, by the liker's id. */
  readonly likes = new Map<string, PendingLike>();
  /** Discovery cards waiting to be shown, best first. */
  cards: Card[] = [];
  discoveryEmpty = false;
  /** The match whose chat is on screen (its messages are marked read as they come). */
  openChat: string | null = null;

  private discoveryOpen = false;
  private readonly typingSent = new Map<string, number>();
  private readonly typingQuiet = new Map<string, number>();
  private readonly listeners = new Map<Topic, Set<Listener>>();

  constructor(config: ApiConfig, private readonly session: Session, token: string,
              private readonly notify: (text: string) => void) {
    this.me = session.user as User;
    this.client = new DeleteClient({
      urls: config.socketUrls,
      token,
      storage: session.seqStorage(this.me.id),
      refreshToken: () => session.refresh(),
      onError: (error) => console.warn("delete:", error),
    });
    this.listen();
    this.client.onState((state) => {
      this.emit("connection", state);
      if (state === "open" && this.client.reconnects > 0) void this.afterReconnect();
    });
  }

  get state(): ClientState {
    return this.client.state;
  }

  // -- topics -------------------------------------------------------------------------------------------

  on(topic: Topic, listener: Listener): () => void {
    let set = this.listeners.get(topic);
    if (set === undefined) this.listeners.set(topic, (set = new Set()));
    set.add(listener);
    return () => set.delete(listener);
  }

  private emit(topic: Topic, detail?: string): void {
    for (const listener of [...(this.listeners.get(topic) ?? [])]) listener(detail);
  }

  // -- start ----------------------------------------------------------------------------------------------

  /** Connect (stored `seq`: what was missed is replayed first), then load the lists. */
  async start(): Promise<void> {
    await this.client.connect();
    await Promise.all([this.loadMe(), this.loadMatches(), this.loadLikes()]);
  }

  async loadMe(): Promise<void> {
    this.setMe((await this.client.call("me.get")).user);
  }

  setMe(user: User): void {
    this.me = user;
    this.session.setUser(user);
    this.emit("me");
  }

  async loadMatches(): Promise<void> {
    const reply = await this.client.call("matches.list", { states: ["active", "dating", "archived"], limit: 50 });
    for (const match of reply.matches) this.matches.set(match.id, match);
    this.emit("matches");
  }

  async loadLikes(): Promise<void> {
    const reply = await this.client.call("likes.pending");
    this.likes.clear();
    for (const like of reply.likes) this.likes.set(like.from.user_id, like);
    this.emit("likes");
  }

  private async afterReconnect(): Promise<void> {
    // durable events were replayed by the client; ephemeral ones (cards, typing) were not: ask again
    if (this.discoveryOpen && this.cards.length === 0) await this.requestCards(true).catch(() => undefined);
  }

  // -- events ---------------------------------------------------------------------------------------------

  private listen(): void {
    const c = this.client;
    c.on("match.created", ({ data }) => {
      const m = data.match;
      if (!this.matches.has(m.id)) {
        this.matches.set(m.id, { ...m, last_message_at: null, state_changed_at: m.matched_at, unread_count: 0,
          last_message: null, dating_confirmed_by_me: false, dating_confirmed_by_them: false });
        this.notify(`It's a match with ${m.user.display_name}!`);
      }
      this.dropPerson(m.user.user_id);
      this.emit("matches", m.id);
    });
    c.on("match.updated", ({ data }) => {
      const match = this.matches.get(data.match_id);
      if (match === undefined) return;
      match.state = data.state;
      if (ENDED.has(data.state)) this.matches.delete(data.match_id);
      this.emit("matches", data.match_id);
    });
    c.on("like.received", ({ data }) => {
      if (!this.likes.has(data.from.user_id)) this.notify(`${data.from.display_name} liked you`);
      this.likes.set(data.from.user_id, { ...data, created_at: new Date().toISOString() });
      this.emit("likes");
    });
    c.on("message.created", (event) => this.onMessage(event));
    c.on("message.read", ({ data }) => {
      const match = this.matches.get(data.match_id);
      if (data.reader_id === this.me.id) {
        if (match) match.unread_count = 0;
        this.emit("matches", data.match_id);
      } else {
        this.readUpTo.set(data.match_id, data.up_to);
        this.emit("read", data.match_id);
      }
    });
    c.on("typing", ({ data }) => {
      // a typing event may arrive just after the message it announced (they travel separately): ignore it then
      if (data.user_id === this.me.id || Date.now() < (this.typingQuiet.get(data.match_id) ?? 0)) return;
      this.typing.set(data.match_id, Date.now() + TYPING_SHOWN_MS);
      this.emit("typing", data.match_id);
      setTimeout(() => this.emit("typing", data.match_id), TYPING_SHOWN_MS + 50);
    });
    c.on("presence", ({ data }) => {
      this.presence.set(data.user_id, data.online);
      this.emit("presence", data.user_id);
    });
    c.on("discovery.card", ({ data }) => {
      if (!this.cards.some((card) => card.user_id === data.card.user_id)) this.cards.push(data.card);
      this.discoveryEmpty = false;
      this.emit("cards");
    });
    c.on("discovery.empty", () => {
      this.discoveryEmpty = true;
      this.emit("cards");
    });
    c.on("photo.rejected", () => {
      this.notify("One of your photos was removed after review.");
      void this.loadMe().catch(() => undefined);
    });
    c.on("moderation.warning", () => this.notify("A moderator has warned you about your behaviour on Delete."));
    c.on("account.suspended", () => this.notify("Your account has been suspended."));
  }

  private onMessage({ data }: EventFrame<"message.created">): void {
    const message = data.message;
    this.addMessages(message.match_id, [message]);
    const match = this.matches.get(message.match_id);
    const mine = message.sender_id === this.me.id;
    if (match !== undefined) {
      match.last_message = { id: message.id, sender_id: message.sender_id, body: message.body.slice(0, 140),
        created_at: message.created_at };
      match.last_message_at = message.created_at;
      if (!mine && this.openChat !== message.match_id) match.unread_count += 1;
    }
    if (!mine) {
      this.typing.delete(message.match_id);
      this.typingQuiet.set(message.match_id, Date.now() + TYPING_QUIET_MS);
      this.emit("typing", message.match_id);
    }
    if (!mine && this.openChat === message.match_id && document.visibilityState === "visible") {
      void this.markRead(message.match_id);
    }
    this.emit("messages", message.match_id);
    this.emit("matches", message.match_id);
  }

  addMessages(matchId: string, messages: Message[]): void {
    const list = this.messages.get(matchId) ?? [];
    const known = new Set(list.map((m) => m.id));
    for (const message of messages) if (!known.has(message.id)) list.push(message);
    list.sort((a, b) => a.created_at.localeCompare(b.created_at) || a.id.localeCompare(b.id));
    this.messages.set(matchId, list);
  }

  /** A person is no longer a candidate (liked, passed, matched, blocked). */
  private dropPerson(userId: string): void {
    const before = this.cards.length;
    this.cards = this.cards.filter((card) => card.user_id !== userId);
    if (this.cards.length !== before) this.emit("cards");
    if (this.likes.delete(userId)) this.emit("likes");
  }

  // -- discovery ------------------------------------------------------------------------------------------

  /** Ask for cards when few are left (credits left open are filled live as people become eligible). */
  async requestCards(force = false): Promise<void> {
    this.discoveryOpen = true;
    if (!force && this.cards.length > 2) return;
    await this.client.call("discovery.request", { count: DISCOVERY_BATCH });
  }

  async like(userId: string, comment: string | null): Promise<boolean> {
    const reply = await this.client.call("like", comment ? { user_id: userId, comment } : { user_id: userId });
    this.dropPerson(userId);
    if (reply.match !== null) {
      const m = reply.match;
      if (!this.matches.has(m.id)) {
        this.matches.set(m.id, { ...m, last_message_at: null, state_changed_at: m.matched_at, unread_count: 0,
          last_message: null, dating_confirmed_by_me: false, dating_confirmed_by_them: false });
        this.notify(`It's a match with ${m.user.display_name}!`);
      }
      this.emit("matches", m.id);
    }
    return reply.match !== null;
  }

  async pass(userId: string): Promise<void> {
    await this.client.call("pass", { user_id: userId });
    this.dropPerson(userId);
  }

  // -- chat -----------------------------------------------------------------------------------------------

  async loadHistory(matchId: string): Promise<void> {
    const reply = await this.client.call("messages.history", { match_id: matchId, limit: 50 });
    this.addMessages(matchId, reply.messages);
    this.emit("messages", matchId);
  }

  async send(matchId: string, body: string): Promise<void> {
    const reply = await this.client.sendMessage(matchId, body); // retried with the same client_msg_id on a drop
    this.addMessages(matchId, [reply.message]);
    this.emit("messages", matchId);
  }

  /** Mark the newest message of the other person read (both people's devices get `message.read`). */
  async markRead(matchId: string): Promise<void> {
    const theirs = (this.messages.get(matchId) ?? []).filter((m) => m.sender_id !== this.me.id);
    const last = theirs[theirs.length - 1];
    const match = this.matches.get(matchId);
    if (match) match.unread_count = 0;
    this.emit("matches", matchId);
    if (last !== undefined) await this.client.call("messages.read", { match_id: matchId, up_to: last.id });
  }

  /** Tell the other person I am typing (at most every 3 s). */
  typingNow(matchId: string): void {
    const now = Date.now();
    if (now - (this.typingSent.get(matchId) ?? 0) < TYPING_SEND_EVERY_MS) return;
    this.typingSent.set(matchId, now);
    void this.client.call("typing", { match_id: matchId }).catch(() => undefined);
  }

  isTyping(matchId: string): boolean {
    return (this.typing.get(matchId) ?? 0) > Date.now();
  }

  async block(userId: string): Promise<void> {
    await this.client.call("block", { user_id: userId });
    this.forget(userId);
  }

  async report(userId: string, reason: "fake_profile" | "inappropriate_content" | "harassment" | "spam" | "underage"
    | "other", details: string | null): Promise<void> {
    await this.client.call("report", details ? { user_id: userId, reason, details } : { user_id: userId, reason });
    this.forget(userId);
  }

  private forget(userId: string): void {
    for (const [id, match] of this.matches) if (match.user.user_id === userId) this.matches.delete(id);
    this.dropPerson(userId);
    this.emit("matches");
  }

  async close(): Promise<void> {
    this.listeners.clear();
    await this.client.close();
  }
}

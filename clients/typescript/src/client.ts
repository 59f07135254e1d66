/**
 * The client of Delete's realtime socket (`GET /v1/ws`), following docs/client.md and the Python client
 * (`clients/python/delete_client`) rule for rule:
 *
 * - one logical connection over a list of URLs: it authenticates (first frame, or `Authorization` where the
 *   WebSocket constructor can send headers), says where it is (`last_seq`) and resumes on 1006/1011/1012/1013
 *   with jittered exponential back-off (50 ms doubling to 2 s, 20 attempts), rotating through the URLs;
 * - replies are matched by `ref`; a call in flight when the socket drops rejects with `ClosedError` and is never
 *   resent (`sendMessage` retries `messages.send` with the same `client_msg_id`, which is safe);
 * - durable events (with `seq`) are delivered once each, in order; while a `sync` is in flight only
 *   `seq == last + 1` is accepted (the replay brings the rest in order);
 * - events wait in a bounded queue; when it is full the client closes (1013) instead of growing;
 * - the token is renewed before it expires through the `refreshToken` hook and the `auth` command; a 4401
 *   leads to one refresh-and-reconnect; 1008/4401/4403/4408/4429 stop the client with `ClosedError`.
 */

import type { AuthReply, Commands, DurableEvents, Events, Hello, SendReply } from "./protocol.js";
import { ClientError, ClosedError, TimeoutError } from "./errors.js";

/** Close codes after which the client reconnects by itself. */
export const RECONNECT_CODES: ReadonlySet<number> = new Set([1006, 1011, 1012, 1013]);
const UNAUTHORIZED = 4401;
const HELLO_TIMEOUT_MS = 10_000;
const CALL_TIMEOUT_MS = 10_000;
const CLOSE_TIMEOUT_MS = 2_000;
const BACKOFF_FIRST_MS = 50;
const BACKOFF_MAX_MS = 2_000;
const RECONNECT_ATTEMPTS = 20;
const RENEW_BEFORE_MS = 60_000;
const RENEW_RETRY_MS = 10_000;
const EVENT_QUEUE = 10_000;
const MAX_TIMER_MS = 2 ** 31 - 1;
const OPEN = 1;

/** What the client needs of a WebSocket: the WHATWG API (browsers, React Native, Node's built-in, `ws`). */
export interface WebSocketLike {
  readonly readyState: number;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

/**
 * A WebSocket constructor. With `headerAuth` (or `origin`) it is called as `new WebSocket(url, { headers })`:
 * Node's built-in WebSocket (undici) and the `ws` package take that; for React Native pass
 * `class extends WebSocket { constructor(url: string, o: any) { super(url, undefined, o); } }`.
 */
export type WebSocketConstructor = new (url: string, ...rest: never[]) => unknown;

/** Where the app keeps the `seq` of the last durable event it has processed (localStorage, AsyncStorage, a file). */
export interface SeqStorage {
  load(): number | null | undefined | Promise<number | null | undefined>;
  save(lastSeq: number): void | Promise<void>;
}

export interface DeleteClientOptions {
  /** `wss://host/v1/ws`, or several: reconnects go to the next one in turn. */
  urls: string | readonly string[];
  /** The access token. */
  token: string;
  /** The WebSocket constructor; default: the global one. */
  WebSocket?: WebSocketConstructor;
  /**
   * Send the token as `Authorization: Bearer` on the upgrade (needs a constructor that takes `{ headers }`).
   * Default: true when `WebSocket` is given, false with the global one (browsers cannot set headers): the token
   * then goes in the first frame.
   */
  headerAuth?: boolean;
  /** An `Origin` header to send (a constructor that takes `{ headers }` only; browsers send their own). */
  origin?: string;
  /**
   * The stored `seq` to resume from (0 too). `null`: a fresh install, which starts at `hello.last_seq`.
   * Default: `storage.load()`, or `null` without storage.
   */
  lastSeq?: number | null;
  /** Loads the stored `seq` on `connect()`; `save` is called after each durable event the app was handed. */
  storage?: SeqStorage;
  /**
   * Returns a new access token (the app calls `POST /v1/auth/refresh`). Called before the token expires (then
   * sent with the `auth` command), and once after a close with 4401 before one more reconnect.
   */
  refreshToken?: () => string | Promise<string>;
  /** Renew this long before the token's `exp` (at most a fifth of its remaining life). Default 60 000 ms. */
  renewBeforeMs?: number;
  /** Reconnect on 1006/1011/1012/1013 (and after a refreshed 4401). Default true. */
  autoResume?: boolean;
  /** How many events may wait for the app; when full the client closes with 1013. Default 10 000. */
  eventQueue?: number;
  /** Reconnect attempts before giving up. Default 20 (about 30 s). */
  reconnectAttempts?: number;
  /** Default timeout of `call()`. Default 10 000 ms. */
  callTimeoutMs?: number;
  /** Ping when the socket has been silent for `heartbeat_s` and drop it (1006) when no answer comes. Default true. */
  keepalive?: boolean;
  /** Errors that have no caller: a throwing event handler, a failing storage or refresh hook. Default: console.error. */
  onError?: (error: unknown) => void;
}

/** Events the client delivers (`hello` is not one: see `client.hello` and `onState`). */
export type EventName = Exclude<keyof Events, "hello">;

/** An event frame; durable ones carry `seq`. */
export type EventFrame<K extends EventName = EventName> = {
  [P in K]: P extends DurableEvents
    ? { type: P; seq: number; data: Events[P] }
    : { type: P; seq?: undefined; data: Events[P] };
}[K];

export type EventHandler<K extends EventName = EventName> = (event: EventFrame<K>) => void | Promise<void>;

export interface CallOptions {
  /** Milliseconds to wait for the reply (and for a socket, while resuming). */
  timeoutMs?: number;
}

/** `call()`'s arguments after the type: `data` may be left out when every field of the input is optional. */
export type CallArgs<K extends keyof Commands> = {} extends Commands[K]["input"]
  ? [data?: Commands[K]["input"], options?: CallOptions]
  : [data: Commands[K]["input"], options?: CallOptions];

export type ClientState = "idle" | "connecting" | "open" | "reconnecting" | "closed";

interface Pending {
  type: string;
  data: unknown;
  resolve: (data: unknown) => void;
  reject: (error: unknown) => void;
  timer: ReturnType<typeof setTimeout>;
}

interface Frame {
  type: string;
  seq?: number;
  data?: unknown;
  ref?: unknown;
  ok?: unknown;
  error?: { code?: unknown; message?: unknown; details?: unknown } | null;
}

interface IteratorState {
  waiter: { resolve: (r: IteratorResult<EventFrame>) => void; reject: (e: unknown) => void } | null;
  unacked: Frame | null;
}

/** A FIFO with O(1) shift. */
class Queue<T> {
  private items: (T | undefined)[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(item: T): void {
    this.items.push(item);
  }

  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head];
    this.items[this.head++] = undefined;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }
}

/** One logical connection to `/v1/ws` that survives restarts and failovers of the server. */
export class DeleteClient {
  /** The latest `hello` (a new one after every reconnect). */
  hello: Hello | null = null;
  /** The code of the latest close (from the server, or 1006), or null. */
  closeCode: number | null = null;
  /** How many times the client has resumed on a new socket. */
  reconnects = 0;
  /** Settles (never rejects) with the reason once the client has stopped for good. */
  readonly closed: Promise<ClosedError>;

  private readonly urls: string[];
  private urlIndex = 0;
  private token: string;
  private readonly WS: WebSocketConstructor | undefined;
  private readonly headerAuth: boolean;
  private readonly origin: string | undefined;
  private readonly storage: SeqStorage | undefined;
  private readonly refreshToken: (() => string | Promise<string>) | undefined;
  private readonly renewBeforeMs: number;
  private readonly autoResume: boolean;
  private readonly eventLimit: number;
  private readonly reconnectAttempts: number;
  private readonly callTimeoutMs: number;
  private readonly keepaliveOn: boolean;
  private readonly reportError: (error: unknown) => void;
  private readonly initialSeq: number | null | undefined;

  private received = 0; // the highest seq accepted into the queue: dedupe and resume
  private delivered = 0; // the highest seq handed to the app: lastSeq and storage
  private fresh = true; // no position yet: start at hello.last_seq
  private started = false;
  private ws: WebSocketLike | null = null;
  private currentState: ClientState = "idle";
  private readonly stateListeners = new Set<(state: ClientState) => void>();
  private readonly pending = new Map<string, Pending>();
  private nextRef = 1;
  private readonly syncRefs = new Set<string>(); // `sync` commands in flight: the ordering rule applies
  private readonly queue = new Queue<Frame>();
  private readonly handlers = new Map<string, Set<EventHandler<never>>>();
  private handlerCount = 0;
  private iterator: IteratorState | null = null;
  private pumping = false;
  private failure: ClosedError | null = null;
  private closedByApp = false;
  private resolveClosed: (error: ClosedError) => void = () => undefined;
  private waiters: (() => void)[] = []; // calls waiting for a socket
  private refreshTried = false;
  private renewTimer: ReturnType<typeof setTimeout> | undefined;
  private keepaliveTimer: ReturnType<typeof setInterval> | undefined;
  private lastFrameAt = 0;
  private pingSentAt = 0;
  private saving = false;
  private saveWanted: number | null = null;

  constructor(options: DeleteClientOptions) {
    this.urls = typeof options.urls === "string" ? [options.urls] : [...options.urls];
    if (this.urls.length === 0) throw new Error("at least one URL is needed");
    this.token = options.token;
    this.WS = options.WebSocket;
    this.headerAuth = options.headerAuth ?? options.WebSocket !== undefined;
    this.origin = options.origin;
    this.storage = options.storage;
    this.refreshToken = options.refreshToken;
    this.renewBeforeMs = options.renewBeforeMs ?? RENEW_BEFORE_MS;
    this.autoResume = options.autoResume ?? true;
    this.eventLimit = options.eventQueue ?? EVENT_QUEUE;
    this.reconnectAttempts = options.reconnectAttempts ?? RECONNECT_ATTEMPTS;
    this.callTimeoutMs = options.callTimeoutMs ?? CALL_TIMEOUT_MS;
    this.keepaliveOn = options.keepalive ?? true;
    this.reportError = options.onError ?? ((error) => console.error("@delete/client:", error));
    this.initialSeq = options.lastSeq;
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve));
  }

  /** The `seq` of the last durable event handed to the app (what `storage.save` was given). */
  get lastSeq(): number {
    return this.delivered;
  }

  get state(): ClientState {
    return this.currentState;
  }

  /** Listen to state changes (`reconnecting` while resuming, `open` again after); returns the unsubscribe. */
  onState(listener: (state: ClientState) => void): () => void {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
  }

  // -- lifecycle ------------------------------------------------------------------------------------------

  /**
   * Open and authenticate the socket (each URL is tried once); resolve with `hello`. With a stored `seq` the
   * server replays what was missed right after `hello`. Rejects with `ClosedError` (the client is then closed).
   */
  async connect(): Promise<Hello> {
    if (this.started) throw new Error("connect() was already called");
    this.started = true;
    this.setState("connecting");
    try {
      await this.loadPosition();
    } catch (error) {
      this.finish(new ClosedError(1000, `storage.load() failed: ${describe(error)}`));
      throw error; // the app's own error
    }
    try {
      await this.establish(this.urls.length, null);
    } catch (error) {
      const closed = asClosed(error);
      this.finish(closed);
      throw closed;
    }
    return this.hello as Hello;
  }

  /** Close the socket; waiting calls reject and `events()` ends. */
  async close(): Promise<void> {
    if (this.failure === null) this.closedByApp = true;
    const ws = this.ws;
    this.finish(new ClosedError(1000, "closed by the client"));
    if (ws !== null) await closeAndWait(ws);
  }

  // -- commands -------------------------------------------------------------------------------------------

  /** Send a command; resolve with its reply's `data`, or reject with `ClientError`, `ClosedError` or `TimeoutError`. */
  call<K extends keyof Commands>(type: K, ...args: CallArgs<K>): Promise<Commands[K]["reply"]> {
    const [data, options] = args as [unknown, CallOptions | undefined];
    return this.request(type, data ?? {}, options?.timeoutMs ?? this.callTimeoutMs) as Promise<Commands[K]["reply"]>;
  }

  /** Give the live socket a fresh access token (`auth`); it is also used for every later reconnect. */
  async renew(token: string): Promise<AuthReply> {
    return this.call("auth", { token });
  }

  /**
   * `messages.send`, retried with the same `client_msg_id` when the socket drops (or the reply times out) before
   * the reply: the server stores the message once and answers a retry with the stored one.
   */
  async sendMessage(matchId: string, body: string, clientMsgId: string = newClientMsgId(),
                    options: CallOptions & { attempts?: number } = {}): Promise<SendReply> {
    const attempts = options.attempts ?? 5;
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.call("messages.send", { match_id: matchId, body, client_msg_id: clientMsgId }, options);
      } catch (error) {
        const retry = error instanceof TimeoutError || (error instanceof ClosedError && this.failure === null);
        if (!retry || attempt >= attempts) throw error;
      }
    }
  }

  // -- events ---------------------------------------------------------------------------------------------

  /**
   * Call `handler` for each event of `type` (`"*"`: every event), in arrival order; an async handler is awaited
   * before the next event. Returns the unsubscribe function.
   */
  on<K extends EventName>(type: K, handler: EventHandler<K>): () => void;
  on(type: "*", handler: EventHandler): () => void;
  on(type: string, handler: EventHandler<never>): () => void {
    let set = this.handlers.get(type);
    if (set === undefined) this.handlers.set(type, (set = new Set()));
    if (!set.has(handler)) {
      set.add(handler);
      this.handlerCount++;
    }
    this.kick();
    return () => {
      if (set.delete(handler)) this.handlerCount--;
    };
  }

  /**
   * Every event in arrival order (durable ones once each, in `seq` order). Ends when the app calls `close()`;
   * throws `ClosedError` once the client stopped for any other reason (after the queued events). One at a time.
   * An event counts as processed (`lastSeq`, `storage.save`) when the loop asks for the next one.
   */
  events(): AsyncIterableIterator<EventFrame> {
    if (this.iterator !== null) throw new Error("another events() iterator is active");
    const state: IteratorState = { waiter: null, unacked: null };
    this.iterator = state;
    const iterator: AsyncIterableIterator<EventFrame> = {
      next: () => {
        this.ack(state);
        return new Promise((resolve, reject) => {
          state.waiter = { resolve, reject };
          this.kick();
        });
      },
      return: async () => {
        this.ack(state);
        if (this.iterator === state) this.iterator = null;
        state.waiter?.resolve({ value: undefined, done: true });
        state.waiter = null;
        this.kick();
        return { value: undefined, done: true };
      },
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  }

  // -- opening a socket -------------------------------------------------------------------------------------

  private async loadPosition(): Promise<void> {
    let seq = this.initialSeq;
    if (seq === undefined && this.storage !== undefined) seq = await this.storage.load();
    if (typeof seq === "number" && Number.isInteger(seq) && seq >= 0) {
      this.received = this.delivered = seq;
      this.fresh = false;
    }
  }

  /** Open a socket, trying up to `attempts` times with back-off; the first try of a resume moves to the next URL. */
  private async establish(attempts: number, dropped: ClosedError | null): Promise<void> {
    let last = dropped ?? new ClosedError(1006, "not connected");
    for (let attempt = 0; attempt < attempts; attempt++) {
      if (attempt > 0) await sleep(backoff(attempt));
      if (this.failure !== null) throw this.failure;
      if (dropped !== null || attempt > 0) this.urlIndex = (this.urlIndex + 1) % this.urls.length;
      try {
        await this.open(this.urls[this.urlIndex] as string);
        return;
      } catch (error) {
        last = asClosed(error);
        if (last.code === UNAUTHORIZED && this.canRefresh()) {
          await this.refreshOrThrow(last);
          attempt--; // the retry with the new token does not count
          continue;
        }
        if (!RECONNECT_CODES.has(last.code)) throw last;
      }
    }
    const tries = attempts === 1 ? "" : ` after ${attempts} attempts`;
    throw new ClosedError(last.code, `could not connect${tries}: ${last.reason}`);
  }

  /** Connect to `url`, authenticate and read `hello`; reject with `ClosedError`. */
  private open(url: string): Promise<Hello> {
    const WS = this.WS ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (WS === undefined) {
      return Promise.reject(new Error("no WebSocket in this runtime: pass options.WebSocket "
        + "(Node 20: run with --experimental-websocket, or use Node 22+)"));
    }
    const headers: Record<string, string> = {};
    if (this.headerAuth) headers["Authorization"] = `Bearer ${this.token}`;
    if (this.origin !== undefined) headers["Origin"] = this.origin;
    const target = this.headerAuth && !this.fresh ? withQuery(url, "last_seq", String(this.received)) : url;
    return new Promise((resolve, reject) => {
      let ws: WebSocketLike;
      try {
        const Ctor = WS as unknown as new (url: string, options?: unknown) => WebSocketLike;
        ws = Object.keys(headers).length > 0 ? new Ctor(target, { headers }) : new Ctor(target);
      } catch (error) {
        reject(new ClosedError(1006, `could not open the socket: ${describe(error)}`));
        return;
      }
      let opened = false;
      let settled = false;
      const fail = (error: ClosedError): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        abandon(ws);
        reject(error);
      };
      const timer = setTimeout(() => fail(new ClosedError(1006, `no hello within ${HELLO_TIMEOUT_MS / 1000} s`)),
                               HELLO_TIMEOUT_MS);
      ws.onopen = () => {
        opened = true;
        if (this.headerAuth) return;
        const data: Record<string, unknown> = { token: this.token };
        if (!this.fresh) data["last_seq"] = this.received;
        ws.send(JSON.stringify({ type: "auth", data }));
      };
      // a failed upgrade fires error (Node 20 then no close at all): WHATWG WebSockets hide the HTTP status
      ws.onerror = (event) => {
        if (!opened) fail(upgradeFailure(event));
      };
      ws.onclose = (event) => fail(new ClosedError(event.code || 1006, event.reason || "closed before hello"));
      ws.onmessage = (event) => {
        const frame = parse(event.data);
        if (frame?.type !== "hello") {
          fail(new ClosedError(1002, `expected hello, got ${frame === null ? "no JSON" : String(frame.type)}`));
          return;
        }
        settled = true;
        clearTimeout(timer);
        this.adopt(ws, frame.data as Hello);
        resolve(frame.data as Hello);
      };
    });
  }

  /** The new socket is authenticated: route its frames, wake waiting calls, keep it alive, schedule renewal. */
  private adopt(ws: WebSocketLike, hello: Hello): void {
    if (this.failure !== null) {
      abandon(ws);
      return;
    }
    this.ws = ws;
    this.hello = hello;
    this.refreshTried = false;
    this.lastFrameAt = Date.now();
    this.pingSentAt = 0;
    ws.onmessage = (event) => this.onFrame(ws, event.data);
    ws.onclose = (event) => this.onDrop(ws, event.code || 1006, event.reason);
    ws.onerror = () => undefined; // a close follows
    if (this.fresh) {
      this.fresh = false;
      this.received = this.delivered = hello.last_seq;
      this.save(hello.last_seq);
    }
    this.setState("open");
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
    this.startKeepalive(ws, hello.heartbeat_s);
    this.scheduleRenewal();
  }

  // -- a live socket --------------------------------------------------------------------------------------

  private onFrame(ws: WebSocketLike, data: unknown): void {
    if (ws !== this.ws) return;
    this.lastFrameAt = Date.now();
    this.pingSentAt = 0;
    const fatal = this.route(data);
    if (fatal !== null) {
      this.finish(fatal);
    }
  }

  /** Hand one frame to its call or to the queue; a `ClosedError` when the queue is full. */
  private route(data: unknown): ClosedError | null {
    const frame = parse(data);
    if (frame === null) return null;
    if (frame.type === "reply") {
      this.reply(frame);
      return null;
    }
    const seq = frame.seq;
    const durable = typeof seq === "number" && Number.isInteger(seq);
    if (durable) {
      if (seq <= this.received) return null; // already delivered
      if (this.syncRefs.size > 0 && seq !== this.received + 1) return null; // the replay brings it in order
    }
    if (this.queue.length >= this.eventLimit) {
      return new ClosedError(1013, `client event queue full (${this.eventLimit} unread events); read events faster `
        + "or raise eventQueue, then resume from lastSeq");
    }
    if (durable) this.received = seq;
    this.queue.push(frame);
    this.kick();
    return null;
  }

  private reply(frame: Frame): void {
    const ref = frame.ref;
    if (typeof ref !== "string") return;
    this.syncRefs.delete(ref);
    const pending = this.pending.get(ref);
    if (pending === undefined) return; // a keepalive ping, or a call that timed out
    this.pending.delete(ref);
    clearTimeout(pending.timer);
    if (frame.ok === true) {
      if (pending.type === "auth") this.setToken((pending.data as { token: string }).token);
      pending.resolve(frame.data ?? {});
      return;
    }
    const error = frame.error ?? {};
    const details = isRecord(error.details) ? error.details : {};
    pending.reject(new ClientError(String(error.code ?? "internal") as ClientError["code"],
                                   String(error.message ?? ""), details, { ref }));
  }

  /** The socket closed: fail its calls, then resume or stop. */
  private onDrop(ws: WebSocketLike, code: number, reason: string): void {
    if (ws !== this.ws) return;
    this.ws = null;
    abandon(ws);
    this.stopKeepalive();
    this.syncRefs.clear();
    const closed = new ClosedError(code, reason || (code === 1006 ? "the connection dropped without a close frame" : ""));
    this.failPending(closed);
    if (this.failure !== null) return;
    this.closeCode = code;
    const refreshable = code === UNAUTHORIZED && this.canRefresh();
    if (!this.autoResume || !(RECONNECT_CODES.has(code) || refreshable)) {
      this.finish(closed);
      return;
    }
    void this.resume(closed);
  }

  private async resume(closed: ClosedError): Promise<void> {
    this.setState("reconnecting");
    try {
      if (closed.code === UNAUTHORIZED) {
        await this.refreshOrThrow(closed);
        this.urlIndex = (this.urlIndex + this.urls.length - 1) % this.urls.length; // retry the same node first
      }
      await this.establish(this.reconnectAttempts, closed);
      this.reconnects++;
    } catch (error) {
      this.finish(asClosed(error));
    }
  }

  private async request(type: string, data: unknown, timeoutMs: number): Promise<unknown> {
    const deadline = Date.now() + timeoutMs;
    const ws = await this.live(deadline, type);
    const ref = `c${this.nextRef++}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(ref); // a sync stays in syncRefs until its reply: the ordering rule must hold
        reject(new TimeoutError(`no reply to ${type} within ${timeoutMs} ms`));
      }, Math.max(0, deadline - Date.now()));
      this.pending.set(ref, { type, data, resolve, reject, timer });
      if (type === "sync") this.syncRefs.add(ref);
      try {
        ws.send(JSON.stringify({ type, ref, data }));
      } catch (error) {
        this.pending.delete(ref);
        this.syncRefs.delete(ref);
        clearTimeout(timer);
        reject(new ClosedError(1006, `send failed: ${describe(error)}`));
      }
    });
  }

  /** The open socket, waiting through a reconnect until `deadline`. */
  private async live(deadline: number, type: string): Promise<WebSocketLike> {
    for (;;) {
      if (this.failure !== null) throw new ClosedError(this.failure.code, this.failure.reason);
      if (!this.started) throw new Error("call connect() first");
      if (this.ws !== null && this.ws.readyState === OPEN) return this.ws;
      const left = deadline - Date.now();
      if (left <= 0) throw new TimeoutError(`no socket for ${type}: still reconnecting`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  private failPending(closed: ClosedError): void {
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const call of pending) {
      clearTimeout(call.timer);
      call.reject(new ClosedError(closed.code, closed.reason));
    }
  }

  /** Stop for good: calls and waiters fail, iterators end after the queued events, `closed` settles. */
  private finish(closed: ClosedError): void {
    if (this.failure !== null) return;
    this.failure = closed;
    this.closeCode ??= closed.code === 1000 ? null : closed.code;
    clearTimeout(this.renewTimer);
    this.stopKeepalive();
    this.failPending(closed);
    const ws = this.ws;
    this.ws = null;
    if (ws !== null) abandon(ws, 1000, closed.reason.slice(0, 100));
    this.setState("closed");
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
    this.resolveClosed(closed);
    this.kick();
  }

  // -- delivery -------------------------------------------------------------------------------------------

  private kick(): void {
    if (!this.pumping) void this.pump();
  }

  /** Hand queued events to the handlers and the iterator, one at a time, in order. */
  private async pump(): Promise<void> {
    this.pumping = true;
    try {
      for (;;) {
        const iterator = this.iterator;
        if (this.queue.length === 0) {
          this.endIterator(iterator);
          return;
        }
        if (iterator === null ? this.handlerCount === 0 : iterator.waiter === null) return; // nobody to take it
        const frame = this.queue.shift() as Frame;
        await this.dispatch(frame);
        const waiter = iterator?.waiter;
        if (iterator !== null && waiter && this.iterator === iterator) {
          iterator.waiter = null;
          iterator.unacked = frame;
          waiter.resolve({ value: frame as EventFrame, done: false });
        } else {
          this.markDelivered(frame);
        }
      }
    } finally {
      this.pumping = false;
    }
  }

  private async dispatch(frame: Frame): Promise<void> {
    if (this.handlerCount === 0) return;
    const handlers = [...(this.handlers.get(frame.type) ?? []), ...(this.handlers.get("*") ?? [])];
    for (const handler of handlers) {
      try {
        const result = (handler as EventHandler)(frame as EventFrame);
        if (result !== undefined) await result;
      } catch (error) {
        this.reportError(error);
      }
    }
  }

  /** The queue is empty: a stopped client ends its iterator (done after close(), else the ClosedError). */
  private endIterator(iterator: IteratorState | null): void {
    const waiter = iterator?.waiter;
    if (!waiter || this.failure === null) return;
    (iterator as IteratorState).waiter = null;
    if (this.closedByApp) waiter.resolve({ value: undefined, done: true });
    else waiter.reject(new ClosedError(this.failure.code, this.failure.reason));
  }

  private ack(state: IteratorState): void {
    if (state.unacked !== null) this.markDelivered(state.unacked);
    state.unacked = null;
  }

  private markDelivered(frame: Frame): void {
    const seq = frame.seq;
    if (typeof seq !== "number" || seq <= this.delivered) return;
    this.delivered = seq;
    this.save(seq);
  }

  /** `storage.save`, one call at a time: while an async save runs, only the newest seq is saved next. */
  private save(seq: number): void {
    if (this.storage === undefined) return;
    if (this.saving) {
      this.saveWanted = seq;
      return;
    }
    let result: void | Promise<void>;
    try {
      result = this.storage.save(seq);
    } catch (error) {
      this.reportError(error);
      return;
    }
    if (result === undefined || typeof result.then !== "function") return;
    this.saving = true;
    result.then(undefined, this.reportError).finally(() => {
      this.saving = false;
      const wanted = this.saveWanted;
      this.saveWanted = null;
      if (wanted !== null) this.save(wanted);
    });
  }

  // -- tokens ---------------------------------------------------------------------------------------------

  private setToken(token: string): void {
    this.token = token;
    this.scheduleRenewal();
  }

  private canRefresh(): boolean {
    return this.refreshToken !== undefined && !this.refreshTried && this.failure === null;
  }

  /** The one refresh allowed after a 4401; a failing hook stops the client with that 4401. */
  private async refreshOrThrow(closed: ClosedError): Promise<void> {
    this.refreshTried = true;
    try {
      this.setToken(await (this.refreshToken as () => string | Promise<string>)());
    } catch (error) {
      throw new ClosedError(closed.code, `${closed.reason}; refreshToken failed: ${describe(error)}`);
    }
  }

  /** Renew shortly before the token's `exp` (read from the JWT; no signature check, only timing). */
  private scheduleRenewal(): void {
    clearTimeout(this.renewTimer);
    this.renewTimer = undefined;
    if (this.refreshToken === undefined || this.failure !== null || !this.started) return;
    const expires = tokenExpiry(this.token);
    if (expires === null) return;
    const left = expires - Date.now();
    const delay = Math.max(0, left - Math.min(this.renewBeforeMs, left / 5));
    if (delay > MAX_TIMER_MS) {
      this.renewTimer = setTimeout(() => this.scheduleRenewal(), MAX_TIMER_MS); // setTimeout's limit: ~24.8 days
      return;
    }
    this.renewTimer = setTimeout(() => void this.renewNow(expires), delay);
  }

  private async renewNow(expires: number): Promise<void> {
    try {
      const token = await (this.refreshToken as () => string | Promise<string>)();
      const next = tokenExpiry(token);
      if (next !== null && next <= expires) throw new Error("refreshToken returned a token that expires no later");
      this.token = token; // reconnects use it from now on
      if (this.ws !== null) await this.renew(token);
      else this.scheduleRenewal();
    } catch (error) {
      if (this.failure !== null) return;
      if (!(error instanceof ClosedError)) this.reportError(error); // dropped: the reconnect reschedules
      if (Date.now() + RENEW_RETRY_MS < expires) {
        this.renewTimer = setTimeout(() => void this.renewNow(expires), RENEW_RETRY_MS);
      }
    }
  }

  // -- keepalive ------------------------------------------------------------------------------------------

  /** Browsers cannot see the server's pings: ping when silent, and drop a socket that does not answer. */
  private startKeepalive(ws: WebSocketLike, heartbeatS: number): void {
    this.stopKeepalive();
    if (!this.keepaliveOn || !(heartbeatS > 0)) return;
    const interval = heartbeatS * 1000;
    this.keepaliveTimer = setInterval(() => {
      if (ws !== this.ws) return;
      const now = Date.now();
      if (this.pingSentAt !== 0 && now - this.pingSentAt >= interval) {
        this.onDrop(ws, 1006, `no answer to a ping within ${heartbeatS} s`);
      } else if (this.pingSentAt === 0 && now - this.lastFrameAt >= interval) {
        this.pingSentAt = now;
        try {
          ws.send(JSON.stringify({ type: "ping", ref: `k${this.nextRef++}`, data: {} }));
        } catch {
          // the close event follows
        }
      }
    }, interval / 2);
  }

  private stopKeepalive(): void {
    clearInterval(this.keepaliveTimer);
    this.keepaliveTimer = undefined;
  }

  private setState(state: ClientState): void {
    if (state === this.currentState) return;
    this.currentState = state;
    for (const listener of [...this.stateListeners]) {
      try {
        listener(state);
      } catch (error) {
        this.reportError(error);
      }
    }
  }
}

// -- helpers ------------------------------------------------------------------------------------------------

function backoff(attempt: number): number {
  const delay = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** (attempt - 1));
  return delay * (0.5 + Math.random() / 2);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function parse(data: unknown): Frame | null {
  let frame: unknown;
  try {
    frame = JSON.parse(typeof data === "string" ? data : String(data));
  } catch {
    return null;
  }
  return isRecord(frame) && typeof frame["type"] === "string" ? (frame as unknown as Frame) : null;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function asClosed(error: unknown): ClosedError {
  return error instanceof ClosedError ? error : new ClosedError(1006, describe(error));
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Why an upgrade failed. WHATWG WebSockets do not expose the HTTP status, so a refused upgrade looks like a network
 * failure (1006); a constructor that says "Unexpected server response: 403" (the `ws` package) gives 1008.
 */
function upgradeFailure(event: unknown): ClosedError {
  const message = isRecord(event) && typeof event["message"] === "string" ? event["message"] : "";
  const status = /\b([1-5]\d\d)\b/.exec(message)?.[1];
  if (status === "403") return new ClosedError(1008, `upgrade refused with HTTP 403 (Origin not allowed?)`);
  return new ClosedError(1006, `could not open the socket${message ? `: ${message}` : ""} (network error, or `
    + "the upgrade was refused: an Origin that is not allowed gets HTTP 403)");
}

/** Detach the client from a socket it no longer uses, and close it. */
function abandon(ws: WebSocketLike, code?: number, reason?: string): void {
  ws.onopen = ws.onmessage = ws.onerror = null;
  ws.onclose = null;
  try {
    if (code === undefined) ws.close();
    else ws.close(code, reason);
  } catch {
    // closing already
  }
}

/** Close `ws` and wait (briefly) for the close handshake. */
function closeAndWait(ws: WebSocketLike): Promise<void> {
  if (ws.readyState === 3) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, CLOSE_TIMEOUT_MS);
    ws.onclose = () => {
      clearTimeout(timer);
      resolve();
    };
    try {
      ws.close(1000);
    } catch {
      clearTimeout(timer);
      resolve();
    }
  });
}

function withQuery(url: string, key: string, value: string): string {
  const hash = url.indexOf("#");
  const base = hash < 0 ? url : url.slice(0, hash);
  return `${base}${base.includes("?") ? "&" : "?"}${key}=${encodeURIComponent(value)}`;
}

const BASE64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/** The `exp` of a JWT in ms since the epoch, or null (no dependency on atob, which some runtimes lack). */
export function tokenExpiry(token: string): number | null {
  const payload = token.split(".")[1];
  if (payload === undefined) return null;
  let bits = 0;
  let value = 0;
  let text = "";
  for (const char of payload.replace(/\+/g, "-").replace(/\//g, "_")) {
    const index = BASE64URL.indexOf(char);
    if (index < 0) break; // padding
    value = (value << 6) | index;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      text += String.fromCharCode((value >> bits) & 0xff);
      value &= (1 << bits) - 1;
    }
  }
  try {
    const exp: unknown = JSON.parse(text)["exp"];
    return typeof exp === "number" ? exp * 1000 : null;
  } catch {
    return null;
  }
}

/** A fresh `client_msg_id` (a UUID where the runtime has one). */
export function newClientMsgId(): string {
  const crypto = (globalThis as { crypto?: { randomUUID?: () => string } }).crypto;
  if (crypto?.randomUUID) return crypto.randomUUID();
  return `m${Date.now().toString(36)}${Math.random().toString(36).slice(2, 12)}${Math.random().toString(36).slice(2, 12)}`;
}

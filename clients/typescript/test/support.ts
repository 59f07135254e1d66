// Helpers of the tests: scripted in-memory sockets, a tap around the real WebSocket, and event helpers.
import assert from "node:assert/strict";

import type { DeleteClient, EventFrame, WebSocketLike } from "../src/index.js";

export const WAIT_MS = 10_000;

export type Json = Record<string, unknown>;

/** A socket whose server side is a script (for behaviour a real server will not show on demand). */
export class FakeSocket implements WebSocketLike {
  readyState = 0;
  onopen: ((event: unknown) => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onclose: ((event: { code: number; reason: string }) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;
  readonly sent: Json[] = [];
  private readonly received: ((frame: Json) => void)[] = [];
  private readonly inbox: Json[] = [];

  constructor(readonly url: string, readonly options?: unknown) {}

  send(text: string): void {
    const frame = JSON.parse(text) as Json;
    this.sent.push(frame);
    const waiter = this.received.shift();
    if (waiter) waiter(frame);
    else this.inbox.push(frame);
  }

  close(code = 1000, reason = ""): void {
    if (this.readyState === 3) return;
    this.readyState = 3;
    setTimeout(() => this.onclose?.({ code, reason }), 0);
  }

  // -- the server's side --
  accept(): void {
    this.readyState = 1;
    this.onopen?.({});
  }

  push(frame: Json): void {
    this.onmessage?.({ data: JSON.stringify(frame) });
  }

  drop(code: number, reason = ""): void {
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }

  fail(message: string): void {
    this.readyState = 3;
    this.onerror?.({ message });
  }

  /** The next frame the client sends. */
  next(): Promise<Json> {
    const frame = this.inbox.shift();
    if (frame) return Promise.resolve(frame);
    return new Promise((resolve) => this.received.push(resolve));
  }
}

/** A WebSocket constructor whose sockets are run by `script`; `sockets` lists every one made. */
export function scripted(script: (socket: FakeSocket) => void | Promise<void>):
    { WebSocket: new (url: string, options?: unknown) => FakeSocket; sockets: FakeSocket[] } {
  const sockets: FakeSocket[] = [];
  class Scripted extends FakeSocket {
    constructor(url: string, options?: unknown) {
      super(url, options);
      sockets.push(this);
      setTimeout(() => void script(this), 0);
    }
  }
  return { WebSocket: Scripted, sockets };
}

export function hello(lastSeq: number, heartbeatS = 25): Json {
  return { type: "hello", data: { user_id: "u", session_id: "s", last_seq: lastSeq, heartbeat_s: heartbeatS } };
}

export function event(seq: number): Json {
  return { type: "test.event", seq, data: { n: seq } };
}

type Real = {
  readyState: number;
  onopen: ((e: unknown) => void) | null;
  onmessage: ((e: { data: unknown }) => void) | null;
  onclose: ((e: { code: number; reason: string }) => void) | null;
  onerror: ((e: unknown) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
};

export interface Tap {
  /** Every frame the client sent, over all sockets. */
  sent: Json[];
  /** The URL of every socket opened. */
  urls?: string[];
  /** Return true to hide a frame from the client. With `dropAfter` the socket then "loses its connection". */
  hide?: (frame: Json) => boolean;
  dropAfter?: boolean;
}

/**
 * A WebSocket constructor around the runtime's own (which takes `{ headers }`): it records what the client sends and
 * can hide frames from it, or make a socket look dropped (1006) without a close frame.
 */
export function tapped(tap: Tap): new (url: string, options?: unknown) => WebSocketLike {
  const Native = (globalThis as unknown as { WebSocket: new (url: string, options?: unknown) => Real }).WebSocket;
  return class TapSocket implements WebSocketLike {
    onopen: ((event: unknown) => void) | null = null;
    onmessage: ((event: { data: unknown }) => void) | null = null;
    onclose: ((event: { code: number; reason: string }) => void) | null = null;
    onerror: ((event: unknown) => void) | null = null;
    private readonly inner: Real;
    private dead = false;

    constructor(url: string, options?: unknown) {
      tap.urls?.push(url);
      this.inner = options === undefined ? new Native(url) : new Native(url, options);
      this.inner.onopen = (e) => this.onopen?.(e);
      this.inner.onerror = (e) => this.onerror?.(e);
      this.inner.onclose = (e) => {
        if (!this.dead) this.onclose?.(e);
      };
      this.inner.onmessage = (e) => {
        if (this.dead) return;
        const frame = JSON.parse(String(e.data)) as Json;
        if (tap.hide?.(frame)) {
          if (tap.dropAfter) this.loseConnection();
          return;
        }
        this.onmessage?.(e);
      };
    }

    get readyState(): number {
      return this.dead ? 3 : this.inner.readyState;
    }

    send(data: string): void {
      tap.sent.push(JSON.parse(data) as Json);
      this.inner.send(data);
    }

    close(code?: number, reason?: string): void {
      this.inner.close(code, reason);
    }

    private loseConnection(): void {
      this.dead = true;
      this.inner.close();
      setTimeout(() => this.onclose?.({ code: 1006, reason: "" }), 0);
    }
  };
}

/** The next `count` events, within `timeoutMs`. */
export async function take(client: DeleteClient, count: number, timeoutMs = WAIT_MS): Promise<EventFrame[]> {
  const got: EventFrame[] = [];
  const iterator = client.events();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`only ${got.length} of ${count} events within ${timeoutMs} ms: `
      + JSON.stringify(got.map((e) => e.seq ?? e.type)))), timeoutMs);
  });
  try {
    while (got.length < count) {
      const next = await Promise.race([iterator.next(), timeout]);
      if (next.done) throw new Error(`events() ended after ${got.length} of ${count} events`);
      got.push(next.value);
    }
    return got;
  } finally {
    clearTimeout(timer);
    await iterator.return?.();
  }
}

/** Nothing more arrives for `ms`. */
export async function quiet(client: DeleteClient, ms = 300): Promise<void> {
  const iterator = client.events();
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const result = await Promise.race([
      iterator.next(),
      new Promise<"quiet">((resolve) => (timer = setTimeout(() => resolve("quiet"), ms))),
    ]);
    assert.equal(result, "quiet", `an unexpected event arrived: ${JSON.stringify(result)}`);
  } finally {
    clearTimeout(timer);
    await iterator.return?.();
  }
}

/** Every event that arrives within `ms`. */
export async function collect(client: DeleteClient, ms: number): Promise<EventFrame[]> {
  const got: EventFrame[] = [];
  const iterator = client.events();
  const deadline = Date.now() + ms;
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0) return got;
      const next = await Promise.race([
        iterator.next(),
        new Promise<"late">((resolve) => (timer = setTimeout(() => resolve("late"), left))),
      ]);
      clearTimeout(timer);
      if (next === "late" || next.done) return got;
      got.push(next.value);
    }
  } finally {
    clearTimeout(timer);
    await iterator.return?.();
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Wait until `predicate()` holds. */
export async function until(predicate: () => boolean, what: string, timeoutMs = WAIT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await sleep(10);
  }
}

/** The seqs of events, relative to `base`. */
export function seqs(events: EventFrame[], base = 0): number[] {
  return events.map((e) => (e.seq ?? NaN) - base);
}

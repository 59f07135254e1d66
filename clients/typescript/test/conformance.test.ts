// The client against a real two-node server (started by tests/clients/test_typescript_client.py, which passes the
// nodes' URLs and a control endpoint in the environment): the conformance scenarios of the Python client.
import assert from "node:assert/strict";
import { afterEach, describe, test } from "node:test";

import { ClientError, ClosedError, DeleteClient, DeleteRest, tokenExpiry } from "../src/index.js";
import type { DeleteClientOptions, EventFrame, Tokens, WebSocketConstructor } from "../src/index.js";
import { type Json, type Tap, collect, quiet, seqs, sleep, take, tapped, until, WAIT_MS } from "./support.js";

const WS = (process.env["DELETE_WS_URLS"] ?? "").split(",").filter(Boolean);
const HTTP = (process.env["DELETE_HTTP_URLS"] ?? "").split(",").filter(Boolean);
const CONTROL = process.env["DELETE_CONTROL_URL"] ?? "";
const skip = WS.length < 2 || HTTP.length < 2 || !CONTROL
  ? "needs DELETE_WS_URLS, DELETE_HTTP_URLS and DELETE_CONTROL_URL (tests/clients/test_typescript_client.py)" : false;
const A = 0;
const B = 1;
const NATIVE = (globalThis as unknown as { WebSocket: WebSocketConstructor }).WebSocket;

async function control(action: string, body: Json): Promise<Json> {
  const response = await fetch(`${CONTROL}/${action}`, {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`control ${action} failed (${response.status}): ${text}`);
  return JSON.parse(text) as Json;
}

async function append(userId: string, count: number, parallel = false): Promise<void> {
  await control("append", { user_id: userId, count, parallel });
}

interface Person {
  id: string;
  tokens: Tokens;
  rest: DeleteRest;
  /** A refreshToken hook as an app writes it: rotate the refresh token over REST, keep the new one. */
  refresher: () => Promise<string>;
  refreshes: number;
}

let people = 0;

async function signup(node = A): Promise<Person> {
  const rest = new DeleteRest({ baseUrl: HTTP[node] as string });
  const email = `ts${Date.now().toString(36)}${people++}${Math.random().toString(36).slice(2, 8)}@example.test`;
  const tokens = await rest.signup({ email, password: "correct horse battery", display_name: "Tess",
                                     birthdate: "1994-02-03" });
  const person: Person = {
    id: tokens.user.id, tokens, rest, refreshes: 0,
    refresher: async () => {
      person.refreshes++;
      const fresh = await rest.refresh(person.tokens.refresh_token);
      person.tokens = fresh;
      return fresh.access_token;
    },
  };
  return person;
}

const open: DeleteClient[] = [];

function client(options: DeleteClientOptions): DeleteClient {
  const made = new DeleteClient(options);
  open.push(made);
  return made;
}

async function stopped(c: DeleteClient): Promise<ClosedError> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([c.closed, new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`client still running (${c.state}) after ${WAIT_MS} ms`)), WAIT_MS);
    })]);
  } finally {
    clearTimeout(timer);
  }
}

function isClosed(code: number) {
  return (error: unknown) => {
    assert.ok(error instanceof ClosedError, `expected ClosedError ${code}, got ${String(error)}`);
    assert.equal(error.code, code, error.reason);
    return true;
  };
}

afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()));
});

describe("against two real server nodes", { skip }, () => {
  test("first-frame auth (the default with the global WebSocket) and header auth both get hello", async () => {
    const p = await signup();
    const frameTap: Tap = { sent: [] };
    const c = client({ urls: WS[A] as string, token: p.tokens.access_token, WebSocket: tapped(frameTap),
                       headerAuth: false });
    const hello = await c.connect();
    assert.equal(hello.user_id, p.id);
    assert.equal(hello.last_seq, 0);
    assert.ok(hello.heartbeat_s > 0);
    assert.equal(c.state, "open");
    assert.deepEqual(frameTap.sent[0], { type: "auth", data: { token: p.tokens.access_token } });
    assert.deepEqual(Object.keys(await c.call("ping")), ["time"]);

    const plain = client({ urls: WS[B] as string, token: p.tokens.access_token }); // global WebSocket: first frame
    assert.equal((await plain.connect()).user_id, p.id);

    const headerTap: Tap = { sent: [] };
    const h = client({ urls: WS[B] as string, token: p.tokens.access_token, WebSocket: tapped(headerTap) });
    assert.notEqual((await h.connect()).session_id, hello.session_id);
    assert.deepEqual(headerTap.sent, [], "the Authorization header did it: no auth frame");
  });

  test("a bad token: ClosedError 4401 and no reconnect; with a refresh hook exactly one refresh first", async () => {
    for (const headerAuth of [false, true]) {
      const tap: Tap = { sent: [], urls: [] };
      const c = client({ urls: [WS[A] as string, WS[B] as string], token: "not-a-token", WebSocket: tapped(tap),
                         headerAuth });
      await assert.rejects(c.connect(), isClosed(4401));
      assert.equal(c.state, "closed");
      assert.equal(c.reconnects, 0);
      assert.equal(tap.urls?.length, 1, "no second attempt");
      assert.equal((await stopped(c)).code, 4401);
    }
    let calls = 0;
    const hooked = client({ urls: [WS[A] as string, WS[B] as string], token: "not-a-token",
                            refreshToken: () => (calls++, "still-not-a-token") });
    await assert.rejects(hooked.connect(), isClosed(4401));
    assert.equal(calls, 1);
  });

  test("concurrent calls each get their own reply; an unknown command is a ClientError bad_request", async () => {
    const p = await signup();
    const c = client({ urls: WS[A] as string, token: p.tokens.access_token });
    await c.connect();
    const untyped = c as unknown as { call(type: string, data?: Json): Promise<Json> };
    const results = await Promise.allSettled([
      ...Array.from({ length: 10 }, () => c.call("ping")),
      untyped.call("no.such.command"),
      c.call("me.get"),
      ...Array.from({ length: 10 }, () => c.call("ping")),
    ]);
    results.forEach((result, i) => {
      if (i === 10) {
        assert.equal(result.status, "rejected");
        assert.ok(result.status === "rejected" && result.reason instanceof ClientError);
        assert.equal(result.reason.code, "bad_request");
        assert.match(result.reason.ref ?? "", /^c\d+$/);
      } else if (i === 11) {
        assert.ok(result.status === "fulfilled");
        assert.equal((result.value as { user: { id: string } }).user.id, p.id);
      } else {
        assert.ok(result.status === "fulfilled");
        assert.deepEqual(Object.keys(result.value as Json), ["time"]);
      }
    });
  });

  test("durable events arrive once each in seq order; lastSeq goes to storage; a new client resumes from it",
       async () => {
    const p = await signup();
    const stored = new Map<string, number>();
    const saved: number[] = [];
    const storage = {
      load: () => stored.get("seq") ?? null,
      save: (seq: number) => {
        saved.push(seq);
        stored.set("seq", seq);
      },
    };
    const first = client({ urls: WS[A] as string, token: p.tokens.access_token, storage });
    await first.connect();
    assert.deepEqual(saved, [0], "a fresh install starts at hello.last_seq, and stores it");
    await append(p.id, 5);
    const got = await take(first, 5);
    assert.deepEqual(seqs(got), [1, 2, 3, 4, 5]);
    assert.deepEqual(got.map((e) => (e.data as unknown as { n: number }).n), [0, 1, 2, 3, 4]);
    assert.deepEqual(saved, [0, 1, 2, 3, 4, 5]);
    assert.equal(first.lastSeq, 5);
    await first.close();

    await append(p.id, 3); // while the app is closed
    const second = client({ urls: WS[B] as string, token: p.tokens.access_token, storage }); // last_seq in auth
    assert.equal((await second.connect()).last_seq, 8);
    assert.deepEqual(seqs(await take(second, 3)), [6, 7, 8]);
    await quiet(second);
    await second.close();

    await append(p.id, 2);
    const third = client({ urls: WS[A] as string, token: p.tokens.access_token, storage, WebSocket: NATIVE });
    await third.connect(); // header auth: ?last_seq=8 on the URL
    assert.deepEqual(seqs(await take(third, 2)), [9, 10]);
    await quiet(third);
    assert.deepEqual(saved.slice(-5), [6, 7, 8, 9, 10]);

    const fresh = client({ urls: WS[B] as string, token: p.tokens.access_token });
    await fresh.connect();
    assert.equal(fresh.lastSeq, 10, "without a stored seq: from the head, nothing replayed");
    await quiet(fresh);
  });

  test("a node is SIGKILLed: the call in flight rejects with ClosedError and is not resent; the client resumes "
       + "on the other node with no loss and no duplicate", async () => {
    const p = await signup();
    const firstPing = (tap: Tap) => tap.sent.find((f) => f["type"] === "ping")?.["ref"];
    const tap: Tap = { sent: [], hide: (f) => f["type"] === "reply" && f["ref"] === firstPing(tap) };
    const c = client({ urls: [WS[A] as string, WS[B] as string], token: p.tokens.access_token, lastSeq: 0,
                       WebSocket: tapped(tap) });
    const hello = await c.connect();
    await append(p.id, 3);
    assert.deepEqual(seqs(await take(c, 3)), [1, 2, 3]);
    const inFlight = c.call("ping", undefined, { timeoutMs: 20_000 }).then(() => "answered", (e: unknown) => e);
    await sleep(100); // the server answered; the tap hid the reply: the call is still waiting
    try {
      await control("kill", { node: A });
      isClosed(1006)(await inFlight);
      await append(p.id, 3); // during the outage, or already on B
      assert.deepEqual(seqs(await take(c, 3)), [4, 5, 6]);
      assert.equal(c.reconnects, 1);
      assert.equal(c.closeCode, 1006);
      assert.notEqual(c.hello?.session_id, hello.session_id);
      await append(p.id, 2); // live on B
      assert.deepEqual(seqs(await take(c, 2)), [7, 8]);
      await quiet(c);
      assert.equal(tap.sent.filter((f) => f["type"] === "ping").length, 1, "the command was not resent");
      assert.deepEqual(Object.keys(await c.call("ping")), ["time"]);
    } finally {
      await control("restart", { node: A });
    }
  });

  test("after a 1011, 1012 or 1013 close the client resumes and nothing is lost or repeated", async () => {
    const p = await signup();
    const c = client({ urls: [WS[A] as string, WS[B] as string], token: p.tokens.access_token, lastSeq: 0 });
    await c.connect();
    let seq = 0;
    for (const code of [1011, 1012, 1013]) {
      await control("close", { user_id: p.id, code, reason: `test ${code}` });
      await append(p.id, 2);
      assert.deepEqual(seqs(await take(c, 2)), [seq + 1, seq + 2]);
      seq += 2;
      await until(() => c.closeCode === code, `close code ${code}`);
    }
    assert.equal(c.reconnects, 3);
    await quiet(c);
  });

  test("sendMessage retries messages.send with the same client_msg_id across a reconnect: one message", async () => {
    const [p, q] = [await signup(A), await signup(B)];
    const { match_id: matchId } = await control("match", { user_ids: [p.id, q.id] }) as { match_id: string };
    const sendRefs = (tap: Tap) => tap.sent.filter((f) => f["type"] === "messages.send").map((f) => f["ref"]);
    let hidden = 0;
    const tap: Tap = { sent: [], dropAfter: true, // the reply is lost with the connection
                       hide: (f) => f["type"] === "reply" && hidden === 0 && sendRefs(tap).includes(f["ref"])
                         && ++hidden === 1 };
    const c = client({ urls: [WS[A] as string, WS[B] as string], token: p.tokens.access_token,
                       WebSocket: tapped(tap) });
    await c.connect();
    const other = client({ urls: WS[B] as string, token: q.tokens.access_token, lastSeq: 0 });
    await other.connect();
    const reply = await c.sendMessage(matchId, "hello, once", "cid-retry-1");
    assert.equal(reply.message.client_msg_id, "cid-retry-1");
    assert.equal(c.reconnects, 1);
    const sends = tap.sent.filter((f) => f["type"] === "messages.send");
    assert.equal(sends.length, 2);
    assert.deepEqual(sends.map((f) => (f["data"] as Json)["client_msg_id"]), ["cid-retry-1", "cid-retry-1"]);
    const history = await c.call("messages.history", { match_id: matchId });
    assert.deepEqual(history.messages.map((m) => m.id), [reply.message.id]);
    const seen = await collect(other, 1_000); // presence events come and go too
    assert.deepEqual(seen.filter((e) => e.type === "message.created").map((e) => e.seq), [1]);
  });

  test("a sync concurrent with live events: each durable event once, in order (the ordering rule)", async () => {
    const p = await signup();
    const c = client({ urls: WS[A] as string, token: p.tokens.access_token, lastSeq: 0 });
    await c.connect();
    await append(p.id, 3);
    assert.deepEqual(seqs(await take(c, 3)), [1, 2, 3]);
    const appending = append(p.id, 40, true); // 40 writers at once
    const syncs: Promise<unknown>[] = [];
    for (let i = 0; i < 8; i++) {
      syncs.push(c.call("sync", { after: i % 2 === 0 ? 0 : Math.max(0, c.lastSeq - 1) }));
      await sleep(3);
    }
    await Promise.all([appending, ...syncs]);
    const got = await take(c, 40);
    assert.deepEqual(seqs(got), Array.from({ length: 40 }, (_, i) => i + 4));
    assert.deepEqual(await c.call("sync", { after: 0 }), { last_seq: 43 });
    await quiet(c);
  });

  test("the token is renewed before it expires, through the refreshToken hook and the auth command", async () => {
    const p = await signup();
    const { access_token: short } = await control("token", { access_token: p.tokens.access_token, ttl_s: 3 }) as
      { access_token: string };
    const tap: Tap = { sent: [] };
    const c = client({ urls: WS[A] as string, token: short, refreshToken: p.refresher, WebSocket: tapped(tap) });
    await c.connect();
    const expires = tokenExpiry(short) as number;
    await sleep(Math.max(0, expires - Date.now()) + 1_000); // the server would have closed with 4401 by now
    assert.equal(p.refreshes, 1);
    const auth = tap.sent.filter((f) => f["type"] === "auth");
    assert.deepEqual(auth.map((f) => f["data"]), [{ token: p.tokens.access_token }]);
    assert.equal(c.state, "open");
    assert.equal(c.closeCode, null);
    assert.equal(c.reconnects, 0);
    assert.deepEqual(Object.keys(await c.call("ping")), ["time"]);
  });

  test("4401 leads to one refresh-and-reconnect; after logout the refresh fails and the client stops", async () => {
    const p = await signup();
    const c = client({ urls: [WS[A] as string, WS[B] as string], token: p.tokens.access_token, lastSeq: 0,
                       refreshToken: p.refresher });
    await c.connect();
    await control("close", { user_id: p.id, code: 4401, reason: "access token expired" });
    await append(p.id, 2);
    assert.deepEqual(seqs(await take(c, 2)), [1, 2]);
    assert.equal(p.refreshes, 1);
    assert.equal(c.reconnects, 1);

    await p.rest.logout(p.tokens.refresh_token); // closes the login's sockets with 4401 on every node
    const closed = await stopped(c);
    assert.equal(closed.code, 4401);
    assert.match(closed.reason, /refreshToken failed/);
    assert.equal(p.refreshes, 2);
    assert.equal(c.reconnects, 1);
    await assert.rejects(c.call("ping"), isClosed(4401));
  });

  test("4403 after a suspension: account.suspended arrives, then ClosedError 4403 and no reconnect", async () => {
    const p = await signup();
    const c = client({ urls: [WS[A] as string, WS[B] as string], token: p.tokens.access_token, lastSeq: 0 });
    await c.connect();
    await control("suspend", { user_id: p.id });
    const got: EventFrame[] = [];
    await assert.rejects((async () => {
      for await (const e of c.events()) got.push(e);
    })(), isClosed(4403));
    assert.deepEqual(got.map((e) => [e.type, e.seq]), [["account.suspended", 1]]);
    assert.equal(c.reconnects, 0);
    assert.equal(c.lastSeq, 1);
  });

  test("4408, 1008 and 4429 from the server stop the client: no reconnect, calls reject", async () => {
    for (const code of [4408, 1008, 4429]) {
      const p = await signup();
      const tap: Tap = { sent: [], urls: [] };
      const c = client({ urls: [WS[A] as string, WS[B] as string], token: p.tokens.access_token,
                         WebSocket: tapped(tap) });
      await c.connect();
      await control("close", { user_id: p.id, code, reason: `test ${code}` });
      assert.equal((await stopped(c)).code, code);
      assert.equal(c.closeCode, code);
      assert.equal(c.reconnects, 0);
      assert.equal(tap.urls?.length, 1);
      await assert.rejects(c.call("ping"), isClosed(code));
    }
  });

  test("command flooding: rate_limited replies, then close 4429 and the client stops", async () => {
    const p = await signup();
    const c = client({ urls: [WS[A] as string, WS[B] as string], token: p.tokens.access_token });
    await c.connect();
    const results = await Promise.allSettled(Array.from({ length: 400 }, () => c.call("ping")));
    const limited = results.filter((r) => r.status === "rejected" && r.reason instanceof ClientError
      && r.reason.code === "rate_limited");
    assert.ok(limited.length > 0, "some rate_limited replies");
    const first = limited[0] as PromiseRejectedResult;
    assert.ok((first.reason as ClientError).retryAfter !== null);
    assert.equal((await stopped(c)).code, 4429);
    assert.equal(c.reconnects, 0);
  });

  test("a foreign Origin is refused at the upgrade: connect() rejects with ClosedError and does not retry",
       async () => {
    const p = await signup();
    const tap: Tap = { sent: [], urls: [] };
    const c = client({ urls: [WS[A] as string, WS[B] as string], token: p.tokens.access_token,
                       WebSocket: tapped(tap), origin: "https://evil.example" });
    const error = await c.connect().catch((e: unknown) => e);
    assert.ok(error instanceof ClosedError);
    // WHATWG WebSockets hide the HTTP status: 1006 here; a constructor that reports "403" gives 1008
    assert.ok(error.code === 1006 || error.code === 1008, String(error.code));
    assert.match(error.reason, /403/);
    assert.equal(tap.urls?.length, 2, "each URL once, then stop");
    assert.equal(c.state, "closed");
  });

  test("the event queue is bounded: when full, 1013 after the queued events, and lastSeq resumes", async () => {
    const p = await signup();
    const c = client({ urls: WS[A] as string, token: p.tokens.access_token, lastSeq: 0, eventQueue: 2 });
    await c.connect();
    await append(p.id, 4);
    await sleep(300);
    const got: number[] = [];
    await assert.rejects((async () => {
      for await (const e of c.events()) got.push(e.seq ?? 0);
    })(), (e: unknown) => e instanceof ClosedError && e.code === 1013 && /queue full/.test(e.reason));
    assert.deepEqual(got, [1, 2]);
    const next = client({ urls: WS[B] as string, token: p.tokens.access_token, lastSeq: c.lastSeq });
    await next.connect();
    assert.deepEqual(seqs(await take(next, 2)), [3, 4]);
  });
});

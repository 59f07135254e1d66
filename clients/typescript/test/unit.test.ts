// The client against scripted sockets: the rules a real server cannot be made to show on demand.
import assert from "node:assert/strict";
import { test } from "node:test";

import { ClientError, ClosedError, DeleteClient, tokenExpiry } from "../src/index.js";
import { event, hello, quiet, scripted, seqs, sleep, take, until } from "./support.js";

function jwt(payload: Record<string, unknown>): string {
  const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
  return `${encode({ alg: "HS256", typ: "JWT" })}.${encode(payload)}.signature`;
}

test("first-frame auth carries the token and last_seq; header auth puts last_seq on the URL", async () => {
  const frameAuth = scripted(async (socket) => {
    socket.accept();
    await socket.next();
    socket.push(hello(7));
  });
  const a = new DeleteClient({ urls: "ws://x/v1/ws", token: "t1", WebSocket: frameAuth.WebSocket, headerAuth: false,
                               lastSeq: 4 });
  await a.connect();
  assert.deepEqual(frameAuth.sockets[0]?.sent[0], { type: "auth", data: { token: "t1", last_seq: 4 } });
  assert.equal(frameAuth.sockets[0]?.options, undefined, "no options: a browser WebSocket takes protocols there");
  await a.close();

  const headerAuth = scripted((socket) => {
    socket.accept();
    socket.push(hello(7));
  });
  const b = new DeleteClient({ urls: "ws://x/v1/ws?v=1", token: "t2", WebSocket: headerAuth.WebSocket, lastSeq: 0 });
  await b.connect();
  const socket = headerAuth.sockets[0];
  assert.equal(socket?.url, "ws://x/v1/ws?v=1&last_seq=0");
  assert.deepEqual(socket?.options, { headers: { Authorization: "Bearer t2" } });
  assert.deepEqual(socket?.sent, []);
  await b.close();
});

test("a fresh install starts at hello.last_seq and saves it", async () => {
  const { WebSocket, sockets } = scripted((socket) => {
    socket.accept();
    socket.push(hello(41));
  });
  const saved: number[] = [];
  const client = new DeleteClient({ urls: "ws://x", token: "t", WebSocket,
                                    storage: { load: () => null, save: (seq) => void saved.push(seq) } });
  await client.connect();
  assert.equal(client.lastSeq, 41);
  assert.deepEqual(saved, [41]);
  assert.equal(sockets[0]?.url, "ws://x", "no last_seq on the URL of a fresh install");
  await client.close();
});

test("while a sync is in flight only seq == last + 1 is accepted; the replay brings the rest in order", async () => {
  const { WebSocket } = scripted(async (socket) => {
    socket.accept();
    socket.push(hello(3));
    const sync = await socket.next();
    assert.equal(sync["type"], "sync");
    socket.push(event(6)); // live, published before the sync job started: arrives before the replay
    for (const seq of [4, 5, 6]) socket.push(event(seq));
    socket.push({ type: "reply", ref: sync["ref"], ok: true, data: { last_seq: 6 } });
    socket.push(event(7));
  });
  const client = new DeleteClient({ urls: "ws://x", token: "t", WebSocket, lastSeq: 3 });
  await client.connect();
  assert.deepEqual(await client.call("sync", { after: 3 }), { last_seq: 6 });
  assert.deepEqual(seqs(await take(client, 4)), [4, 5, 6, 7]);
  await quiet(client);
  await client.close();
});

test("outside a sync, a replayed or repeated seq is dropped", async () => {
  const { WebSocket } = scripted((socket) => {
    socket.accept();
    socket.push(hello(0));
    for (const seq of [1, 2, 2, 1, 3]) socket.push(event(seq));
  });
  const client = new DeleteClient({ urls: "ws://x", token: "t", WebSocket, lastSeq: 0 });
  await client.connect();
  assert.deepEqual(seqs(await take(client, 3)), [1, 2, 3]);
  await quiet(client);
  await client.close();
});

test("a refused upgrade that names HTTP 403 is 1008; a bare network error is 1006; neither retries", async () => {
  const refused = scripted((socket) => socket.fail("Unexpected server response: 403"));
  const a = new DeleteClient({ urls: "ws://x", token: "t", WebSocket: refused.WebSocket });
  await assert.rejects(a.connect(), (e: unknown) => e instanceof ClosedError && e.code === 1008);
  assert.equal(refused.sockets.length, 1);
  assert.equal(a.state, "closed");

  const network = scripted((socket) => socket.fail("Received network error or non-101 status code."));
  const b = new DeleteClient({ urls: ["ws://x", "ws://y"], token: "t", WebSocket: network.WebSocket });
  await assert.rejects(b.connect(), (e: unknown) => e instanceof ClosedError && e.code === 1006);
  assert.deepEqual(network.sockets.map((s) => s.url), ["ws://x", "ws://y"], "connect() tries each URL once");
});

test("a call in flight when the socket drops rejects with ClosedError and is never resent", async () => {
  const { WebSocket, sockets } = scripted(async (socket) => {
    socket.accept();
    socket.push(hello(0));
    if (sockets.length === 1) {
      await socket.next();
      socket.drop(1012, "restarting"); // no reply
    }
  });
  const client = new DeleteClient({ urls: ["ws://a", "ws://b"], token: "t", WebSocket });
  await client.connect();
  await assert.rejects(client.call("ping"), (e: unknown) => e instanceof ClosedError && e.code === 1012);
  await until(() => client.reconnects === 1, "the reconnect");
  assert.deepEqual(sockets.map((s) => s.url), ["ws://a", "ws://b?last_seq=0"]);
  await sleep(50);
  assert.deepEqual(sockets.flatMap((s) => s.sent.map((f) => f["type"])), ["ping"]);
  await client.close();
});

test("ok:false becomes a typed ClientError with code, details and retryAfter", async () => {
  const { WebSocket } = scripted(async (socket) => {
    socket.accept();
    socket.push(hello(0));
    const call = await socket.next();
    socket.push({ type: "reply", ref: call["ref"], ok: false,
                  error: { code: "rate_limited", message: "slow down", details: { retry_after_s: 2 } } });
  });
  const client = new DeleteClient({ urls: "ws://x", token: "t", WebSocket });
  await client.connect();
  const error = await client.call("ping").catch((e: unknown) => e);
  assert.ok(error instanceof ClientError);
  assert.equal(error.code, "rate_limited");
  assert.equal(error.message, "slow down");
  assert.deepEqual(error.details, { retry_after_s: 2 });
  assert.equal(error.retryAfter, 2);
  await client.close();
});

test("a full event queue closes the client with 1013 after the queued events", async () => {
  const { WebSocket, sockets } = scripted((socket) => {
    socket.accept();
    socket.push(hello(0));
    for (const seq of [1, 2, 3, 4]) socket.push(event(seq));
  });
  const client = new DeleteClient({ urls: "ws://x", token: "t", WebSocket, lastSeq: 0, eventQueue: 2 });
  await client.connect();
  const got: number[] = [];
  await assert.rejects((async () => {
    for await (const e of client.events()) got.push(e.seq ?? 0);
  })(), (e: unknown) => e instanceof ClosedError && e.code === 1013 && e.reason.includes("queue full"));
  assert.deepEqual(got, [1, 2]);
  assert.equal(client.lastSeq, 2);
  assert.equal(sockets.length, 1, "no reconnect");
});

test("handlers get events in order; an async handler is awaited; storage.save follows each", async () => {
  const { WebSocket } = scripted((socket) => {
    socket.accept();
    socket.push(hello(0));
    for (const seq of [1, 2, 3]) socket.push(event(seq));
    socket.push({ type: "typing", data: { match_id: "m", user_id: "u" } });
  });
  const saved: number[] = [];
  const log: string[] = [];
  const client = new DeleteClient({ urls: "ws://x", token: "t", WebSocket, lastSeq: 0,
                                    storage: { load: () => 0, save: (seq) => void saved.push(seq) } });
  client.on("*", async (e) => {
    await sleep(5);
    log.push(`${e.type}:${e.seq ?? "-"}:saved=${saved.length}`);
  });
  client.on("typing", (e) => void log.push(`typing ${e.data.match_id}`));
  await client.connect();
  await until(() => log.length === 5, "every event handled");
  assert.deepEqual(log, ["test.event:1:saved=0", "test.event:2:saved=1", "test.event:3:saved=2", "typing m",
                         "typing:-:saved=3"]);
  assert.deepEqual(saved, [1, 2, 3]);
  await client.close();
});

test("tokenExpiry reads a JWT's exp; renewal calls the hook and sends auth before expiry", async () => {
  const exp = Math.floor(Date.now() / 1000) + 2;
  assert.equal(tokenExpiry(jwt({ sub: "u", exp })), exp * 1000);
  assert.equal(tokenExpiry("not a jwt"), null);
  const renewed = jwt({ sub: "u", exp: exp + 1800 });
  const { WebSocket, sockets } = scripted(async (socket) => {
    socket.accept();
    socket.push(hello(0));
    const auth = await socket.next();
    socket.push({ type: "reply", ref: auth["ref"], ok: true, data: { expires_at: "later" } });
  });
  let calls = 0;
  const client = new DeleteClient({ urls: "ws://x", token: jwt({ sub: "u", exp }), WebSocket,
                                    refreshToken: () => (calls++, renewed) });
  await client.connect();
  await until(() => sockets[0]?.sent.length === 1, "the auth frame", 3000);
  assert.equal(calls, 1);
  assert.deepEqual(sockets[0]?.sent[0]?.["data"], { token: renewed });
  await client.close();
});

test("with autoResume off a 1012 close stops the client with ClosedError 1012", async () => {
  const { WebSocket, sockets } = scripted((socket) => {
    socket.accept();
    socket.push(hello(0));
    setTimeout(() => socket.drop(1012, "restarting"), 10);
  });
  const client = new DeleteClient({ urls: ["ws://a", "ws://b"], token: "t", WebSocket, autoResume: false });
  await client.connect();
  const closed = await client.closed;
  assert.equal(closed.code, 1012);
  assert.equal(client.reconnects, 0);
  assert.equal(sockets.length, 1);
  await assert.rejects(client.call("ping"), (e: unknown) => e instanceof ClosedError && e.code === 1012);
});

test("a silent socket is pinged after heartbeat_s and dropped (1006) when no answer comes; then it resumes",
     async () => {
  const { WebSocket, sockets } = scripted(async (socket) => {
    socket.accept();
    socket.push(hello(0, 0.05)); // 50 ms heartbeat
    if (sockets.length === 1) return; // the first socket never answers
    for (;;) {
      const frame = await socket.next();
      socket.push({ type: "reply", ref: frame["ref"], ok: true, data: { time: "now" } });
    }
  });
  const client = new DeleteClient({ urls: ["ws://a", "ws://b"], token: "t", WebSocket });
  await client.connect();
  await until(() => client.reconnects === 1, "the resume after the unanswered ping", 2000);
  assert.equal(client.closeCode, 1006);
  assert.equal(sockets[0]?.sent[0]?.["type"], "ping");
  await sleep(200);
  assert.equal(client.reconnects, 1, "the second socket answers its pings and stays");
  await client.close();
});

test("while resuming, a call waits for the new socket", async () => {
  const { WebSocket, sockets } = scripted(async (socket) => {
    if (sockets.length === 2) await sleep(100); // the second node takes a while
    socket.accept();
    socket.push(hello(0));
    if (sockets.length === 1) {
      setTimeout(() => socket.drop(1012), 5);
      return;
    }
    const frame = await socket.next();
    socket.push({ type: "reply", ref: frame["ref"], ok: true, data: { time: "now" } });
  });
  const client = new DeleteClient({ urls: ["ws://a", "ws://b"], token: "t", WebSocket });
  await client.connect();
  await until(() => client.state === "reconnecting", "reconnecting");
  assert.deepEqual(await client.call("ping"), { time: "now" });
  assert.equal(client.state, "open");
  await client.close();
});

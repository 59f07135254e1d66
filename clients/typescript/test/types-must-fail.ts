// Compiled by `npm run typecheck` (and `npm test`), never run: every `@ts-expect-error` line must be an error, so
// a wrong command name, a wrong or missing field or a wrong event name fails the build. The lines without it
// prove the right uses compile.
import { DeleteClient, DeleteRest } from "../src/index.js";
import type { ErrorCode } from "../src/index.js";

export async function typesMustFail(client: DeleteClient, rest: DeleteRest): Promise<void> {
  const liked = await client.call("like", { user_id: "00000000-0000-0000-0000-000000000000" });
  const left: number = liked.likes_left_today;
  await client.call("like", { user_id: "u", comment: "hello there!" });
  await client.call("ping");
  await client.call("matches.list");
  await client.call("matches.list", { limit: 5 }, { timeoutMs: 1000 });
  const sent = await client.sendMessage("match", "hi");
  const body: string = sent.message.body;

  // @ts-expect-error: no such command
  await client.call("no.such.command", {});
  // @ts-expect-error: a misspelt command
  await client.call("messages.sent", { match_id: "m", body: "hi", client_msg_id: "c" });
  // @ts-expect-error: a field the command does not have
  await client.call("like", { user_id: "u", bogus: 1 });
  // @ts-expect-error: a required field missing
  await client.call("like", {});
  // @ts-expect-error: a field of the wrong type
  await client.call("like", { user_id: 42 });
  // @ts-expect-error: messages.send needs its data
  await client.call("messages.send");
  // @ts-expect-error: ping takes no fields
  await client.call("ping", { x: 1 });
  // @ts-expect-error: an enum value that does not exist
  await client.call("match.unmatch", { match_id: "m", reason: "bored" });
  // @ts-expect-error: the reply has no such field
  console.log(liked.no_such_field);

  client.on("message.created", (event) => {
    const text: string = event.data.message.body;
    const seq: number = event.seq; // durable: carries seq
    console.log(text, seq);
  });
  client.on("typing", (event) => {
    // @ts-expect-error: typing is ephemeral, it has no seq
    const seq: number = event.seq;
    console.log(seq, event.data.match_id);
  });
  // @ts-expect-error: no such event
  client.on("no.such.event", () => undefined);
  // @ts-expect-error: hello is not an event the client delivers (see client.hello)
  client.on("hello", () => undefined);
  // @ts-expect-error: the handler's data is that event's
  client.on("presence", (event) => console.log(event.data.body));

  for await (const event of client.events()) {
    if (event.type === "match.created") console.log(event.data.match.id, event.seq);
    // @ts-expect-error: narrowed by type: a like has no match
    if (event.type === "like.received") console.log(event.data.match);
  }

  // @ts-expect-error: signup needs a birthdate
  await rest.signup({ email: "a@example.test", password: "long enough", display_name: "A" });
  const tokens = await rest.login({ email: "a@example.test", password: "long enough" });
  const code: ErrorCode = "rate_limited";
  // @ts-expect-error: not one of the contract's error codes
  const wrong: ErrorCode = "no_such_code";
  console.log(left, body, tokens.user.id, code, wrong);
}

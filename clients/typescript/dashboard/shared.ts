// What the dashboard's parts share: the connection, `call` through the current client, names of things.

import { ClosedError } from "../src/index.js";
import type { CallArgs, Commands } from "../src/index.js";
import type { Connection } from "./connection.js";

let connection: Connection | null = null;

export function useConnection(conn: Connection): void {
  connection = conn;
}

export function conn(): Connection {
  if (connection === null) throw new Error("no connection");
  return connection;
}

/** A command through the current client (which waits for the socket during a resume). */
export function call<K extends keyof Commands>(type: K, ...args: CallArgs<K>): Promise<Commands[K]["reply"]> {
  const client = connection?.client;
  if (!client) return Promise.reject(new ClosedError(1006, "Not connected; the page is reconnecting."));
  return client.call(type, ...args);
}

export function myId(): string | null {
  return connection?.user?.id ?? null;
}

export function who(moderatorId: string | null | undefined): string {
  if (moderatorId && moderatorId === myId()) return "you";
  return `moderator ${typeof moderatorId === "string" ? moderatorId.slice(0, 8) : "?"}`;
}

export const REASONS: Record<string, string> = {
  fake_profile: "Fake profile", inappropriate_content: "Inappropriate content", harassment: "Harassment",
  spam: "Spam", underage: "Underage", other: "Other", auto_flag: "Word filter",
};

export const PAST: Record<string, string> = {
  dismiss: "dismissed", warn: "warned", suspend: "suspended", ban: "banned", remove_photo: "photo removed",
  remove_prompt: "prompt removed", reinstate: "reinstated", approve_photo: "photo approved",
  reject_photo: "photo rejected",
};

/** Something changed that the statistics count (a report, a decision, a photo): refresh them soon. */
let statsListener: (() => void) | null = null;

export function onStatsStale(listener: () => void): void {
  statsListener = listener;
}

export function statsStale(): void {
  statsListener?.();
}

// What every screen gets: the API config, REST, the session, the live state (once signed in), navigation.

import type { DeleteRest, Tokens } from "../src/index.js";
import type { ApiConfig } from "./config.js";
import type { Live } from "./live.js";
import type { Session } from "./session.js";

export const BASE = "/app";

export interface App {
  readonly config: ApiConfig;
  readonly rest: DeleteRest;
  readonly session: Session;
  /** The live state; set while signed in. */
  readonly live: Live | null;
  navigate(path: string): void;
  toast(text: string): void;
  /** A new login (signup, login, password reset or change): connect and go to `next`. */
  signedIn(tokens: Tokens, next?: string): Promise<void>;
  signOut(reason?: string): Promise<void>;
}

export interface Screen {
  title: string;
  el: HTMLElement;
  /** Called when the screen is left: unsubscribe from the live state. */
  dispose?: () => void;
}

/** The live state of a screen that is only routed to while signed in. */
export function live(app: App): Live {
  if (app.live === null) throw new Error("not signed in");
  return app.live;
}

let tracked: (() => void)[] = [];

/** Remember an unsubscribe function of the screen being built; the router calls them all when it is left. */
export function track(off: () => void): void {
  tracked.push(off);
}

export function releaseTracked(): void {
  const offs = tracked;
  tracked = [];
  offs.forEach((off) => off());
}

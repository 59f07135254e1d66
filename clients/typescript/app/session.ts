// The login of this tab. The refresh token (and the user it belongs to) is kept in sessionStorage, so a reload
// stays signed in, two tabs or windows can be two people, and closing the tab forgets it; the access token stays
// in memory. The page's strict CSP (script-src 'self', no inline code) is what keeps other scripts away from it.
// Refreshing is single-flight: the socket client's `refreshToken` hook and REST retries share one request
// (a refresh token works once; presenting a used one revokes the login).

import type { DeleteRest, SeqStorage, Tokens, User } from "../src/index.js";
import { ClientError } from "../src/index.js";

const KEY = "delete.session";
const SEQ_PREFIX = "delete.seq.";

interface Stored {
  refresh: string;
  user: User;
}

export class Session {
  user: User | null = null;
  private access: string | null = null;
  private refreshToken: string | null = null;
  private refreshing: Promise<string> | null = null;
  private readonly listeners = new Set<() => void>();

  constructor(private readonly rest: DeleteRest) {}

  get signedIn(): boolean {
    return this.refreshToken !== null && this.user !== null;
  }

  /** A login stored by this tab (a reload): the user, whose access token comes with the first `refresh()`. */
  restore(): boolean {
    try {
      const raw = sessionStorage.getItem(KEY);
      if (raw === null) return false;
      const stored = JSON.parse(raw) as Stored;
      if (typeof stored.refresh !== "string" || typeof stored.user?.id !== "string") return false;
      this.refreshToken = stored.refresh;
      this.user = stored.user;
      return true;
    } catch {
      return false;
    }
  }

  /** A new login (signup, login, password reset or change). */
  start(tokens: Tokens): void {
    this.access = tokens.access_token;
    this.refreshToken = tokens.refresh_token;
    this.user = tokens.user;
    this.persist();
  }

  setUser(user: User): void {
    this.user = user;
    this.persist();
    this.listeners.forEach((fn) => fn());
  }

  onUser(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** The access token for REST and the socket (refreshed first when there is none yet). */
  async accessToken(): Promise<string> {
    return this.access ?? this.refresh();
  }

  /** Rotate the refresh token; one request at a time. A refused refresh ends the session. */
  refresh(): Promise<string> {
    this.refreshing ??= this.rotate().finally(() => (this.refreshing = null));
    return this.refreshing;
  }

  private async rotate(): Promise<string> {
    const token = this.refreshToken;
    if (token === null) throw new ClientError("unauthorized", "signed out");
    try {
      this.start(await this.rest.refresh(token));
    } catch (error) {
      if (error instanceof ClientError && error.status !== null && error.status < 500) this.clear();
      throw error;
    }
    return this.access as string;
  }

  /** REST with the access token; a 401 leads to one refresh and one retry. */
  async withToken<T>(call: (token: string) => Promise<T>): Promise<T> {
    try {
      return await call(await this.accessToken());
    } catch (error) {
      if (!(error instanceof ClientError) || error.status !== 401) throw error;
      return call(await this.refresh());
    }
  }

  /** Sign out: revoke the login on the server (best effort) and forget it here. */
  async signOut(): Promise<void> {
    const token = this.refreshToken;
    this.clear();
    if (token !== null) await this.rest.logout(token).catch(() => undefined);
  }

  clear(): void {
    const user = this.user;
    this.access = this.refreshToken = null;
    this.user = null;
    try {
      sessionStorage.removeItem(KEY);
      if (user !== null) sessionStorage.removeItem(SEQ_PREFIX + user.id);
    } catch {
      // storage disabled
    }
  }

  /** Where the socket client keeps the `seq` of the last durable event this tab processed (resume after reload). */
  seqStorage(userId: string): SeqStorage {
    const key = SEQ_PREFIX + userId;
    return {
      load: () => {
        const raw = sessionStorage.getItem(key);
        return raw === null ? null : Number(raw);
      },
      save: (seq) => sessionStorage.setItem(key, String(seq)),
    };
  }

  private persist(): void {
    if (this.refreshToken === null || this.user === null) return;
    try {
      sessionStorage.setItem(KEY, JSON.stringify({ refresh: this.refreshToken, user: this.user } satisfies Stored));
    } catch {
      // storage disabled: the login lasts as long as the page
    }
  }
}

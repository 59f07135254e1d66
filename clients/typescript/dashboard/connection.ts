// The moderator's login and live socket, all through the typed client (../src): DeleteRest signs in and
// refreshes; one DeleteClient at a time holds the socket to /v1/ws on this host (first-frame auth, resume after
// 1006/1011/1012/1013, one refresh-and-reconnect after 4401, renewal before the token expires).
//
// Tokens live in this object only: never web storage, never cookies. When a client stops for good (its own
// retries are spent, or an unexpected close code), a new one is made after a back-off (0.5 s doubling to 10 s,
// with jitter), so the page keeps trying; 4403 and a refused refresh sign out instead.

import { ClientError, DeleteClient, DeleteRest } from "../src/index.js";
import type { ClientState, ClosedError, Tokens, User } from "../src/index.js";

const RECONNECT_MIN_MS = 500;
const RECONNECT_MAX_MS = 10000;
const OFFLINE_AFTER_MS = 30000;
const FORBIDDEN = 4403;
const UNAUTHORIZED = 4401;

export type ConnState = "connecting" | "connected" | "reconnecting" | "offline" | "signedout";

export interface ConnectionHooks {
  /** The indicator's state (with a detail such as the next retry). */
  state(state: ConnState, detail?: string): void;
  /** A new client: register its event handlers (before it connects). */
  listen(client: DeleteClient): void;
  /** The socket is open (first time or after a resume): subscribe again, the snapshots re-sync the page. */
  open(client: DeleteClient): void;
  /** The session ended without the moderator asking: show sign-in with this text. */
  ended(text: string): void;
}

export function socketUrl(): string {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  return `${scheme}://${location.host}/v1/ws`;
}

/** Revoke a refresh token; survives the page going away (keepalive). */
function revoke(refreshToken: string | null): void {
  if (!refreshToken) return;
  fetch("/v1/auth/logout", {
    method: "POST", headers: { "Content-Type": "application/json" }, credentials: "omit", keepalive: true,
    body: JSON.stringify({ refresh_token: refreshToken }),
  }).catch(() => undefined);
}

export class Connection {
  readonly rest = new DeleteRest({ baseUrl: location.origin });
  user: User | null = null;
  client: DeleteClient | null = null;
  private access: string | null = null;
  private refreshToken: string | null = null;
  private refreshing: Promise<string> | null = null;
  private attempt = 0;
  private reconnectTimer = 0;
  private offlineTimer = 0;
  private downSince = 0;

  constructor(private readonly hooks: ConnectionHooks) {}

  get signedIn(): boolean {
    return this.refreshToken !== null;
  }

  login(email: string, password: string): Promise<Tokens> {
    return this.rest.login({ email, password });
  }

  /** Adopt a login and open the socket. */
  start(tokens: Tokens): void {
    this.adopt(tokens);
    this.attempt = 0;
    this.downSince = 0;
    this.open();
  }

  /** A new access token (single flight: a refresh token works once). A refused refresh ends the session. */
  refresh(): Promise<string> {
    this.refreshing ??= this.rotate().finally(() => { this.refreshing = null; });
    return this.refreshing;
  }

  private async rotate(): Promise<string> {
    const token = this.refreshToken;
    if (token === null) throw new ClientError("unauthorized", "signed out");
    try {
      const tokens = await this.rest.refresh(token);
      if (this.refreshToken !== token) throw new ClientError("unauthorized", "signed out meanwhile");
      this.adopt(tokens);
      return tokens.access_token;
    } catch (error) {
      if (error instanceof ClientError && (error.status === 401 || error.status === 403)
          && this.refreshToken === token) {
        this.end("Your session ended. Sign in again.", false);
      }
      throw error;
    }
  }

  private adopt(tokens: Tokens): void {
    this.access = tokens.access_token;
    this.refreshToken = tokens.refresh_token;
    this.user = tokens.user ?? this.user;
  }

  /** Sign out: close the socket, forget the tokens (revoking the login when asked). */
  signOut(revokeLogin: boolean): void {
    const refreshToken = this.refreshToken;
    this.refreshToken = null;
    this.access = null;
    this.user = null;
    clearTimeout(this.reconnectTimer);
    clearTimeout(this.offlineTimer);
    this.attempt = 0;
    this.downSince = 0;
    const client = this.client;
    this.client = null;
    if (client !== null) void client.close();
    if (revokeLogin) revoke(refreshToken);
  }

  /** The page is going away: the tokens die with it, so revoke the login. */
  revokeNow(): void {
    revoke(this.refreshToken);
  }

  /** The browser is online again: retry at once instead of waiting out the back-off. */
  retryNow(): void {
    if (this.refreshToken === null || this.client !== null) return;
    clearTimeout(this.reconnectTimer);
    this.attempt = 0;
    this.open();
  }

  private end(text: string, revokeLogin: boolean): void {
    if (this.refreshToken === null) return;
    this.signOut(revokeLogin);
    this.hooks.ended(text);
  }

  private open(): void {
    const client = new DeleteClient({
      urls: [socketUrl()],
      token: this.access ?? "",
      refreshToken: () => this.refresh(),
      onError: (error) => console.warn("delete:", error),
    });
    this.client = client;
    this.hooks.listen(client);
    client.onState((state) => { if (this.client === client) this.onState(client, state); });
    void client.closed.then((closed) => { if (this.client === client) this.onClosed(closed); });
    client.connect().catch(() => undefined); // a failed connect settles `closed` too
  }

  private onState(client: DeleteClient, state: ClientState): void {
    if (state === "open") {
      this.attempt = 0;
      this.downSince = 0;
      clearTimeout(this.offlineTimer);
      this.hooks.state("connected");
      this.hooks.open(client);
    } else if (state === "connecting") {
      this.hooks.state(this.downSince ? this.downState() : "connecting");
    } else if (state === "reconnecting") {
      this.markDown();
      this.hooks.state(this.downState());
    }
  }

  private markDown(): void {
    if (this.downSince) return;
    this.downSince = Date.now();
    clearTimeout(this.offlineTimer);
    this.offlineTimer = window.setTimeout(() => {
      if (this.refreshToken !== null && this.client?.state !== "open") this.hooks.state("offline");
    }, OFFLINE_AFTER_MS);
  }

  private downState(): ConnState {
    return this.downSince && Date.now() - this.downSince >= OFFLINE_AFTER_MS ? "offline" : "reconnecting";
  }

  private onClosed(closed: ClosedError): void {
    this.client = null;
    if (this.refreshToken === null) return;
    if (closed.code === FORBIDDEN) {
      this.end("Signed out: this moderator account is suspended or banned.", false);
      return;
    }
    this.scheduleReconnect(closed.code === UNAUTHORIZED);
  }

  private scheduleReconnect(refreshFirst: boolean): void {
    this.markDown();
    const base = Math.min(RECONNECT_MAX_MS, RECONNECT_MIN_MS * 2 ** this.attempt);
    const delay = base / 2 + Math.random() * (base / 2);
    this.attempt++;
    this.hooks.state(this.downState(), `(retry in ${Math.max(1, Math.round(delay / 1000))} s)`);
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = window.setTimeout(() => void this.reconnect(refreshFirst), delay);
  }

  private async reconnect(refreshFirst: boolean): Promise<void> {
    if (refreshFirst) {
      try {
        await this.refresh();
      } catch {
        if (this.refreshToken !== null) this.scheduleReconnect(true); // network trouble: try again later
        return;
      }
    }
    if (this.refreshToken !== null && this.client === null) this.open();
  }
}

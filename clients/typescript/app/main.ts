// The reference web app of Delete (served at /app): the shell, the router and the session's lifecycle.
// Read README.md next to this folder's parent for the API-origin rule; each screen lives in screens/.

import { ClosedError, DeleteRest } from "../src/index.js";
import type { ClientState, Tokens } from "../src/index.js";
import { BASE, releaseTracked, type App, type Screen } from "./app.js";
import { failoverFetch, readApiConfig, type ApiConfig } from "./config.js";
import { h, replace } from "./dom.js";
import { Live } from "./live.js";
import { Session } from "./session.js";
import { authScreen } from "./screens/auth.js";
import { chatScreen } from "./screens/chat.js";
import { discoverScreen } from "./screens/discover.js";
import { likesScreen } from "./screens/likes.js";
import { resetPasswordScreen, takeToken, verifyEmailScreen } from "./screens/links.js";
import { matchesScreen } from "./screens/matches.js";
import { profileScreen } from "./screens/profile.js";
import { settingsScreen } from "./screens/settings.js";

const STATE_TEXT: Record<ClientState | "signed-out", string> = {
  "signed-out": "Signed out", idle: "Connecting…", connecting: "Connecting…", open: "Live",
  reconnecting: "Reconnecting…", closed: "Offline",
};
const LINK_PAGES = new Set([`${BASE}/verify-email`, `${BASE}/reset-password`]);
const TOAST_MS = 5000;

function byId<T extends HTMLElement>(id: string): T {
  return document.getElementById(id) as T;
}

class WebApp implements App {
  readonly config: ApiConfig;
  readonly rest: DeleteRest;
  readonly session: Session;
  live: Live | null = null;
  private screen: Screen | null = null;
  private linkToken: string | null = null;
  private readonly main = byId<HTMLElement>("main");
  private readonly nav = byId<HTMLElement>("nav");
  private readonly conn = byId<HTMLElement>("conn");
  private readonly toasts = byId<HTMLElement>("toasts");

  constructor() {
    this.config = readApiConfig();
    this.rest = new DeleteRest({ baseUrl: this.config.origins[0] as string, fetch: failoverFetch(this.config) });
    this.session = new Session(this.rest);
  }

  async boot(): Promise<void> {
    document.addEventListener("click", (event) => this.followLink(event));
    window.addEventListener("popstate", () => this.route());
    if (LINK_PAGES.has(location.pathname)) this.linkToken = takeToken();
    if (this.session.restore()) {
      this.showState("connecting");
      try {
        await this.connect(await this.session.refresh());
      } catch (error) {
        console.warn("delete: could not resume the session", error);
        this.session.clear();
      }
    }
    this.showState(this.live?.state ?? "signed-out");
    this.route();
  }

  // -- session --------------------------------------------------------------------------------------------

  async signedIn(tokens: Tokens, next = BASE): Promise<void> {
    this.session.start(tokens);
    await this.connect(tokens.access_token);
    this.navigate(next);
  }

  async signOut(reason?: string): Promise<void> {
    const live = this.live;
    this.live = null;
    await Promise.all([live?.close(), this.session.signOut()]);
    this.showState("signed-out");
    this.updateBadges();
    this.navigate(BASE);
    if (reason) this.toast(reason);
  }

  private async connect(token: string): Promise<void> {
    const old = this.live;
    this.live = null;
    await old?.close();
    const live = new Live(this.config, this.session, token, (text) => this.toast(text));
    live.on("connection", (state) => this.showState(state as ClientState));
    live.on("likes", () => this.updateBadges());
    live.on("matches", () => this.updateBadges());
    void live.client.closed.then((closed) => this.onClosed(live, closed));
    try {
      await live.start();
    } catch (error) {
      await live.close();
      throw error;
    }
    this.live = live;
    this.updateBadges();
  }

  /** The socket client stopped for good (it resumes by itself otherwise). */
  private onClosed(live: Live, closed: ClosedError): void {
    if (this.live !== live) return;
    if (closed.code === 4401) void this.signOut("Your session has ended. Please log in again.");
    else if (closed.code === 4403) void this.signOut("Your account is suspended.");
    else if (closed.code !== 1000) this.toast("Offline. Reload the page to reconnect.");
  }

  // -- routing --------------------------------------------------------------------------------------------

  navigate(path: string): void {
    if (path !== location.pathname) history.pushState(null, "", path);
    this.route();
  }

  private followLink(event: MouseEvent): void {
    const link = (event.target as Element | null)?.closest?.("a");
    if (!link || link.target || link.hasAttribute("download") || event.metaKey || event.ctrlKey || event.shiftKey) return;
    const url = new URL(link.href, location.href);
    if (url.origin !== location.origin || !(url.pathname === BASE || url.pathname.startsWith(`${BASE}/`))) return;
    event.preventDefault();
    this.navigate(url.pathname);
  }

  private pick(path: string): Screen {
    if (path === `${BASE}/verify-email`) return verifyEmailScreen(this, this.linkToken);
    if (path === `${BASE}/reset-password`) return resetPasswordScreen(this, this.linkToken);
    if (this.live === null) return authScreen(this, path === `${BASE}/signup` ? "signup" : "login");
    if (path === `${BASE}/profile`) return profileScreen(this);
    if (path === `${BASE}/discover`) return discoverScreen(this);
    if (path === `${BASE}/likes`) return likesScreen(this);
    if (path === `${BASE}/matches`) return matchesScreen(this);
    if (path === `${BASE}/settings`) return settingsScreen(this);
    if (path.startsWith(`${BASE}/chat/`)) return chatScreen(this, decodeURIComponent(path.slice(BASE.length + 6)));
    const home = this.live.me.discoverable ? `${BASE}/discover` : `${BASE}/profile`;
    history.replaceState(null, "", home);
    return this.pick(home);
  }

  private route(): void {
    releaseTracked();
    this.screen?.dispose?.();
    const path = location.pathname.replace(/\/+$/, "") || BASE;
    const screen = this.pick(path);
    this.screen = screen;
    replace(this.main, screen.el);
    document.title = `${screen.title} · Delete`;
    this.nav.hidden = this.live === null;
    for (const link of this.nav.querySelectorAll("a")) {
      if (path === link.pathname || (link.pathname === `${BASE}/matches` && path.startsWith(`${BASE}/chat/`))) {
        link.setAttribute("aria-current", "page");
      } else {
        link.removeAttribute("aria-current");
      }
    }
    window.scrollTo(0, 0);
  }

  // -- chrome ---------------------------------------------------------------------------------------------

  private showState(state: ClientState | "signed-out"): void {
    this.conn.dataset["state"] = state;
    byId("conn-text").textContent = STATE_TEXT[state];
  }

  private updateBadges(): void {
    const live = this.live;
    const likes = live?.likes.size ?? 0;
    const unread = live ? [...live.matches.values()].reduce((n, m) => n + m.unread_count, 0) : 0;
    for (const [id, count, what] of [["likes-count", likes, "new likes"], ["unread-count", unread, "unread messages"]] as const) {
      const badge = byId(id);
      badge.textContent = count > 0 ? String(count) : "";
      badge.hidden = count === 0;
      badge.setAttribute("aria-label", `${count} ${what}`);
    }
  }

  toast(text: string): void {
    const item = h("p", { class: "toast" }, text);
    this.toasts.append(item);
    setTimeout(() => item.remove(), TOAST_MS);
  }
}

void new WebApp().boot();

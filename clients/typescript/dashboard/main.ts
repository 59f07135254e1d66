// The moderators' dashboard (README "Moderator dashboard", docs/moderation.md), bundled by
// scripts/build-page.mjs into rest/static/moderation/app.js. Plain DOM and TypeScript, no framework.
//
// - Sign-in over REST (DeleteRest.login); tokens live in memory only (connection.ts).
// - One DeleteClient on /v1/ws: the report queue (reports.ts), the photo queue (photos.ts), the word list
//   (words.ts), search and account actions (search.ts) and the statistics (stats.ts) all go through it.
// - Everything from the server is rendered with textContent / text nodes, never parsed as HTML.

import { ClientError } from "../src/index.js";
import type { DeleteClient, Tokens } from "../src/index.js";
import { Connection } from "./connection.js";
import type { ConnState } from "./connection.js";
import { $, confirmOpen, dialogKeys, errorCode, message, settleConfirm, show, typing } from "./dom.js";
import { listenPhotos, photoKeys, resetPhotos, showPhotos, subscribePhotos } from "./photos.js";
import { act, listenReports, move, renderQueue, resetReports, subscribeReports } from "./reports.js";
import { resetSearch, showSearch } from "./search.js";
import { useConnection } from "./shared.js";
import { resetStats, startStats, stopStats } from "./stats.js";
import { resetWords, showWords } from "./words.js";

const CONN_TEXT: Record<ConnState, string> = {
  connecting: "Connecting…", connected: "Live", reconnecting: "Reconnecting…", offline: "Offline", signedout: "Signed out",
};
const VIEWS = ["reports", "photos", "words", "search"] as const;
type View = (typeof VIEWS)[number];
let view: View = "reports";

function setConn(name: ConnState, detail?: string): void {
  $("conn").dataset["state"] = name;
  $("conn-text").textContent = CONN_TEXT[name] + (detail ? ` ${detail}` : "");
}

const connection = new Connection({
  state: setConn,
  listen(client: DeleteClient): void {
    listenReports(client);
    listenPhotos(client);
  },
  open(): void {
    subscribeReports().catch((error: unknown) => {
      if (errorCode(error) === "forbidden") {
        connection.signOut(true);
        signedOut("This account is not a moderator.");
      }
    });
    void subscribePhotos();
    startStats();
    if (view === "words") void showWords();
  },
  ended: (text) => signedOut(text),
});
useConnection(connection);

// -- views ------------------------------------------------------------------------------------------------

function showView(next: View): void {
  view = next;
  for (const name of VIEWS) {
    show($(`${name}-view`), name === next);
    const tab = $(`tab-${name}`);
    tab.setAttribute("aria-selected", name === next ? "true" : "false");
    tab.tabIndex = name === next ? 0 : -1;
  }
  if (next === "reports") $("queue").focus();
  else if (next === "photos") showPhotos();
  else if (next === "words") void showWords();
  else showSearch();
}

function showDashboard(): void {
  $("me-name").textContent = connection.user?.display_name ?? "";
  show($("signin-view"), false);
  show($("dashboard-view"), true);
  show($("whoami"), true);
  showView("reports");
}

function resetDashboard(): void {
  resetReports();
  resetPhotos();
  resetWords();
  resetSearch();
  resetStats();
}

function signedOut(text: string): void {
  stopStats();
  for (const dialog of document.querySelectorAll<HTMLDialogElement>("dialog[open]")) dialog.close();
  settleConfirm(false);
  resetDashboard();
  setConn("signedout");
  show($("dashboard-view"), false);
  show($("whoami"), false);
  show($("signin-view"), true);
  message("signin-message", text);
  $<HTMLInputElement>("password").value = "";
  $("email").focus();
}

// -- sign-in ------------------------------------------------------------------------------------------------

function loginError(error: unknown): string {
  if (!(error instanceof ClientError)) return "Cannot reach the server. Check your connection and try again.";
  if (error.status === 401) return "Wrong email or password.";
  if (error.status === 429) {
    const after = error.retryAfter ?? 0;
    return `Too many attempts. Try again${after ? ` in ${Math.ceil(after / 60)} min` : " later"}.`;
  }
  if (error.code === "account_suspended") return "This account is suspended or banned.";
  if (error.status === 422 || error.status === 400) return "Enter your email and your password (at least 8 characters).";
  return error.message || `Sign-in failed (HTTP ${error.status ?? "?"}).`;
}

async function onSignIn(event: Event): Promise<void> {
  event.preventDefault();
  const email = $<HTMLInputElement>("email").value.trim();
  const password = $<HTMLInputElement>("password").value;
  if (!email || !password) {
    message("signin-message", "Enter your email and your password.");
    return;
  }
  const submit = $<HTMLButtonElement>("signin-submit");
  submit.disabled = true;
  message("signin-message", "");
  try {
    let tokens: Tokens;
    try {
      tokens = await connection.login(email, password);
    } catch (error) {
      message("signin-message", loginError(error));
      return;
    }
    if (tokens.user?.role !== "moderator") {
      void connection.rest.logout(tokens.refresh_token).catch(() => undefined);
      message("signin-message", "This account is not a moderator. Ask an administrator to promote it.");
      return;
    }
    $<HTMLInputElement>("password").value = "";
    resetDashboard();
    connection.start(tokens);
    showDashboard();
  } finally {
    submit.disabled = false;
  }
}

// -- keyboard -------------------------------------------------------------------------------------------------

function toggleHelp(): void {
  const help = $<HTMLDialogElement>("help-dialog");
  if (help.open) help.close(); else help.showModal();
}

const REPORT_ACTIONS: Record<string, "dismiss" | "warn" | "suspend" | "ban"> = { d: "dismiss", w: "warn", s: "suspend", b: "ban" };

function reportKeys(key: string): boolean {
  switch (key) {
    case "j": case "ArrowDown": move(1); return true;
    case "k": case "ArrowUp": move(-1); return true;
    case "d": case "w": case "s": case "b": void act(REPORT_ACTIONS[key] ?? "dismiss"); return true;
    case "n": $("note").focus(); return true;
    default: return false;
  }
}

function onKey(event: KeyboardEvent): void {
  if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
  if (confirmOpen()) { dialogKeys(event); return; }
  if ($<HTMLDialogElement>("help-dialog").open) {
    if (event.key === "?") { event.preventDefault(); toggleHelp(); }
    return; // the dialog closes itself on Escape
  }
  if ($<HTMLDialogElement>("reject-dialog").open) return; // photos.ts handles its own keys
  if ($("dashboard-view").hidden) return;
  if (typing(event.target)) {
    if (event.key === "Escape") (event.target as HTMLElement).blur(); // then the shortcuts work again
    return;
  }
  let handled = false;
  if (event.key === "?") { toggleHelp(); handled = true; }
  else if (view === "reports") handled = reportKeys(event.key);
  else if (view === "photos") handled = photoKeys(event.key);
  if (handled) event.preventDefault();
}

// -- wiring ---------------------------------------------------------------------------------------------------

function start(): void {
  $("signin-form").addEventListener("submit", (event) => void onSignIn(event));
  $("sign-out").addEventListener("click", () => {
    connection.signOut(true);
    signedOut("Signed out.");
  });
  $("help-button").addEventListener("click", toggleHelp);
  $("help-close").addEventListener("click", () => $<HTMLDialogElement>("help-dialog").close());
  $("confirm-ok").addEventListener("click", () => settleConfirm(true));
  $("confirm-cancel").addEventListener("click", () => settleConfirm(false));
  $("confirm-dialog").addEventListener("cancel", (event) => { event.preventDefault(); settleConfirm(false); });
  for (const button of document.querySelectorAll<HTMLButtonElement>("button.act")) {
    const action = REPORT_ACTIONS[button.getAttribute("aria-keyshortcuts") ?? ""];
    if (action) button.addEventListener("click", () => void act(action));
  }
  for (const name of VIEWS) $(`tab-${name}`).addEventListener("click", () => showView(name));
  document.addEventListener("keydown", onKey);
  window.addEventListener("online", () => connection.retryNow());
  // the tokens die with the page anyway: revoke the login so nothing usable is left behind
  window.addEventListener("pagehide", (event) => { if (!event.persisted) connection.revokeNow(); });
  setInterval(() => { if (connection.signedIn) renderQueue(); }, 30000); // keep "n min ago" honest
  setConn("signedout");
  $("email").focus();
}

start();

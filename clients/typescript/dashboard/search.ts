// Finding an account (moderation.search: email prefix, display name prefix or id), its dossier
// (moderation.user) and acting on it outside any report (moderation.act: warn, suspend, ban, reinstate).

import type { DossierReply, FoundUser } from "../src/index.js";
import { $, confirmDialog, el, errorText, message, plural, show, timeEl, toast } from "./dom.js";
import { historyParts, statusBadge, statusText, userMeta } from "./reports.js";
import { call, PAST } from "./shared.js";

type ActAction = "warn" | "suspend" | "ban" | "reinstate";

const state = {
  results: [] as FoundUser[],
  userId: null as string | null,
  dossier: null as DossierReply | null,
  token: 0,
  busy: false,
};

export function showSearch(): void {
  $("search-query").focus();
}

async function search(event: Event): Promise<void> {
  event.preventDefault();
  const query = $<HTMLInputElement>("search-query").value.trim();
  if (!query) {
    message("search-message", "Type an email, a name or an account id.");
    return;
  }
  try {
    state.results = (await call("moderation.search", { query })).users;
  } catch (error) {
    message("search-message", errorText(error));
    return;
  }
  message("search-message", state.results.length ? "" : "No account matches.");
  renderResults();
}

function renderResults(): void {
  $("search-results").replaceChildren(...state.results.map((user) => {
    const selected = user.id === state.userId;
    return el("li", { class: `item${selected ? " selected" : ""}`, dataset: { userId: user.id } },
      el("button", { type: "button", class: "result", "aria-pressed": selected ? "true" : "false",
        onclick: () => void open(user.id) },
      el("span", { class: "item-top" },
        el("span", { class: "item-name", text: user.display_name }), statusBadge(user.status),
        user.role === "moderator" ? el("span", { class: "badge", text: "moderator" }) : null),
      el("span", { class: "result-email", text: user.email }),
      el("span", { class: "muted" }, `${plural(user.reports_received, "report", "reports")} · joined `,
        timeEl(user.created_at))));
  }));
}

async function open(userId: string): Promise<void> {
  state.userId = userId;
  const token = ++state.token;
  renderResults();
  message("act-message", "");
  show($("account-empty"), false);
  $("account-status-line").textContent = "Loading the account…";
  try {
    const dossier = await call("moderation.user", { user_id: userId });
    if (token !== state.token) return;
    state.dossier = dossier;
    $("account-status-line").textContent = "";
  } catch (error) {
    if (token !== state.token) return;
    $("account-status-line").textContent = `Could not load the account: ${errorText(error)}`;
    return;
  }
  renderAccount();
}

function renderAccount(): void {
  const dossier = state.dossier;
  show($("account-body"), Boolean(dossier));
  show($("account-empty"), !dossier);
  if (!dossier) return;
  const user = dossier.user;
  $("account-title").textContent = user.display_name;
  $("account-meta").replaceChildren(...userMeta(user).filter((c): c is Node | string => Boolean(c)));
  const status = $("account-status");
  status.className = `badge ${user.status}`;
  status.textContent = statusText(user);
  $("account-history").replaceChildren(...historyParts(dossier));
  syncActForm();
}

function syncActForm(): void {
  const action = $<HTMLSelectElement>("act-action").value;
  show($("act-days-group"), action === "suspend");
  $<HTMLButtonElement>("act-submit").disabled = state.busy || !state.dossier;
}

function actDays(): number | null {
  const days = Number($<HTMLInputElement>("act-days").value);
  if (!Number.isInteger(days) || days < 1 || days > 3650) {
    message("act-message", "Suspend for 1 to 3650 days.");
    $("act-days").focus();
    return null;
  }
  return days;
}

async function act(event: Event): Promise<void> {
  event.preventDefault();
  const dossier = state.dossier;
  if (!dossier || state.busy) return;
  const action = $<HTMLSelectElement>("act-action").value as ActAction;
  const note = $<HTMLTextAreaElement>("act-note").value.trim();
  if (!note) {
    message("act-message", "Write a note first: it goes to the audit log (the user never sees it).");
    $("act-note").focus();
    return;
  }
  const data: { user_id: string; action: ActAction; note: string; days?: number } = { user_id: dossier.user.id, action, note };
  if (action === "suspend") {
    const days = actDays();
    if (days === null) return;
    data.days = days;
  }
  const name = dossier.user.display_name;
  if (action === "ban" && !await confirmDialog(`Ban ${name}?`,
    "They are signed out on every device at once and cannot sign in again.", "Ban")) return;
  state.busy = true;
  syncActForm();
  try {
    const reply = await call("moderation.act", data);
    state.results = state.results.map((u) => (u.id === reply.user.id ? { ...u, status: reply.user.status } : u));
    $<HTMLTextAreaElement>("act-note").value = "";
    message("act-message", "");
    toast(`${name}: ${PAST[action] ?? action}.`);
  } catch (error) {
    message("act-message", errorText(error));
    return;
  } finally {
    state.busy = false;
    syncActForm();
  }
  renderResults();
  await open(dossier.user.id);
}

export function resetSearch(): void {
  state.results = [];
  state.userId = null;
  state.dossier = null;
  state.token++;
  $<HTMLInputElement>("search-query").value = "";
  $<HTMLTextAreaElement>("act-note").value = "";
  $("account-status-line").textContent = "";
  message("search-message", "");
  message("act-message", "");
  renderResults();
  renderAccount();
}

$("search-form").addEventListener("submit", (event) => void search(event));
$("act-form").addEventListener("submit", (event) => void act(event));
$("act-action").addEventListener("change", syncActForm);

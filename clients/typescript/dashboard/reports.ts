// The report queue (moderation.subscribe: snapshot, then live moderation.report / moderation.resolved), the
// selected report's account (moderation.user) and the decisions (moderation.resolve, remove_photo/prompt).

import type { DeleteClient, DossierReply, QueueEntry } from "../src/index.js";
import { $, confirmDialog, el, errorCode, errorText, message, plural, safeUrl, shortId, show, timeEl, toast } from "./dom.js";
import type { Child } from "./dom.js";
import { call, myId, PAST, REASONS, statsStale, who } from "./shared.js";

const RESOLVED_LOG_SIZE = 12;

type Action = "dismiss" | "warn" | "suspend" | "ban";
interface ResolvedLine { entry: QueueEntry; action: string | null; who: string; at: Date }
interface Live { reports: Map<string, QueueEntry>; resolved: Set<string> }

const state = {
  subscribing: null as Live | null,     // live events seen while a snapshot is on its way
  queue: new Map<string, QueueEntry>(), // report id -> queue entry
  beyond: { open: 0, users: 0 },        // what the snapshot counted but did not list (it holds at most 500)
  selectedId: null as string | null,
  selectedEntry: null as QueueEntry | null, // kept after the report leaves the queue, so the pane can say what happened
  resolvedBy: null as { action: string | null; who: string | null } | null,
  dossier: null as DossierReply | null,
  dossierToken: 0,
  dossierTimer: 0,
  busy: false,
  resolvedLog: [] as ResolvedLine[],
};

// -- live events ------------------------------------------------------------------------------------------

export function listenReports(client: DeleteClient): void {
  client.on("moderation.report", ({ data }) => onLiveReport(data.report));
  client.on("moderation.resolved", ({ data }) => onResolved(data.report_id, data.action, data.moderator_id));
}

export async function subscribeReports(): Promise<void> {
  const live: Live = { reports: new Map(), resolved: new Set() };
  state.subscribing = live;
  let snapshot;
  try {
    snapshot = await call("moderation.subscribe");
  } catch (error) {
    if (state.subscribing === live) state.subscribing = null;
    const code = errorCode(error);
    if (code === "forbidden") throw error;
    if (code && code !== "disconnected" && code !== "offline") toast(`Could not load the queue: ${errorText(error)}`, "error");
    return;
  }
  if (state.subscribing !== live) return; // a newer connection subscribes again
  state.subscribing = null;
  const reports = Array.isArray(snapshot.reports) ? snapshot.reports : [];
  const counts = snapshot.counts ?? { open: 0, reported_users: 0 };
  state.queue = new Map(reports.map((entry) => [entry.id, entry]));
  state.beyond = {
    open: Math.max(0, (counts.open || 0) - reports.length),
    users: Math.max(0, (counts.reported_users || 0) - new Set(reports.map((e) => e.reported_id)).size),
  };
  // the feed started before the snapshot was read: replay what arrived meanwhile
  for (const entry of live.reports.values()) merge(entry);
  for (const id of live.resolved) state.queue.delete(id);
  $("queue").setAttribute("aria-busy", "false");
  renderQueue();
  if (state.selectedId && !state.queue.has(state.selectedId) && !state.resolvedBy) {
    state.resolvedBy = { action: null, who: null };
    renderDetailState();
  }
  if (!state.selectedId) {
    const first = ordered()[0];
    if (first) select(first.id);
  } else if (state.queue.has(state.selectedId)) {
    loadDossierSoon();
  }
}

// Add or update an entry; of two entries for the same reporter and person, keep the newer.
function merge(entry: QueueEntry): boolean {
  for (const [id, other] of state.queue) {
    if (id === entry.id || other.reporter_id !== entry.reporter_id || other.reported_id !== entry.reported_id) continue;
    if (Date.parse(other.created_at) > Date.parse(entry.created_at)) return false;
    state.queue.delete(id);
    if (state.selectedId === id) { state.selectedId = entry.id; state.selectedEntry = entry; }
  }
  state.queue.set(entry.id, entry);
  if (state.selectedId === entry.id) state.selectedEntry = entry;
  return true;
}

function onLiveReport(entry: QueueEntry | undefined): void {
  if (!entry || typeof entry.id !== "string") return;
  if (state.subscribing) state.subscribing.reports.set(entry.id, entry);
  statsStale();
  if (!merge(entry)) return;
  // the newest report carries the freshest facts about the person: show them on their other entries too
  for (const other of state.queue.values()) {
    if (other === entry || other.reported_id !== entry.reported_id) continue;
    if (entry.reported) other.reported = { ...entry.reported };
    if (entry.signals && other.signals) {
      other.signals = { ...other.signals, distinct_reporters_7d: entry.signals.distinct_reporters_7d };
    }
  }
  renderQueue();
  const name = entry.reported?.display_name;
  document.getElementById(`report-${entry.id}`)?.classList.add("fresh");
  if (!state.selectedId) select(entry.id);
  if (name) toast(`New report: ${name} (${REASONS[entry.reason] ?? entry.reason})`);
}

function onResolved(reportId: string, action: string, moderatorId: string): void {
  if (state.subscribing) state.subscribing.resolved.add(reportId);
  statsStale();
  const entry = state.queue.get(reportId);
  if (!entry) return; // not ours to show (or already removed after our own decision)
  removeResolved(entry, action, moderatorId);
  renderQueue();
}

function removeResolved(entry: QueueEntry, action: string | null, moderatorId: string | null | undefined): void {
  state.queue.delete(entry.id);
  state.resolvedLog.unshift({ entry, action, who: who(moderatorId), at: new Date() });
  state.resolvedLog.length = Math.min(state.resolvedLog.length, RESOLVED_LOG_SIZE);
  renderResolvedLog();
  if (state.selectedId === entry.id) {
    state.resolvedBy = { action, who: who(moderatorId) };
    renderDetailState();
  }
}

function ordered(): QueueEntry[] {
  return [...state.queue.values()].sort((a, b) => (Date.parse(b.created_at) - Date.parse(a.created_at))
    || (a.id < b.id ? -1 : 1));
}

// -- rendering the queue ----------------------------------------------------------------------------------

function renderCounts(): void {
  const open = state.queue.size + state.beyond.open;
  const users = new Set([...state.queue.values()].map((e) => e.reported_id)).size + state.beyond.users;
  $("counts").textContent = `${plural(open, "open report", "open reports")} · ${plural(users, "person", "people")}`;
}

function chip(text: string, title: string, level: string): HTMLLIElement {
  return el("li", { class: `chip ${level}`, title, text });
}

function signalChips(signals: QueueEntry["signals"] | undefined): HTMLLIElement[] {
  if (!signals) return [];
  const reporters = signals.distinct_reporters_7d;
  const age = signals.reporter_account_age_days;
  const made = signals.reporter_reports_made ?? 0;
  const dismissed = signals.reporter_reports_dismissed ?? 0;
  return [
    chip(`${reporters} in 7 d`, "distinct people who reported this person in the last 7 days", reporters >= 3 ? "hot" : ""),
    chip(`reporter ${age ?? "?"} d old`, "age of the reporter's account in days",
      age !== null && age !== undefined && age < 2 ? "caution" : ""),
    chip(`made ${made} · ${dismissed} dismissed`,
      "people the reporter has reported, and how many of those reports moderators dismissed",
      dismissed >= 2 && dismissed * 2 >= made ? "caution" : ""),
  ];
}

export function statusBadge(status: string | null | undefined): HTMLSpanElement | null {
  if (!status || status === "active") return null;
  return el("span", { class: `badge ${status}`, text: status });
}

export function renderQueue(): void {
  const list = $("queue");
  const entries = ordered();
  list.replaceChildren(...entries.map((entry) => {
    const reported = entry.reported;
    const name = reported?.display_name || `user ${shortId(entry.reported_id)}`;
    const selected = entry.id === state.selectedId;
    return el("li", {
      class: `item${selected ? " selected" : ""}`, role: "option", "aria-selected": selected ? "true" : "false",
      id: `report-${entry.id}`, dataset: { reportId: entry.id }, onclick: () => select(entry.id),
    },
    el("div", { class: "item-top" },
      el("span", { class: "item-name", text: name }),
      statusBadge(reported?.status),
      el("span", { class: `reason reason-${entry.reason}`, text: REASONS[entry.reason] ?? entry.reason }),
      timeEl(entry.created_at)),
    entry.details ? el("p", { class: "item-details", text: entry.details }) : null,
    el("ul", { class: "chips", "aria-label": "Triage signals" }, ...signalChips(entry.signals)));
  }));
  if (state.selectedId && state.queue.has(state.selectedId)) list.setAttribute("aria-activedescendant", `report-${state.selectedId}`);
  else list.removeAttribute("aria-activedescendant");
  show($("queue-empty"), entries.length === 0 && list.getAttribute("aria-busy") === "false");
  renderCounts();
}

function renderResolvedLog(): void {
  $("resolved-log").replaceChildren(...state.resolvedLog.map((item) => {
    const name = item.entry.reported?.display_name || `user ${shortId(item.entry.reported_id)}`;
    const verb = item.action ? PAST[item.action] ?? item.action : "resolved";
    return el("li", { dataset: { reportId: item.entry.id, action: item.action ?? "" } },
      el("span", { class: "item-name", text: name }), " ",
      el("span", { class: `outcome ${item.action ?? ""}`, text: verb }),
      ` by ${item.who} · `,
      el("time", { datetime: item.at.toISOString(), text: item.at.toLocaleTimeString() }));
  }));
}

// -- selection and the detail pane ------------------------------------------------------------------------

function select(id: string): void {
  const entry = state.queue.get(id);
  if (!entry) return;
  const sameUser = state.selectedEntry?.reported_id === entry.reported_id;
  state.selectedId = id;
  state.selectedEntry = entry;
  state.resolvedBy = null;
  message("action-message", "");
  renderQueue();
  document.getElementById(`report-${id}`)?.scrollIntoView({ block: "nearest" });
  renderDetail();
  if (!sameUser) {
    state.dossierToken++; // a load still under way for the previous person must not land on this one
    state.dossier = null;
    renderDossier();
  }
  loadDossierSoon();
}

export function move(step: number): void {
  const entries = ordered();
  if (!entries.length) return;
  let index = entries.findIndex((e) => e.id === state.selectedId);
  if (index < 0) index = step > 0 ? -1 : entries.length;
  const next = entries[Math.min(entries.length - 1, Math.max(0, index + step))];
  if (next) select(next.id);
}

function renderDetail(): void {
  const entry = state.selectedEntry;
  show($("detail-empty"), !entry);
  show($("detail-body"), Boolean(entry));
  if (!entry) return;
  $("detail-title").textContent = entry.reported?.display_name || `user ${shortId(entry.reported_id)}`;
  $("report-facts").replaceChildren(
    el("span", { class: `reason reason-${entry.reason}`, text: REASONS[entry.reason] ?? entry.reason }),
    el("span", { class: "muted" }, "reported ", timeEl(entry.created_at),
      entry.reporter_id ? ` by user ${shortId(entry.reporter_id)}` : " by the word filter"));
  const details = $("report-details");
  details.textContent = entry.details || "No details given.";
  details.classList.toggle("muted", !entry.details);
  $("report-signals").replaceChildren(...signalChips(entry.signals));
  renderDetailState();
}

function renderDetailState(): void {
  const resolved = state.resolvedBy;
  const banner = $("detail-resolved");
  if (resolved) {
    banner.textContent = resolved.action
      ? `Resolved: ${PAST[resolved.action] ?? resolved.action} by ${resolved.who}.`
      : "This report is no longer open (resolved while you were away).";
  }
  show(banner, Boolean(resolved));
  for (const button of document.querySelectorAll<HTMLButtonElement>("button.act")) {
    button.disabled = Boolean(resolved) || state.busy;
  }
}

function loadDossierSoon(): void {
  clearTimeout(state.dossierTimer);
  state.dossierTimer = window.setTimeout(() => void loadDossier(), 120); // j-j-j loads only where you stop
}

function isSelectedUser(userId: string): boolean {
  return state.selectedEntry?.reported_id === userId;
}

async function loadDossier(): Promise<void> {
  const entry = state.selectedEntry;
  if (!entry) return;
  const token = ++state.dossierToken;
  if (!state.dossier) $("dossier-status").textContent = "Loading the account…";
  try {
    const dossier = await call("moderation.user", { user_id: entry.reported_id });
    if (token !== state.dossierToken || !isSelectedUser(entry.reported_id)) return;
    state.dossier = dossier;
    $("dossier-status").textContent = "";
  } catch (error) {
    if (token !== state.dossierToken) return;
    $("dossier-status").textContent = `Could not load the account: ${errorText(error)}`;
    return;
  }
  renderDossier();
}

/** "29 · man · email · born …", then joined and active times. */
export function userMeta(user: DossierReply["user"]): Child[] {
  const u = user as DossierReply["user"] & Record<string, unknown>;
  return [[u["age"], u["gender"], u["email"], u["birthdate"] && `born ${String(u["birthdate"])}`]
    .filter(Boolean).map(String).join(" · "),
  " · joined ", timeEl(user.created_at), " · active ", timeEl(u["last_active_at"] as string | undefined)];
}

export function statusText(user: { status?: string; suspended_until?: string | null }): string {
  return user.status === "suspended" && user.suspended_until
    ? `suspended until ${new Date(user.suspended_until).toLocaleDateString()}` : (user.status ?? "");
}

function renderDossier(): void {
  const dossier = state.dossier;
  show($("dossier"), Boolean(dossier));
  const status = $("detail-status");
  if (!dossier) {
    $("detail-meta").textContent = "";
    status.replaceChildren();
    show(status, false);
    return;
  }
  const user = dossier.user;
  $("detail-title").textContent = user.display_name || $("detail-title").textContent;
  $("detail-meta").replaceChildren(...userMeta(user).filter((c): c is Node | string => Boolean(c)));
  status.className = `badge ${user.status || ""}`;
  status.textContent = statusText(user);
  show(status, Boolean(user.status));
  const bio = $("detail-bio");
  bio.textContent = user.bio || "No bio.";
  bio.classList.toggle("muted", !user.bio);

  const photos = Array.isArray(dossier.photos) ? dossier.photos : [];
  $("photos-title").textContent = `Photos (${photos.length})`;
  $("photos").replaceChildren(...(photos.length ? photos.map((photo, index) => {
    const img = el("img", {
      src: safeUrl(photo.thumb_url || photo.url), alt: `Photo ${index + 1} of ${user.display_name || "this user"}`,
      width: 160, height: 200, loading: "lazy", decoding: "async",
    });
    img.addEventListener("error", () => img.classList.add("broken"));
    return el("li", { class: "photo" },
      el("a", { href: safeUrl(photo.url), target: "_blank", rel: "noopener noreferrer", title: "Open full size" }, img),
      el("button", { type: "button", class: "ghost small", onclick: () => removePhoto(photo.id, index) }, "Remove"));
  }) : [el("li", { class: "muted", text: "No photos." })]));

  const prompts = Array.isArray(dossier.prompts) ? dossier.prompts : [];
  $("prompts-title").textContent = `Prompts (${prompts.length})`;
  $("prompts").replaceChildren(...(prompts.length ? prompts.map((prompt) => el("li", { class: "prompt" },
    el("div", {},
      el("p", { class: "prompt-q", text: (prompt as { text?: string }).text || prompt.prompt_id }),
      el("p", { class: "prompt-a", text: prompt.answer })),
    el("button", { type: "button", class: "ghost small", onclick: () => removePrompt(prompt.prompt_id, prompt.answer) },
      "Remove")))
    : [el("li", { class: "muted", text: "No prompts answered." })]));

  $("history").replaceChildren(...historyParts(dossier));
}

function historyList<T>(title: string, total: number, items: T[], line: (item: T) => Child[]): HTMLElement {
  const list = items.length ? el("ul", {}, ...items.map((item) => el("li", {}, ...line(item))))
    : el("p", { class: "muted", text: "None." });
  return el("section", { class: "history-part" }, el("h4", { text: `${title} (${total})` }), list);
}

type ReportView = DossierReply["reports_made"][number];

function reportLine(item: ReportView, other: string | null, otherLabel: string): Child[] {
  const outcome = item.status === "open" ? "open" : PAST[item.resolution ?? ""] ?? item.resolution ?? "resolved";
  return [el("span", { class: `reason reason-${item.reason}`, text: REASONS[item.reason] ?? item.reason }), " ",
    el("span", { class: `outcome ${item.resolution ?? "open"}`, text: outcome }),
    ` · ${otherLabel} ${shortId(other)} · `, timeEl(item.created_at),
    item.details ? el("span", { class: "history-text", text: ` — ${item.details}` }) : null];
}

/** The account's history: reports received and made, blocks, moderation actions (also used by search). */
export function historyParts(dossier: DossierReply): HTMLElement[] {
  const counts = dossier.counts;
  const received = dossier.reports_received ?? [];
  const made = dossier.reports_made ?? [];
  const blocks = dossier.blocks_received ?? [];
  const actions = dossier.actions ?? [];
  return [
    historyList("Reports received", counts?.reports_received ?? received.length, received,
      (r) => reportLine(r, r.reporter_id, "by")),
    historyList("Reports made", counts?.reports_made ?? made.length, made, (r) => reportLine(r, r.reported_id, "about")),
    historyList("Blocked by", counts?.blocks_received ?? blocks.length, blocks,
      (b) => [`user ${shortId(b.blocker_id)} · `, timeEl(b.created_at)]),
    historyList("Moderation actions", counts?.actions ?? actions.length, actions,
      (a) => [el("span", { class: `outcome ${a.action}`, text: PAST[a.action] ?? a.action }),
        a.days ? ` for ${plural(a.days, "day", "days")}` : "", ` by ${who(a.moderator_id)} · `, timeEl(a.created_at),
        el("span", { class: "history-text", text: ` — ${a.note}` })]),
  ];
}

// -- decisions ----------------------------------------------------------------------------------------------

function note(): string | null {
  const text = $<HTMLTextAreaElement>("note").value.trim();
  if (!text) {
    message("action-message", "Write a note first: it goes to the audit log (the user never sees it).");
    $("note").focus();
    return null;
  }
  return text;
}

// the name of the person a decision is about: never a previously shown person's
function displayName(): string {
  const entry = state.selectedEntry;
  const user = state.dossier?.user;
  return (user && isSelectedUser(user.id) && user.display_name) || entry?.reported?.display_name || "this user";
}

function suspendDays(): number | null {
  const days = Number($<HTMLInputElement>("days").value);
  if (!Number.isInteger(days) || days < 1 || days > 3650) {
    message("action-message", "Suspend for 1 to 3650 days.");
    $("days").focus();
    return null;
  }
  return days;
}

export async function act(action: Action): Promise<void> {
  const entry = state.selectedEntry;
  if (!entry || state.busy) return;
  if (state.resolvedBy || !state.queue.has(entry.id)) {
    message("action-message", "This report is already resolved.");
    return;
  }
  const text = note();
  if (!text) return;
  const data: { report_id: string; action: Action; note: string; days?: number } = { report_id: entry.id, action, note: text };
  if (action === "suspend") {
    const days = suspendDays();
    if (days === null) return;
    data.days = days;
  }
  if (action === "ban" && !await confirmDialog(`Ban ${displayName()}?`,
    "They are signed out on every device at once and cannot sign in again. Their other open reports stay in the queue.",
    "Ban")) return;
  const next = neighbour(entry.id); // decided now: our own moderation.resolved may arrive before the reply
  await busy(() => resolve(entry, data, next));
}

async function resolve(entry: QueueEntry, data: Parameters<typeof call<"moderation.resolve">>[1],
                       next: string | null): Promise<void> {
  let reply;
  try {
    reply = await call("moderation.resolve", data);
  } catch (error) {
    if (errorCode(error) === "conflict") {
      const details = (error as { details?: Record<string, unknown> | null }).details ?? {};
      const by = typeof details["resolved_by"] === "string" ? details["resolved_by"] : null;
      removeResolved(entry, typeof details["resolution"] === "string" ? details["resolution"] : null, by);
      renderQueue();
      message("action-message", `Already resolved by ${by ? who(by) : "someone else"}.`);
    } else {
      message("action-message", errorText(error));
    }
    return;
  }
  const ids = Array.isArray(reply.resolved_report_ids) ? reply.resolved_report_ids : [entry.id];
  for (const id of ids) {
    const resolved = state.queue.get(id);
    if (resolved) removeResolved(resolved, data.action, myId());
  }
  for (const other of state.queue.values()) {
    if (reply.user && other.reported_id === reply.user.id && other.reported) {
      other.reported = { ...other.reported, status: reply.user.status, suspended_until: reply.user.suspended_until };
    }
  }
  $<HTMLTextAreaElement>("note").value = "";
  toast(`${displayName()}: ${PAST[data.action]}.`);
  renderQueue();
  const then = next && state.queue.has(next) ? next : ordered()[0]?.id;
  if (then) select(then);
}

// the entry to show after `id` leaves the queue: the one below it, else the one above
function neighbour(id: string): string | null {
  const entries = ordered();
  const index = entries.findIndex((e) => e.id === id);
  const after = entries.slice(index + 1).find((e) => e.id !== id);
  const before = entries.slice(0, Math.max(0, index)).reverse()[0];
  return (after ?? before)?.id ?? null;
}

async function busy(work: () => Promise<void>): Promise<void> {
  state.busy = true;
  renderDetailState();
  try { await work(); } finally { state.busy = false; renderDetailState(); }
}

async function removeContent(command: "moderation.remove_photo" | "moderation.remove_prompt",
                             extra: { photo_id: string } | { prompt_id: string }, title: string, text: string): Promise<void> {
  const entry = state.selectedEntry;
  if (!entry || state.busy) return;
  const noteText = note();
  if (!noteText) return;
  if (!await confirmDialog(title, text, "Remove")) return;
  await busy(async () => {
    try {
      const data = { user_id: entry.reported_id, note: noteText, report_id: entry.id, ...extra };
      if (command === "moderation.remove_photo") await call(command, data as Parameters<typeof call<"moderation.remove_photo">>[1]);
      else await call(command, data as Parameters<typeof call<"moderation.remove_prompt">>[1]);
    } catch (error) {
      message("action-message", errorText(error));
      return;
    }
    toast("Removed. The report stays open until you decide.");
    await loadDossier();
  });
}

function removePhoto(photoId: string, index: number): void {
  void removeContent("moderation.remove_photo", { photo_id: photoId }, `Remove photo ${index + 1}?`,
    `The photo is deleted from ${displayName()}'s profile. This cannot be undone.`);
}

function removePrompt(promptId: string, answer: string): void {
  void removeContent("moderation.remove_prompt", { prompt_id: promptId }, "Remove this prompt answer?",
    `"${answer}" is removed from ${displayName()}'s profile (the audit log keeps the text).`);
}

// -- reset ----------------------------------------------------------------------------------------------------

export function resetReports(): void {
  clearTimeout(state.dossierTimer);
  state.queue = new Map();
  state.beyond = { open: 0, users: 0 };
  state.selectedId = null;
  state.selectedEntry = null;
  state.resolvedBy = null;
  state.dossier = null;
  state.resolvedLog = [];
  state.subscribing = null;
  $("queue").setAttribute("aria-busy", "true");
  $<HTMLTextAreaElement>("note").value = "";
  renderQueue();
  renderResolvedLog();
  renderDetail();
  renderDossier();
}

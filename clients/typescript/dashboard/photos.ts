// The photo queue (moderation.photos.subscribe, live moderation.photo / moderation.photo_reviewed) as a grid
// reviewed from the keyboard: arrows move, `a` approves, `r` rejects with a reason from a closed list; after a
// decision the next photo is selected. A photo another moderator decided leaves the grid at once.

import type { DeleteClient, PhotoForReview, PhotoReviewIn } from "../src/index.js";
import { $, el, errorCode, errorText, message, plural, safeUrl, show, timeEl, toast } from "./dom.js";
import { call, statsStale, who } from "./shared.js";

const LIMIT = 60;
type Reason = NonNullable<PhotoReviewIn["reason"]>;
export const REJECT_REASONS: [Reason, string][] = [
  ["nudity", "Nudity"], ["violence", "Violence"], ["not_a_person", "Not a person"],
  ["someone_else", "Someone else's photo"], ["text_or_contact", "Text or contact details"], ["other", "Other"],
];

const state = {
  photos: new Map<string, PhotoForReview>(),
  decided: new Set<string>(), // reviewed photos (by anyone): a late live event must not bring them back
  order: "newest" as "newest" | "oldest",
  pending: 0,
  selectedId: null as string | null,
  busy: false,
  loaded: false,
  subscribing: null as { added: PhotoForReview[]; reviewed: Set<string> } | null,
};

export function listenPhotos(client: DeleteClient): void {
  client.on("moderation.photo", ({ data }) => onPhoto(data.photo));
  client.on("moderation.photo_reviewed", ({ data }) => onReviewed(data.photo_id, data.decision, data.moderator_id));
}

export async function subscribePhotos(): Promise<void> {
  const live = { added: [] as PhotoForReview[], reviewed: new Set<string>() };
  state.subscribing = live;
  let snapshot;
  try {
    snapshot = await call("moderation.photos.subscribe", { order: state.order, limit: LIMIT });
  } catch (error) {
    if (state.subscribing === live) state.subscribing = null;
    if (errorCode(error) && errorCode(error) !== "forbidden") toast(`Could not load the photos: ${errorText(error)}`, "error");
    return;
  }
  if (state.subscribing !== live) return;
  state.subscribing = null;
  state.photos = new Map(snapshot.photos.map((photo) => [photo.id, photo]));
  state.pending = snapshot.counts.pending;
  for (const photo of live.added) if (!state.decided.has(photo.id)) state.photos.set(photo.id, photo);
  for (const id of live.reviewed) state.photos.delete(id);
  state.loaded = true;
  $("photo-grid").setAttribute("aria-busy", "false");
  if (!state.selectedId || !state.photos.has(state.selectedId)) state.selectedId = ordered()[0]?.id ?? null;
  render();
}

function onPhoto(photo: PhotoForReview | undefined): void {
  if (!photo || state.decided.has(photo.id)) return;
  state.subscribing?.added.push(photo);
  statsStale();
  if (state.photos.has(photo.id)) return;
  state.photos.set(photo.id, photo);
  state.pending++;
  state.selectedId ??= photo.id;
  render();
  document.getElementById(`photo-${photo.id}`)?.classList.add("fresh");
}

function onReviewed(photoId: string, decision: string, moderatorId: string): void {
  state.subscribing?.reviewed.add(photoId);
  statsStale();
  if (state.decided.has(photoId)) return;
  forget(photoId, neighbour(photoId));
  if (moderatorId !== null && who(moderatorId) !== "you") {
    $("photo-log").textContent = `A photo was ${decision === "approve" ? "approved" : "rejected"} by ${who(moderatorId)}.`;
  }
}

/** A photo was decided: drop it, count it once, and move the selection to `next` if it was selected. */
function forget(photoId: string, next: string | null): void {
  if (!state.decided.has(photoId)) {
    state.decided.add(photoId);
    state.pending = Math.max(0, state.pending - 1);
  }
  const wasSelected = state.selectedId === photoId;
  state.photos.delete(photoId);
  if (wasSelected) state.selectedId = next && state.photos.has(next) ? next : ordered()[0]?.id ?? null;
  render();
  if (wasSelected) focusSelected();
}

function ordered(): PhotoForReview[] {
  const sign = state.order === "newest" ? -1 : 1;
  return [...state.photos.values()].sort((a, b) => sign * (Date.parse(a.created_at) - Date.parse(b.created_at))
    || (a.id < b.id ? -1 : 1));
}

function neighbour(id: string): string | null {
  const photos = ordered();
  const index = photos.findIndex((p) => p.id === id);
  if (index < 0) return state.selectedId;
  return (photos[index + 1] ?? photos[index - 1])?.id ?? null;
}

// -- rendering ------------------------------------------------------------------------------------------

function render(): void {
  const photos = ordered();
  const grid = $("photo-grid");
  grid.replaceChildren(...photos.map((photo) => {
    const selected = photo.id === state.selectedId;
    const img = el("img", { src: safeUrl(photo.thumb_url || photo.url), alt: `Photo by ${photo.display_name}`,
      width: 150, height: 190, decoding: "async" });
    img.addEventListener("error", () => img.classList.add("broken"));
    return el("li", {
      id: `photo-${photo.id}`, class: `tile${selected ? " selected" : ""}`, role: "option",
      "aria-selected": selected ? "true" : "false", dataset: { photoId: photo.id, userId: photo.user_id },
      onclick: () => select(photo.id),
    }, img, el("span", { class: "tile-name", text: photo.display_name }), timeEl(photo.created_at));
  }));
  if (state.selectedId) grid.setAttribute("aria-activedescendant", `photo-${state.selectedId}`);
  else grid.removeAttribute("aria-activedescendant");
  show($("photos-empty"), state.loaded && photos.length === 0);
  const more = state.pending - photos.length;
  $("photos-pending").textContent = `${plural(state.pending, "photo", "photos")} waiting${more > 0 ? ` (${more} not shown)` : ""}`;
  $("photos-badge").textContent = state.pending ? String(state.pending) : "";
  for (const button of document.querySelectorAll<HTMLButtonElement>("#photos-view button.decide")) {
    button.disabled = !state.selectedId || state.busy;
  }
}

function select(id: string): void {
  if (!state.photos.has(id)) return;
  state.selectedId = id;
  message("photo-message", "");
  render();
  focusSelected();
}

function focusSelected(): void {
  if (!state.selectedId) return;
  document.getElementById(`photo-${state.selectedId}`)?.scrollIntoView({ block: "nearest" });
}

function columns(): number {
  const tiles = [...$("photo-grid").children] as HTMLElement[];
  const top = tiles[0]?.offsetTop;
  const count = tiles.filter((tile) => tile.offsetTop === top).length;
  return Math.max(1, count);
}

function move(step: number): void {
  const photos = ordered();
  if (!photos.length) return;
  const index = photos.findIndex((p) => p.id === state.selectedId);
  const next = photos[Math.min(photos.length - 1, Math.max(0, (index < 0 ? 0 : index + step)))];
  if (next) select(next.id);
}

/** The photo grid's keys (when its view is shown and no field has the focus); true when the key was used. */
export function photoKeys(key: string): boolean {
  switch (key) {
    case "ArrowRight": move(1); return true;
    case "ArrowLeft": move(-1); return true;
    case "ArrowDown": move(columns()); return true;
    case "ArrowUp": move(-columns()); return true;
    case "a": void decide("approve", null); return true;
    case "r": askReason(); return true;
    default: return false;
  }
}

// -- decisions --------------------------------------------------------------------------------------------

async function decide(decision: "approve" | "reject", reason: Reason | null): Promise<void> {
  const photo = state.selectedId ? state.photos.get(state.selectedId) : undefined;
  if (!photo || state.busy) return;
  const next = neighbour(photo.id);
  state.busy = true;
  render();
  try {
    await call("moderation.photos.review", { photo_id: photo.id, decision, ...(reason ? { reason } : {}) });
    toast(`${photo.display_name}'s photo ${decision === "approve" ? "approved" : "rejected"}.`);
    message("photo-message", "");
  } catch (error) {
    if (errorCode(error) !== "conflict") {
      message("photo-message", errorText(error));
      return;
    }
    message("photo-message", "Someone else reviewed that photo first.");
  } finally {
    state.busy = false;
    render();
  }
  forget(photo.id, next);
}

function askReason(): void {
  if (!state.selectedId || state.busy) return;
  const dialog = $<HTMLDialogElement>("reject-dialog");
  const photo = state.photos.get(state.selectedId);
  $("reject-text").textContent = `${photo?.display_name ?? "The owner"} is told the photo was removed, with this reason.`;
  dialog.showModal();
  dialog.querySelector<HTMLButtonElement>("button[data-reason]")?.focus();
}

function chooseReason(reason: Reason): void {
  $<HTMLDialogElement>("reject-dialog").close();
  void decide("reject", reason);
}

// -- wiring -------------------------------------------------------------------------------------------------

export function showPhotos(): void {
  $("photo-grid").focus();
}

export function resetPhotos(): void {
  state.photos = new Map();
  state.decided = new Set();
  state.pending = 0;
  state.selectedId = null;
  state.loaded = false;
  state.subscribing = null;
  $("photo-grid").setAttribute("aria-busy", "true");
  $("photo-log").textContent = "";
  message("photo-message", "");
  render();
}

function wire(): void {
  const list = $("reject-reasons");
  list.replaceChildren(...REJECT_REASONS.map(([reason, label], index) => el("li", {},
    el("button", { type: "button", class: "reason-choice", dataset: { reason }, "aria-keyshortcuts": String(index + 1),
      onclick: () => chooseReason(reason) }, el("kbd", { text: String(index + 1) }), ` ${label}`))));
  const dialog = $<HTMLDialogElement>("reject-dialog");
  dialog.addEventListener("keydown", (event) => {
    const choice = REJECT_REASONS[Number(event.key) - 1];
    if (choice && /^[1-9]$/.test(event.key)) {
      event.preventDefault();
      chooseReason(choice[0]);
    }
  });
  $("reject-cancel").addEventListener("click", () => dialog.close());
  dialog.addEventListener("close", () => showPhotos());
  $("photo-approve").addEventListener("click", () => void decide("approve", null));
  $("photo-reject").addEventListener("click", askReason);
  $<HTMLSelectElement>("photo-order").addEventListener("change", (event) => {
    state.order = (event.target as HTMLSelectElement).value === "oldest" ? "oldest" : "newest";
    state.selectedId = null;
    void subscribePhotos();
  });
}

wire();

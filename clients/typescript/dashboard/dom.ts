// Small DOM helpers. Everything from the server becomes text (textContent or text nodes), never markup.

export type Child = Node | string | null | undefined | false;
type Props = Record<string, unknown>;

export function $<T extends HTMLElement = HTMLElement>(id: string): T {
  const node = document.getElementById(id);
  if (node === null) throw new Error(`#${id} is missing from the page`);
  return node as T;
}

export function el<K extends keyof HTMLElementTagNameMap>(tag: K, props?: Props | null,
                                                          ...children: Child[]): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = String(value);
    else if (key === "text") node.textContent = String(value);
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on") && typeof value === "function") node.addEventListener(key.slice(2), value as EventListener);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children) {
    if (child !== null && child !== undefined && child !== false) node.append(child); // strings become text nodes
  }
  return node;
}

export function show(node: HTMLElement, visible: boolean): void {
  node.hidden = !visible;
}

export function shortId(id: unknown): string {
  return typeof id === "string" ? id.slice(0, 8) : "?";
}

export function safeUrl(value: unknown): string {
  try {
    const url = new URL(String(value), location.href);
    return url.protocol === "http:" || url.protocol === "https:" ? url.href : "";
  } catch {
    return "";
  }
}

export function when(iso: string | null | undefined): string {
  const t = Date.parse(iso ?? "");
  if (Number.isNaN(t)) return "";
  const s = Math.max(0, Math.round((Date.now() - t) / 1000));
  if (s < 45) return "just now";
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} d ago`;
}

export function timeEl(iso: string | null | undefined): HTMLTimeElement {
  return el("time", { datetime: iso ?? "", title: iso ? new Date(iso).toLocaleString() : "", text: when(iso) });
}

export function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

export function toast(text: string, kind?: "error"): void {
  const node = el("div", { class: `toast ${kind ?? ""}`, role: kind === "error" ? "alert" : "status", text });
  const toasts = $("toasts");
  toasts.append(node);
  while (toasts.children.length > 3) toasts.firstElementChild?.remove(); // a burst of reports is not a wall of toasts
  setTimeout(() => node.remove(), kind === "error" ? 8000 : 4000);
}

export function message(id: string, text?: string): void {
  const node = $(id);
  node.textContent = text ?? "";
  show(node, Boolean(text));
}

/** The message of anything thrown: a ClientError's, a ClosedError's, or a plain one's. */
export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export function errorCode(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : "";
}

// -- the in-page confirmation (never the browser's) --------------------------------------------------------

let closeConfirm: ((ok: boolean) => void) | null = null;

export function confirmOpen(): boolean {
  return closeConfirm !== null;
}

export function confirmDialog(title: string, text: string, confirmLabel: string): Promise<boolean> {
  closeConfirm?.(false);
  const dialog = $<HTMLDialogElement>("confirm-dialog");
  $("confirm-title").textContent = title;
  $("confirm-text").textContent = text;
  $("confirm-ok").textContent = confirmLabel;
  return new Promise((resolve) => {
    closeConfirm = (ok) => {
      closeConfirm = null;
      if (dialog.open) dialog.close();
      resolve(ok);
    };
    dialog.showModal();
    $("confirm-ok").focus();
  });
}

export function settleConfirm(ok: boolean): void {
  closeConfirm?.(ok);
}

export function dialogKeys(event: KeyboardEvent): void {
  if (!closeConfirm) return;
  if (event.key === "Escape") {
    event.preventDefault();
    closeConfirm(false);
  } else if (event.key === "Enter" && document.activeElement !== $("confirm-cancel")) {
    event.preventDefault();
    closeConfirm(true);
  }
}

export function typing(target: EventTarget | null): boolean {
  return target instanceof HTMLElement
    && (target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName));
}

// Tiny DOM helpers. Everything from the server goes in as text (textContent / text nodes), never as HTML.

export type Child = Node | string | number | null | undefined | false;
export type Props = Record<string, string | number | boolean | null | undefined | EventListener>;

/** `h("button", { class: "primary", type: "button", onclick: fn }, "Save")`. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, props: Props = {}, ...children: Child[]):
    HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value === null || value === undefined || value === false) continue;
    if (typeof value === "function") {
      element.addEventListener(name.replace(/^on/, ""), value);
    } else if (name === "class") {
      element.className = String(value);
    } else if (name === "value" && "value" in element) {
      (element as HTMLInputElement).value = String(value);
    } else {
      element.setAttribute(name, value === true ? "" : String(value));
    }
  }
  append(element, ...children);
  return element;
}

export function append(parent: Node, ...children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(typeof child === "string" || typeof child === "number"
      ? document.createTextNode(String(child)) : child);
  }
}

/** Replace every child of `parent`. */
export function replace(parent: Node, ...children: Child[]): void {
  while (parent.firstChild) parent.removeChild(parent.firstChild);
  append(parent, ...children);
}

let nextId = 0;

/** A fresh element id (to tie a label to its field). */
export function uid(prefix: string): string {
  return `${prefix}-${++nextId}`;
}

/** A labelled field: `<label for=id>text</label>` and the control, in a `.field` wrapper. */
export function field(label: string, control: HTMLElement, hint?: string): HTMLElement {
  const id = control.id || uid("f");
  control.id = id;
  const hintEl = hint ? h("small", { class: "hint", id: `${id}-hint` }, hint) : null;
  if (hintEl) control.setAttribute("aria-describedby", hintEl.id);
  return h("div", { class: "field" }, h("label", { for: id }, label), control, hintEl);
}

/** A message area for errors and confirmations of one form (`role=alert` reads it out). */
export function messageArea(): { el: HTMLElement; error(text: string): void; ok(text: string): void; clear(): void } {
  const el = h("p", { class: "message", role: "alert", hidden: true });
  const show = (text: string, kind: string): void => {
    el.textContent = text;
    el.className = `message ${kind}`;
    el.hidden = false;
  };
  return {
    el,
    error: (text) => show(text, "error"),
    ok: (text) => show(text, "ok"),
    clear: () => {
      el.textContent = "";
      el.hidden = true;
    },
  };
}

/** Disable a form's controls while `work` runs (no double submits). */
export async function busy<T>(form: HTMLElement, work: () => Promise<T>): Promise<T> {
  const controls = [...form.querySelectorAll<HTMLButtonElement | HTMLInputElement>("button, input, textarea, select")];
  const was = controls.map((c) => c.disabled);
  controls.forEach((c) => (c.disabled = true));
  form.setAttribute("aria-busy", "true");
  try {
    return await work();
  } finally {
    controls.forEach((c, i) => (c.disabled = was[i] ?? false));
    form.setAttribute("aria-busy", "false");
  }
}

export function time(iso: string): string {
  const date = new Date(iso);
  return date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

/** An image from the API's media origin (allowed by the page's img-src). */
export function photo(url: string | undefined, alt: string, className = "photo"): HTMLElement {
  if (!url) return h("div", { class: `${className} no-photo`, role: "img", "aria-label": alt });
  return h("img", { class: className, src: url, alt, loading: "lazy", decoding: "async" });
}

// The content filter's word list (moderation.words.list|add|remove): `block` refuses a text that contains the
// pattern, `flag` accepts it and files an automatic report (docs/safety.md).

import type { FilterWord } from "../src/index.js";
import { $, el, errorCode, errorText, message, show, timeEl, toast } from "./dom.js";
import { call, who } from "./shared.js";

let words: FilterWord[] = [];
let loaded = false;

export async function showWords(): Promise<void> {
  try {
    words = (await call("moderation.words.list")).words;
  } catch (error) {
    message("word-message", `Could not load the word list: ${errorText(error)}`);
    return;
  }
  loaded = true;
  render();
}

function render(): void {
  const sorted = [...words].sort((a, b) => a.pattern.localeCompare(b.pattern));
  $("word-list").replaceChildren(...sorted.map((word) => el("li", { class: "word", dataset: { wordId: word.id, action: word.action } },
    el("span", { class: "word-pattern", text: word.pattern }),
    el("span", { class: `badge word-${word.action}`, text: word.action }),
    el("span", { class: "muted" }, "added ", timeEl(word.created_at), word.created_by ? ` by ${who(word.created_by)}` : ""),
    el("button", { type: "button", class: "ghost small", "aria-label": `Remove ${word.pattern}`,
      onclick: () => void remove(word) }, "Remove"))));
  show($("words-empty"), loaded && words.length === 0);
  $("words-count").textContent = loaded ? `${words.length} in the list` : "";
}

async function add(event: Event): Promise<void> {
  event.preventDefault();
  const input = $<HTMLInputElement>("word-pattern");
  const pattern = input.value.trim();
  const action = $<HTMLSelectElement>("word-action").value === "flag" ? "flag" : "block";
  if (!pattern) {
    message("word-message", "Type a word or phrase first.");
    input.focus();
    return;
  }
  try {
    const { word } = await call("moderation.words.add", { pattern, action });
    words = [...words.filter((w) => w.id !== word.id), word];
  } catch (error) {
    message("word-message", errorCode(error) === "conflict" ? `"${pattern}" is already in the list.` : errorText(error));
    return;
  }
  input.value = "";
  message("word-message", "");
  toast(`"${pattern}" added (${action}).`);
  render();
}

async function remove(word: FilterWord): Promise<void> {
  try {
    await call("moderation.words.remove", { id: word.id });
  } catch (error) {
    if (errorCode(error) !== "not_found") {
      message("word-message", errorText(error));
      return;
    }
  }
  words = words.filter((w) => w.id !== word.id);
  message("word-message", "");
  toast(`"${word.pattern}" removed.`);
  render();
}

export function resetWords(): void {
  words = [];
  loaded = false;
  message("word-message", "");
  render();
}

$("word-form").addEventListener("submit", (event) => void add(event));

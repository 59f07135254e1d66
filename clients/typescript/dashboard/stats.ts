// The statistics strip (moderation.stats): every 10 s, and soon after a live event that changes a number.

import type { StatsReply } from "../src/index.js";
import { $, el } from "./dom.js";
import { call, onStatsStale } from "./shared.js";

const EVERY_MS = 10000;
const AFTER_EVENT_MS = 400;
let interval = 0;
let soon = 0;
let loading = false;

const LABELS: [keyof StatsReply, string, string][] = [
  ["open_reports", "Reports", "open reports"], ["photos_pending", "Photos", "photos waiting for review"],
  ["online_users", "Online", "people online now"], ["signups_today", "Sign-ups", "sign-ups today (UTC)"],
  ["matches_today", "Matches", "matches today (UTC)"], ["messages_today", "Messages", "messages today (UTC)"],
  ["median_resolution_s_7d", "Decided in", "median time from report to decision, last 7 days"],
];

function duration(seconds: number): string {
  if (seconds < 90) return `${Math.round(seconds)} s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
  if (seconds < 172800) return `${Math.round(seconds / 3600)} h`;
  return `${Math.round(seconds / 86400)} d`;
}

function value(key: keyof StatsReply, stats: StatsReply | null): string {
  const v = stats?.[key];
  if (v === null || v === undefined) return "–";
  return key === "median_resolution_s_7d" ? duration(v) : v.toLocaleString();
}

function render(stats: StatsReply | null): void {
  const list = $("stats");
  list.replaceChildren(...LABELS.map(([key, label, title]) => el("div", { class: "stat", title, dataset: { stat: key } },
    el("dt", { text: label }), el("dd", { text: value(key, stats) }))));
  list.title = stats ? `Updated ${new Date().toLocaleTimeString()}; every 10 s and on live events` : "";
}

async function load(): Promise<void> {
  if (loading) return;
  loading = true;
  try {
    render(await call("moderation.stats"));
  } catch {
    // the next tick tries again; the indicator already says when the socket is down
  } finally {
    loading = false;
  }
}

export function startStats(): void {
  clearInterval(interval);
  interval = window.setInterval(() => void load(), EVERY_MS);
  void load();
}

export function stopStats(): void {
  clearInterval(interval);
  clearTimeout(soon);
  interval = 0;
}

export function resetStats(): void {
  stopStats();
  render(null);
}

onStatsStale(() => {
  if (!interval) return;
  clearTimeout(soon);
  soon = window.setTimeout(() => void load(), AFTER_EVENT_MS);
});

"""``report.md`` of ``python -m bench load``: the verdict first, the targets, then each scenario's figures and
the plots. A pure function of the summary document; each section is one function."""

from __future__ import annotations

import json
from typing import Any

from bench import cpu_profile_report
from bench.load_figures import cpu_per_command_line


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.2f}" if abs(value) < 100 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def markdown(doc: dict[str, Any]) -> str:
    """``report.md``: the verdict, the targets, then each scenario's figures and the plots."""
    lines = _verdict(doc) + _targets(doc["targets"])
    for key, section in (("mixed", _mixed), ("soak", _soak), ("idle", _idle), ("logins", _logins),
                         ("restart", _restart)):
        if doc.get(key) is not None:
            lines += section(doc[key])
    lines += ["## Plots", ""] + [f"![{p}]({p})" for p in doc["plots"]] + [""]
    return "\n".join(lines)


def _verdict(doc: dict[str, Any]) -> list[str]:
    m = doc["machine"]
    lines = [f"# Load report: {'HEALTHY' if doc['healthy'] else 'NOT HEALTHY'}", "",
             f"{m['cpus']} CPUs, {m['memory_gb']} GB, Python {m['python']}, load average (1 min) "
             f"{m['load_average']['1m']} at the start, {m.get('load_average_end', {}).get('1m', '-')} at "
             f"the end; other processes used {m.get('other_load_percent_of_core', '-')}% of a core. "
             f"Command: `{doc['params']['command']}`.", ""]
    if doc["problems"]:
        lines += ["**Problems**", ""] + [f"- {p}" for p in doc["problems"]] + [""]
    return lines


def _targets(targets: dict[str, dict[str, Any]]) -> list[str]:
    lines = ["## Targets", "", "| target | measured | met |", "|---|---|---|"]
    for t in targets.values():
        met = {True: "yes", False: "**no**", None: "not at target scale" if t["value"] is not None else "-"}[t["met"]]
        if t["met"] is None and t["value_meets_bound"] is not None:
            met += f" (value {'within' if t['value_meets_bound'] else 'over'} the bound)"
        lines.append(f"| {t['target']} | {_fmt(t['value'])} | {met} |")
    lines.append("")
    return lines


def _mixed(mixed: dict[str, Any]) -> list[str]:
    v = mixed["verification"]
    lines = ["## Mixed load", "",
             f"{mixed['users']:,} users ({mixed['active']} active) on {len(mixed['nodes'])} nodes, "
             f"{mixed['sockets']:,} sockets, {mixed['duration_s']:g} s measured; connecting took "
             f"{_fmt(mixed['connect']['seconds'])} s (hello p99 {_fmt(mixed['connect']['hello_ms']['p99'])} ms, "
             f"{mixed['connect']['failed']} failed). The users ran {mixed['warmup']['seconds']:g} s before "
             f"the measurement started (delivery p99 in that warm-up: "
             f"{_fmt(mixed['warmup']['latency_ms']['deliveries (all)']['p99'])} ms).", "",
             "| latency (ms) | p50 | p90 | p99 | max | samples |", "|---|---|---|---|---|---|"]
    for kind, s in mixed["latency_ms"].items():
        lines.append(f"| {kind} | {_fmt(s['p50'])} | {_fmt(s['p90'])} | {_fmt(s['p99'])} | {_fmt(s['max'])} "
                     f"| {_fmt(s['count'])} |")
    d = mixed["delivered_per_s"]
    lines += ["", f"Delivered events/s: mean {_fmt(d['mean'])}, peak {_fmt(d['peak'])}; commands sent "
                  f"{_fmt(mixed['commands']['total'])} ({_fmt(mixed['commands']['per_s_mean'])}/s).", "",
              f"**Verification**: {v['committed_events']:,} durable events committed for connected users, "
              f"{v['expected_deliveries']:,} deliveries expected on {v['devices']:,} devices: "
              f"{v['delivered_live']:,} live, {v['recovered_by_sync']:,} recovered by sync, **{v['lost']} lost**, "
              f"{v['unexpected']} unexpected, {v['duplicates']} duplicates.", ""]
    if v["lost_ids"]:
        lines += ["Lost:", ""] + [f"- `{json.dumps(x)}`" for x in v["lost_ids"][:20]] + [""]
    if mixed["errors"]:
        lines += ["Command errors: " + ", ".join(f"{k} x{n}" for k, n in mixed["errors"].items()), ""]
    profile = cpu_profile_report.markdown(mixed["cpu_profile"]) if mixed.get("cpu_profile") else []
    return lines + _server_view(mixed.get("server_latency_ms")) + _mixed_nodes(mixed) + profile


def _server_view(view: dict[str, Any] | None) -> list[str]:
    """The nodes' own histograms (Prometheus, measured window only) beside the clients' figures above."""
    if not view or not view["commands"]:
        return []
    lines = ["The servers' own view (their Prometheus histograms over the measured window, both nodes; a "
             "command from its frame read to its reply queued, so the clients' round trip adds the network and "
             "the client):", "", "| server latency (ms) | p50 | p99 | count |", "|---|---|---|---|"]
    rows = [(f"command {k}", v) for k, v in view["commands"].items()]
    if view.get("delivery_lag"):
        rows.append(("durable delivery lag (commit to socket write)", view["delivery_lag"]))
    lines += [f"| {name} | {_fmt(v['p50'])} | {_fmt(v['p99'])} | {_fmt(v['count'])} |" for name, v in rows]
    return [*lines, ""]


def _mixed_nodes(mixed: dict[str, Any]) -> list[str]:
    lines = ["| node | RSS start MB | RSS end MB | RSS max MB | CPU % of a core |", "|---|---|---|---|---|"]
    for node, mem in mixed["node_memory"].items():
        lines.append(f"| {node} | {_fmt(mem['start'])} | {_fmt(mem['end'])} | {_fmt(mem['max'])} | "
                     f"{_fmt(mixed['cpu_percent'].get(node))} |")
    log = mixed.get("server_log")
    if log:
        lines += ["", f"Server log: {log['lines']} warning/error lines" + (": " + "; ".join(log["top"])
                                                                          if log["top"] else ".")]
    others = {k: v for k, v in mixed["cpu_percent"].items() if k not in mixed["node_memory"]}
    if mixed.get("cpu_per_command"):
        line = cpu_per_command_line(mixed["cpu_per_command"])
        lines += ["", f"{line[0].upper()}{line[1:]}."]
    lines += ["", "CPU (% of one core): " + ", ".join(f"{k} {_fmt(v)}" for k, v in others.items())
              + " (machine: % of all cores)", "",
              f"The load generator collected no garbage while the users ran (its own pauses would count as "
              f"latency); its peak RSS: {_fmt(mixed['generator_max_rss_mb'])} MB.", ""]
    return lines


def _soak(soak: dict[str, Any]) -> list[str]:
    lines = ["## Soak", "", f"{soak['duration_s']:g} s, warm-up {soak['warmup_s']:g} s, windows of "
             f"{soak['window_s']:g} s{'' if soak['evaluated'] else ' (shorter than 10 min: not a soak)'}.", "",
             "| node | RSS growth after warm-up | slope MB/min |", "|---|---|---|"]
    for node, g in soak["memory_growth_percent"].items():
        lines.append(f"| {node} | {_fmt(g)} % | {_fmt(soak['rss_slope_mb_per_min'][node])} |")
    lines += ["", "| p99 (ms) | first window | last window | drift |", "|---|---|---|---|"]
    for kind, f in soak["p99_first_window_ms"].items():
        lines.append(f"| {kind} | {_fmt(f)} | {_fmt(soak['p99_last_window_ms'][kind])} | "
                     f"{_fmt(soak['p99_drift'][kind])} |")
    per_window = soak.get("p99_per_window_ms", {})
    if per_window:
        count = max(len(v) for v in per_window.values())
        lines += ["", f"p99 (ms) per window of {soak['window_s']:g} s, to tell a trend from a spike:", "",
                  "| kind | " + " | ".join(str(k + 1) for k in range(count)) + " |",
                  "|---|" + "---|" * count]
        for kind, values in per_window.items():
            lines.append(f"| {kind} | " + " | ".join(_fmt(v) for v in values) + " |")
    lines.append("")
    return lines


def _idle(idle: dict[str, Any]) -> list[str]:
    return ["## Idle sockets on one node", "",
            f"{idle['sockets']:,} idle authenticated sockets: {_fmt(idle['kb_per_socket'])} KB RSS each after "
            f"holding them {idle['hold_s']:g} s ({_fmt(idle['kb_per_socket_at_open'])} KB right after opening; "
            f"RSS {idle['rss_mb']}), {_fmt(idle['connects_per_s'])} connects/s. Ping p50/p99 "
            f"{_fmt(idle['ping_ms']['p50'])} / {_fmt(idle['ping_ms']['p99'])} ms while held "
            f"({_fmt(idle['ping_ms_before']['p99'])} ms p99 before). Node CPU {_fmt(idle['cpu_percent'])}%.", ""]


def _logins(logins: dict[str, Any]) -> list[str]:
    return ["## Logins at bcrypt cost " + str(logins["bcrypt_cost"]), "",
            f"{logins['logins']} concurrent logins x {logins['rounds']} rounds ({logins['window_s']:g} s): login "
            f"p50/p99 {_fmt(logins['login_ms']['p50'])} / {_fmt(logins['login_ms']['p99'])} ms, statuses "
            f"{logins['login_status']}. Ping p99 {_fmt(logins['ping_ms_during']['p99'])} ms during the logins "
            f"({_fmt(logins['ping_ms_before']['p99'])} ms before). Node CPU {_fmt(logins['cpu_percent'])}%.", ""]


def _restart(r: dict[str, Any]) -> list[str]:
    trips = r["db_round_trips"]
    return ["## Rolling restart (reconnect storm)", "",
            f"SIGTERM to a node holding {r['sockets']:,} sockets while {r['event_rate']:g} durable events/s flowed: "
            f"{r['closed_1012']:,} closed with 1012 (the last after {_fmt(r['closed_1012_s']['max'])} s), "
            f"{r['resumed']:,} resumed on the other node, the last {_fmt(r['time_until_all_resumed_s'])} s after "
            f"the SIGTERM (p50 {_fmt(r['resume_s']['p50'])} s), {r['resume_attempts']:,} attempts "
            f"({r['resume_attempt_errors'] or 'none failed'}). Events lost: {r['events']['lost']} of "
            f"{r['events']['events_owed']:,} owed; out of order or twice: {r['events']['out_of_order_or_twice']}.",
            "",
            f"PostgreSQL round trips per resume: {_fmt(r['db_round_trips_per_resume'])} (nodes' own count: "
            f"{_fmt(trips['total'])}; node A only until its last scrape); transactions PostgreSQL counted from the "
            f"nodes, node A to its exit: {_fmt(r['postgres_node_transactions'])} "
            f"({_fmt(r['postgres_node_transactions_per_resume'])} per resume). The resuming node used "
            f"{_fmt(r['node_b_cpu_s'])} s of CPU ({_fmt(r['node_b_cpu_ms_per_resume'])} ms per resume), "
            f"{_fmt(r['node_b_connects_per_s'])} resumes/s of wall time.", ""]

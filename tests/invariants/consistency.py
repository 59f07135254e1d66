"""Consistency of the database with the accepted commands, and the rules over the stored rows.

Complements ``checks.py`` (the five invariants of issue 4): refusals leave no trace, the like limits
hold in the stored likes, blocks end matches, and each state change of a match was told once.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, timedelta
from typing import Any

from tests.invariants.checks import OPEN, Snapshot, ok_calls, uid
from tests.invariants.workload import Workload


def check_state_events(snap: Snapshot) -> list[str]:
    """Each member was told every state change of each match once, and the last one told is the stored state."""
    out: list[str] = []
    for match_id, match in snap.matches.items():
        for member in (str(match.user_a), str(match.user_b)):
            told = [d["state"] for _, t, d in snap.events.get(member, [])
                    if t == "match.updated" and d["match_id"] == match_id]
            if len(told) != len(set(told)) or (told[-1] if told else "active") != match.state:
                out.append(f"match {match_id} is {match.state}; {member} was told {told}")
    return out


# -- what the clients did is what the database holds (refusals leave no trace) ------------------------------------
def check_records(w: Workload, snap: Snapshot) -> list[str]:
    out: list[str] = []

    def compare(name: str, db: Counter[Any], clients: Counter[Any]) -> None:
        if db != clients:
            out.append(f"{name}: in the database only {sorted(map(str, (db - clients).elements()))[:10]}, "
                       f"accepted by the server only {sorted(map(str, (clients - db).elements()))[:10]}")

    compare("likes", Counter((str(r.liker_id), str(r.likee_id)) for r in snap.likes),
            Counter((uid(w, c.actor), uid(w, c.target)) for c in ok_calls(w, "like")))
    compare("matches", Counter(snap.matches.keys()),
            Counter(c.reply["match"]["id"] for c in ok_calls(w, "like") if c.reply and c.reply["match"]))
    compare("blocks", Counter((str(r.blocker_id), str(r.blocked_id)) for r in snap.blocks),
            Counter({(uid(w, c.actor), uid(w, c.target)): 1 for c in ok_calls(w, "block", "report")}))
    compare("reports", snap.reports, Counter((uid(w, c.actor), uid(w, c.target)) for c in ok_calls(w, "report")))
    compare("messages", Counter(snap.messages.keys()),
            Counter({c.reply["message"]["id"]: 1 for c in ok_calls(w, "messages.send") if c.reply}))
    passing: dict[tuple[str, str], bool] = {}
    for c in sorted(ok_calls(w, "pass", "pass.undo"), key=lambda c: c.sent):
        passing[(uid(w, c.actor), uid(w, c.target))] = c.kind == "pass"
    compare("active passes", Counter((str(r.passer_id), str(r.passee_id)) for r in snap.passes),
            Counter(pair for pair, active in passing.items() if active))
    return out


def check_rules(snap: Snapshot) -> list[str]:
    """Like limits (daily, velocity, first-five comments, same text), blocks end matches, no pass with own like."""
    out: list[str] = []
    by_liker: dict[str, list[Any]] = defaultdict(list)
    for r in snap.likes:
        by_liker[str(r.liker_id)].append(r)
    for liker, likes in by_liker.items():
        days = Counter(r.created_at.astimezone(UTC).date() for r in likes)
        out += [f"{liker} has {n} likes on {day}" for day, n in days.items() if n > 10]
        for r in likes:
            window = [x for x in likes if r.created_at - timedelta(seconds=60) < x.created_at <= r.created_at]
            if len(window) > 5:
                out.append(f"{liker} has {len(window)} likes within 60 s up to {r.created_at.isoformat()}")
        out += [f"{liker}'s like number {i + 1} ({r.id}) has no comment" for i, r in enumerate(likes[:5])
                if not r.comment]
        texts = Counter(r.comment_norm for r in likes if r.comment_norm)
        out += [f"{liker} sent the comment {norm!r} {n} times" for norm, n in texts.items() if n > 2]
    blocked = {frozenset((str(r.blocker_id), str(r.blocked_id))) for r in snap.blocks}
    out += [f"match {match_id} is {m.state} although {m.user_a} and {m.user_b} are blocked"
            for match_id, m in snap.matches.items()
            if m.state in OPEN and frozenset((str(m.user_a), str(m.user_b))) in blocked]
    liked = {(str(r.liker_id), str(r.likee_id)) for r in snap.likes}
    out += [f"{r.passer_id} has an active pass on {r.passee_id}, whom they liked" for r in snap.passes
            if (str(r.passer_id), str(r.passee_id)) in liked]
    return out

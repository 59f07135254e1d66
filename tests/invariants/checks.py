"""The invariants checked after the workload, against the database (SQL) and what the sockets saw.

Each ``check_*`` returns a list of violations, each a sentence precise enough to be a bug report.
Commit times are bounded from what the clients observed: a command's effect is committed
before its reply arrives (the socket replies after the transaction), and a command's query runs
after it was sent. ``blocks.created_at`` is no commit time: it is the block transaction's start
(``now()``), so a message stored while the block waited for the match's row lock is later than
it and still legitimate; the per-user ``seq`` (assigned under a row lock, so in commit order)
tells those apart.
"""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from tests.invariants.workload import NODE_NAMES, Call, Socket, Workload

INF = float("inf")
# a card pushed by a live fill (not the answer to a request) ran its query at most this long before it
# arrived: the only tolerance, for cards already in flight when a block or pass committed
FILL_TOLERANCE_S = 1.0
CLOSED = ("unmatched", "deleted")
OPEN = ("active", "archived", "dating")
Event = tuple[int, str, dict[str, Any]]  # seq, type, data


@dataclass
class Snapshot:
    """The database rows of the run's people after the workload (ids as strings)."""

    likes: list[Any]
    matches: dict[str, Any]
    blocks: list[Any]
    passes: list[Any]
    messages: dict[str, Any]
    reports: Counter[tuple[str, str]]
    events: dict[str, list[Event]]
    last_seq: dict[str, int]


async def snapshot(conn: AsyncConnection, ids: list[uuid.UUID]) -> Snapshot:
    async def rows(sql: str) -> list[Any]:
        return list((await conn.execute(text(sql), {"ids": ids})).all())

    events: dict[str, list[Event]] = defaultdict(list)
    for user_id, seq, event_type, payload in await rows(
            "SELECT user_id, seq, type, payload FROM user_events WHERE user_id = ANY(:ids) ORDER BY user_id, seq"):
        events[str(user_id)].append((seq, event_type, payload))
    return Snapshot(
        likes=await rows("SELECT id, liker_id, likee_id, comment, comment_norm, created_at FROM likes "
                         "WHERE liker_id = ANY(:ids) ORDER BY liker_id, created_at, id"),
        matches={str(r.id): r for r in await rows(
            "SELECT id, user_a, user_b, state FROM matches WHERE user_a = ANY(:ids) OR user_b = ANY(:ids)")},
        blocks=await rows("SELECT blocker_id, blocked_id, created_at FROM blocks WHERE blocker_id = ANY(:ids)"),
        passes=await rows("SELECT passer_id, passee_id FROM passes WHERE passer_id = ANY(:ids) AND expires_at > now()"),
        messages={str(r.id): r for r in await rows(
            "SELECT id, match_id, sender_id, created_at FROM messages WHERE sender_id = ANY(:ids)")},
        reports=Counter((str(a), str(b)) for a, b in await rows(
            "SELECT reporter_id, reported_id FROM reports WHERE reporter_id = ANY(:ids)")),
        events=events,
        last_seq={str(u): int(s) for u, s in await rows(
            "SELECT user_id, last_seq FROM user_event_counters WHERE user_id = ANY(:ids)")},
    )


def ok_calls(w: Workload, *kinds: str) -> list[Call]:
    return [c for c in w.calls if c.ok and c.kind in kinds]


def uid(w: Workload, index: int) -> str:
    return str(w.members[index].person.id)


# -- 1 ---------------------------------------------------------------------------------------------------------
async def check_matches_have_two_likes(conn: AsyncConnection, ids: list[uuid.UUID]) -> list[str]:
    """No match row without both likes (liker -> likee and likee -> liker)."""
    rows = (await conn.execute(text("""
        SELECT m.id, m.user_a, m.user_b,
               EXISTS (SELECT 1 FROM likes WHERE liker_id = m.user_a AND likee_id = m.user_b) AS a_liked,
               EXISTS (SELECT 1 FROM likes WHERE liker_id = m.user_b AND likee_id = m.user_a) AS b_liked
        FROM matches m WHERE m.user_a = ANY(:ids) OR m.user_b = ANY(:ids)"""), {"ids": ids})).all()
    return [f"match {r.id} of {r.user_a} and {r.user_b} exists without "
            + ("either like" if not (r.a_liked or r.b_liked) else "the like of " + str(r.user_b if r.a_liked
                                                                                        else r.user_a))
            for r in rows if not (r.a_liked and r.b_liked)]


# -- 2 ---------------------------------------------------------------------------------------------------------
async def check_one_match_per_pair(conn: AsyncConnection, ids: list[uuid.UUID], snap: Snapshot,
                                   live: dict[str, list[Event]]) -> list[str]:
    """One match row per unordered pair, and each member heard match.created for it exactly once."""
    out = [f"{n} match rows for the pair {a} / {b}" for a, b, n in (await conn.execute(text("""
        SELECT least(user_a, user_b), greatest(user_a, user_b), count(*) FROM matches
        WHERE user_a = ANY(:ids) OR user_b = ANY(:ids) GROUP BY 1, 2 HAVING count(*) > 1"""), {"ids": ids})).all()]
    for source, streams in (("user_events", snap.events), ("the client", live)):
        created: Counter[tuple[str, str]] = Counter()
        for user, events in streams.items():
            for _, event_type, data in events:
                if event_type == "match.created":
                    created[(user, data["match"]["id"])] += 1
                    match = snap.matches.get(data["match"]["id"])
                    partner = data["match"]["user"]["user_id"]
                    if match is None or {str(match.user_a), str(match.user_b)} != {user, partner}:
                        out.append(f"{source} of {user} has match.created for {data['match']['id']} with {partner}, "
                                   "which is no match of theirs")
        for match_id, match in snap.matches.items():
            for member in (str(match.user_a), str(match.user_b)):
                if created[(member, match_id)] != 1:
                    out.append(f"{source} of {member} has match.created for match {match_id} "
                               f"{created[(member, match_id)]} times")
    return out


# -- 3 ---------------------------------------------------------------------------------------------------------
def first_seq(events: list[Event], test: Any) -> int | None:
    return next((seq for seq, event_type, data in events if test(event_type, data)), None)


def closing_seq(events: list[Event], match_id: str) -> int | None:
    """The seq of the match.updated that closed the match (unmatched or deleted) in one member's stream."""
    return first_seq(events, lambda t, d: t == "match.updated" and d["match_id"] == match_id and d["state"] in CLOSED)


def message_seq(events: list[Event], message_id: str) -> int | None:
    return first_seq(events, lambda t, d: t == "message.created" and d["message"]["id"] == message_id)


async def check_no_message_after_block(conn: AsyncConnection, ids: list[uuid.UUID], snap: Snapshot,
                                       w: Workload) -> tuple[list[str], int]:
    """No message between people with a block either way stored after the block; (violations, in flight)."""
    out, in_flight = await _messages_stored_after_a_block(conn, ids, snap)
    # the same, over every message: none is stored after its match closed (a block closes it)
    out += _messages_after_their_match_closed(snap)
    # what the clients saw: a send or a like made after a block's reply arrived must have been refused
    out += _calls_accepted_after_a_block(w)
    return out, in_flight


async def _messages_stored_after_a_block(conn: AsyncConnection, ids: list[uuid.UUID],
                                         snap: Snapshot) -> tuple[list[str], int]:
    """Messages whose row is later than a block between the pair: violations unless the events show the
    message committed before the block closed the match (then counted as in flight)."""
    out: list[str] = []
    candidates = (await conn.execute(text("""
        SELECT m.id, m.match_id, m.sender_id, m.created_at AS sent_at, b.blocker_id, b.blocked_id,
               b.created_at AS blocked_at, mt.user_a, mt.user_b
        FROM messages m
        JOIN matches mt ON mt.id = m.match_id
        JOIN blocks b ON (b.blocker_id = mt.user_a AND b.blocked_id = mt.user_b)
                      OR (b.blocker_id = mt.user_b AND b.blocked_id = mt.user_a)
        WHERE (mt.user_a = ANY(:ids) OR mt.user_b = ANY(:ids)) AND m.created_at > b.created_at"""),
        {"ids": ids})).all()
    in_flight = 0
    for r in candidates:
        verdicts = [verdict for member in (str(r.user_a), str(r.user_b))
                    if (verdict := _sent_after_close(snap.events.get(member, []), member, str(r.match_id),
                                                     str(r.id))) is not None]
        if verdicts:
            out.append(f"message {r.id} by {r.sender_id} stored at {r.sent_at.isoformat()} after the block "
                       f"{r.blocker_id} -> {r.blocked_id} of {r.blocked_at.isoformat()}: " + "; ".join(verdicts))
        else:
            in_flight += 1  # stored while the block waited for the match row: committed before it
    return out, in_flight


def _sent_after_close(events: list[Event], member: str, match_id: str, message_id: str) -> str | None:
    """Why ``member``'s events show the message after the match closed (None: they show it before)."""
    closed, sent = closing_seq(events, match_id), message_seq(events, message_id)
    if closed is None:
        return f"the match never closed in {member}'s events"
    if sent is None or sent > closed:
        return f"in {member}'s events message.created is seq {sent}, after the closing match.updated (seq {closed})"
    return None


def _messages_after_their_match_closed(snap: Snapshot) -> list[str]:
    out: list[str] = []
    for message_id, m in snap.messages.items():
        match = snap.matches[str(m.match_id)]
        for member in (str(match.user_a), str(match.user_b)):
            events = snap.events.get(member, [])
            closed, sent = closing_seq(events, str(m.match_id)), message_seq(events, message_id)
            if sent is None or (closed is not None and sent > closed):
                out.append(f"message {message_id} in match {m.match_id}: message.created seq {sent} in {member}'s "
                           f"events, the match closed at seq {closed}")
    return out


def _calls_accepted_after_a_block(w: Workload) -> list[str]:
    out: list[str] = []
    blocked_at: dict[frozenset[int], float] = {}
    for c in ok_calls(w, "block", "report"):
        pair = frozenset((c.actor, c.target))
        blocked_at[pair] = min(blocked_at.get(pair, INF), c.done)
    seen_messages: set[str] = set()
    for c in sorted(ok_calls(w, "messages.send", "like"), key=lambda c: c.sent):
        if c.kind == "messages.send":
            message_id = c.reply["message"]["id"] if c.reply else ""
            if message_id in seen_messages:
                continue  # a retry returns the stored message, also after the match closed
            seen_messages.add(message_id)
        since = blocked_at.get(frozenset((c.actor, c.target)), INF)
        if c.sent >= since:
            out.append(f"{c.kind} by {w.who(c.actor)} to {w.who(c.target)} sent at {w.ms(c.sent)} succeeded "
                       f"although their block's reply had arrived at {w.ms(since)}")
    return out


# -- 4 ---------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Fact:
    """A reason the viewer must not be shown someone, holding from ``start`` until ``end``."""

    start: float
    end: float
    what: str


@dataclass(frozen=True)
class Shown:
    """A discovery.card: the query that made it ran within ``[lo, hi]``."""

    socket: Socket
    shown: int
    at: float
    lo: float
    hi: float
    batch: bool


def forbidding_facts(w: Workload) -> dict[tuple[int, int], list[Fact]]:
    """(viewer, person) -> blocks either way, the viewer's like, the viewer's pass (until its undo was sent)."""
    out: dict[tuple[int, int], list[Fact]] = defaultdict(list)
    calls = sorted((c for c in w.calls if c.ok), key=lambda c: c.sent)
    for c in calls:
        if c.kind in ("block", "report"):
            fact = Fact(c.done, INF, f"{c.kind} by {w.who(c.actor)}, reply at {w.ms(c.done)}")
            out[(c.actor, c.target)].append(fact)
            out[(c.target, c.actor)].append(fact)
        elif c.kind == "like":
            out[(c.actor, c.target)].append(Fact(c.done, INF, f"liked by the viewer, reply at {w.ms(c.done)}"))
        elif c.kind == "pass":
            undo = next((u.sent for u in calls if u.kind == "pass.undo" and u.actor == c.actor
                         and u.target == c.target and u.sent > c.done), INF)
            until = f", undo sent at {w.ms(undo)}" if undo < INF else ""
            out[(c.actor, c.target)].append(Fact(c.done, undo, f"passed by the viewer, reply at {w.ms(c.done)}"
                                                                f"{until}"))
    return out


def cards_seen(w: Workload, problems: list[str]) -> tuple[list[Shown], int]:
    """Every card every socket received, with the window its query ran in; and how many were of strangers.

    A request's cards come before its reply; the last ``sent`` cards before it are the batch, whose
    query ran after the request was sent. Any other card is a live fill: its query ran at most
    ``FILL_TOLERANCE_S`` before it arrived.
    """
    shown: list[Shown] = []
    strangers = 0
    for socket in w.sockets:
        frames = socket.client.frames
        windows: dict[int, tuple[float, float]] = {}
        for call in ok_calls(w, "discovery.request"):
            if call.socket is not socket or call.reply is None:
                continue
            reply = next(i for i in range(call.first_frame, len(frames)) if frames[i].type == "reply")
            before = [i for i in range(call.first_frame, reply) if frames[i].type == "discovery.card"]
            sent = int(call.reply["sent"])
            if len(before) < sent:
                problems.append(f"discovery.request by {w.who(call.actor)} replied sent={sent} but only "
                                f"{len(before)} cards came before the reply")
            for i in before[max(0, len(before) - sent):]:
                windows[i] = (call.sent, call.done)
        for i, frame in enumerate(frames):
            if frame.type != "discovery.card":
                continue
            person = w.by_id.get(frame.data["data"]["card"]["user_id"])
            if person is None:
                strangers += 1
                continue
            lo, hi = windows.get(i, (frame.at - FILL_TOLERANCE_S, frame.at))
            shown.append(Shown(socket, person, frame.at, lo, hi, i in windows))
    return shown, strangers


@dataclass
class CardReport:
    violations: list[str]
    checked: int = 0
    fills: int = 0  # cards pushed by a live fill, not as the answer to a request
    in_flight: int = 0  # arrived after a block, pass or like committed, but queried before (allowed)
    strangers: int = 0  # cards of people outside the run (another test's people nearby)


def check_no_forbidden_card(w: Workload) -> CardReport:
    """No card of oneself, of anyone blocked either way, passed (pass active) or liked, once that was committed."""
    out: list[str] = []
    facts = forbidding_facts(w)
    shown, strangers = cards_seen(w, out)
    report = CardReport(out, len(shown), sum(not card.batch for card in shown), 0, strangers)
    for card in shown:
        viewer = card.socket.owner
        where = (f"{'batch' if card.batch else 'live fill'} card on {w.who(viewer)}'s {card.socket.role} socket "
                 f"(node {NODE_NAMES[card.socket.node]}), arrived {w.ms(card.at)}")
        if card.shown == viewer:
            out.append(f"{where} shows the viewer themselves")
        for fact in facts.get((viewer, card.shown), []):
            if card.lo >= fact.start and card.hi <= fact.end:
                window = f"query between {w.ms(card.lo)} and {w.ms(card.hi)}"
                out.append(f"{where} shows {w.who(card.shown)}: {fact.what}; {window}")
            elif fact.start <= card.at <= fact.end:
                report.in_flight += 1
    return report


# -- 5 ---------------------------------------------------------------------------------------------------------
def check_events(w: Workload, snap: Snapshot, live: dict[str, list[Event]], replayed: dict[str, list[Event]],
                 sync_last: dict[str, int]) -> list[str]:
    """Every durable event received live is the stored one; none was lost live; sync after 0 replays them all."""
    out: list[str] = []
    for member in w.members:
        user = str(member.person.id)
        stored = snap.events.get(user, [])
        who = w.who(member.index)
        out += _stored_problems(who, stored, snap.last_seq.get(user, 0))
        out += _live_problems(who, stored, live.get(user, []))
        if replayed.get(user, []) != stored:
            out.append(f"{who}: sync after 0 replayed {[(s, t) for s, t, _ in replayed.get(user, [])]}, "
                       f"stored {[(s, t) for s, t, _ in stored]}")
        if sync_last.get(user) != len(stored):
            out.append(f"{who}: sync replied last_seq {sync_last.get(user)}, {len(stored)} stored")
        # the same seq twice on one socket (live and replayed) must be the same event
        for socket in (s for s in w.sockets if s.owner == member.index):
            out += _seqs_seen_twice_differently(who, socket)
    return out


def _stored_problems(who: str, stored: list[Event], last_seq: int) -> list[str]:
    """The stored seqs are 1..n and the counter says n."""
    out: list[str] = []
    if [seq for seq, _, _ in stored] != list(range(1, len(stored) + 1)):
        out.append(f"{who}: stored seqs are not 1..{len(stored)}")
    if last_seq != len(stored):
        out.append(f"{who}: counter says last_seq {last_seq}, {len(stored)} events stored")
    return out


def _live_problems(who: str, stored: list[Event], got: list[Event]) -> list[str]:
    """The durable events received live are in order, unrepeated, the stored ones, and all of them."""
    out: list[str] = []
    by_seq = {seq: (t, d) for seq, t, d in stored}
    seqs = [seq for seq, _, _ in got]
    if seqs != sorted(set(seqs)):
        out.append(f"{who}: live durable events out of order or repeated: {seqs}")
    for seq, event_type, data in got:
        if seq not in by_seq:
            out.append(f"{who}: received {event_type} seq {seq}, which is not stored")
        elif by_seq[seq] != (event_type, data):
            out.append(f"{who}: received seq {seq} as {event_type} {data}, stored as {by_seq[seq]}")
    lost = sorted(set(by_seq) - set(seqs))
    if lost:
        out.append(f"{who}: stored events never received live: "
                   + ", ".join(f"{s} {by_seq[s][0]}" for s in lost[:20]))
    return out


def _seqs_seen_twice_differently(who: str, socket: Socket) -> list[str]:
    out: list[str] = []
    first: dict[int, dict[str, Any]] = {}
    for frame in socket.client.frames:
        number = frame.data.get("seq")
        if isinstance(number, int) and first.setdefault(number, frame.data) != frame.data:
            out.append(f"{who}: seq {number} arrived as two different events on one socket")
    return out

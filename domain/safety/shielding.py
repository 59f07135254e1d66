"""Contact shielding in chat: a match's first 24 hours, and the sender who does it in many matches a day.

A message sent while its match is younger than ``WINDOW`` carries the flags of ``contacts.contact_flags`` (stored
with it, so history shows the same); later messages carry none. The message is delivered either way. When a
sender's flagged messages of the last 24 hours span ``REPEAT_MATCHES`` or more matches, one automatic report
(reason ``auto_flag``) is filed, at most one per sender per 24 hours: that spread is the pattern of romance
scams. The sender's advisory lock makes the count and the "already reported today" check race-free; both run
only for a flagged message.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from domain.events.log import EventLog
from domain.safety.auto_reports import file_auto_report
from domain.safety.contacts import contact_flags
from domain.wire.enums import SafetyFlag

WINDOW = timedelta(hours=24)
REPEAT_MATCHES = 3
RULE = "contact shielding"

_LOCK = text("SELECT pg_advisory_xact_lock(hashtextextended('contact-shielding:' || CAST(:sender AS text), 0))")
_SPREAD = text("""
SELECT count(DISTINCT m.match_id) AS matches,
       (SELECT array_agg(DISTINCT f ORDER BY f) FROM messages x, unnest(x.safety) f
         WHERE x.sender_id = :sender AND x.safety <> '{}' AND x.created_at > now() - interval '24 hours') AS flags
FROM messages m
WHERE m.sender_id = :sender AND m.safety <> '{}' AND m.created_at > now() - interval '24 hours'
""")
_REPORTED_TODAY = text("""
SELECT EXISTS (SELECT 1 FROM reports WHERE reported_id = :sender AND reporter_id IS NULL AND reason = 'auto_flag'
               AND details LIKE :rule AND created_at > now() - interval '24 hours')
""")


def flags_for(body: str, matched_at: datetime, now: datetime) -> list[SafetyFlag]:
    """The message's ``safety`` flags: what it shares while the match is under 24 hours old; else none."""
    if now - matched_at >= WINDOW:
        return []
    return contact_flags(body)


async def watch_sender(session: AsyncSession, events: EventLog, sender_id: uuid.UUID) -> uuid.UUID | None:
    """After storing a flagged message: file the automatic report if the sender reached ``REPEAT_MATCHES``
    matches within 24 hours and was not reported for it in that time; the report's id, or None."""
    await session.execute(_LOCK, {"sender": str(sender_id)})
    spread = (await session.execute(_SPREAD, {"sender": sender_id})).one()
    if int(spread.matches) < REPEAT_MATCHES:
        return None
    if (await session.execute(_REPORTED_TODAY, {"sender": sender_id, "rule": f"{RULE}:%"})).scalar_one():
        return None
    shared = ", ".join(spread.flags or ())
    details = f"{RULE}: shared {shared} in {int(spread.matches)} new matches within 24 hours"
    return await file_auto_report(session, events, sender_id, details)

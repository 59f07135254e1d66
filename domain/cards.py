"""The ``card``: what the app shows of another person (CONTRACT section 2).

``{"user_id","display_name","age","distance_km","photos","prompts","badges",
"compatibility":{"score","summary"}}`` and never email, birthdate, exact
location or moderation data. Cards are built in batches with one query per
kind of data (not per person). Distances are measured between the two people's
grid cells (the only locations stored, ``domain/location/grid.py``), rounded to
whole kilometres and never shown below 1 km, so moving oneself in small steps
reveals nothing finer than the other person's cell. A caller can withhold the
distance of some people (``matches.list`` does for matches no longer active).
A card shows the photos waiting for review too, never a rejected one
(docs/moderation.md "Photo review").
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Collection, Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from domain.compatibility.scoring import score_from_distance, summary_for
from domain.compatibility.traits import NEUTRAL, TRAIT_KEYS
from domain.location.distance import display_distance, distance_km
from domain.photos.storage import MediaStorage
from domain.profiles.age import age_on
from domain.profiles.rules import badges_in_quiz_order
from domain.raw_statements import Fetch, RawStatement
from domain.wire.objects import Card


def traits_distance(a: Sequence[float] | None, b: Sequence[float] | None) -> float:
    """L1 distance of two trait vectors (a missing vector counts as all 3s)."""
    neutral = [float(NEUTRAL)] * len(TRAIT_KEYS)
    return float(sum(abs(x - y) for x, y in zip(a or neutral, b or neutral, strict=True)))


_CARDS_SQL = """
SELECT u.id, u.display_name, u.birthdate, u.lat, u.lon, t.traits::real[] AS traits,
  COALESCE((SELECT json_agg(json_build_object('id', p.id, 'storage_key', p.storage_key, 'thumb_key', p.thumb_key,
                                              'position', p.position, 'width', p.width, 'height', p.height)
                            ORDER BY p.position)
            FROM photos p WHERE p.user_id = u.id AND p.review_status <> 'rejected'), '[]') AS photos,
  COALESCE((SELECT json_agg(json_build_object('prompt_id', a.prompt_id, 'text', pr.text, 'answer', a.answer)
                            ORDER BY pr.position)
            FROM prompt_answers a JOIN prompts pr ON pr.id = a.prompt_id WHERE a.user_id = u.id), '[]') AS prompts,
  ARRAY(SELECT b.badge FROM user_badges b WHERE b.user_id = u.id) AS badges
FROM users u LEFT JOIN user_traits t ON t.user_id = u.id
WHERE u.id = ANY(:ids)
"""
_CARDS_RAW = RawStatement(_CARDS_SQL)


Pair = tuple[uuid.UUID, uuid.UUID]  # (viewer, the person whose card the viewer sees)


async def _rows(session: AsyncSession, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Any]:
    """The card rows of ``ids`` (missing users left out), in one query (past SQLAlchemy's per-statement path:
    a discovery batch and every like and match load cards)."""
    return {row.id: row for row in await _CARDS_RAW.fetch(session, {"ids": list(dict.fromkeys(ids))})}


def _card(row: Any, viewer: Any | None, storage: MediaStorage, today: date,
          show_distance: bool) -> Card:
    """``row``'s card as the person of ``viewer`` sees it (no distance without ``show_distance``)."""
    viewer_point = (viewer.lat, viewer.lon) if viewer is not None and viewer.lat is not None else None
    viewer_traits = viewer.traits if viewer is not None else None
    point = (row.lat, row.lon) if row.lat is not None and show_distance else None
    score = score_from_distance(traits_distance(viewer_traits, row.traits))
    photos = json.loads(row.photos) if isinstance(row.photos, str) else row.photos
    prompts = json.loads(row.prompts) if isinstance(row.prompts, str) else row.prompts
    return {
        "user_id": str(row.id),
        "display_name": row.display_name,
        "age": age_on(row.birthdate, today),
        "distance_km": display_distance(distance_km(viewer_point, point)),
        "photos": [{"id": str(p["id"]), "url": storage.url(p["storage_key"]),
                    "thumb_url": storage.url(p["thumb_key"]), "position": p["position"], "width": p["width"],
                    "height": p["height"]} for p in photos],
        "prompts": prompts,
        "badges": badges_in_quiz_order(list(row.badges)),
        "compatibility": {"score": score, "summary": summary_for(score)},
    }


async def load_cards(session: AsyncSession, viewer_id: uuid.UUID, user_ids: Sequence[uuid.UUID],
                     storage: MediaStorage, today: date | None = None,
                     no_distance: Collection[uuid.UUID] = ()) -> dict[uuid.UUID, Card]:
    """Cards of ``user_ids`` as seen by ``viewer_id`` (missing users are left out), in one query.

    The cards of ``no_distance`` carry ``distance_km: null``.
    """
    if not user_ids:
        return {}
    today = today or datetime.now(UTC).date()
    ids = list(dict.fromkeys(user_ids))
    rows = await _rows(session, [*ids, viewer_id])
    viewer = rows.get(viewer_id)
    return {user_id: _card(rows[user_id], viewer, storage, today, user_id not in no_distance)
            for user_id in ids if user_id in rows}


async def load_cards_for_pairs(session: AsyncSession, pairs: Sequence[Pair], storage: MediaStorage,
                               today: date | None = None) -> dict[Pair, Card]:
    """For each ``(viewer, user)`` pair, ``user``'s card as ``viewer`` sees it, all in one query.

    The same cards as ``load_cards(session, viewer, [user], storage)`` per pair (pairs whose user is
    missing are left out); a mutual like uses it to tell both people of their match.
    """
    if not pairs:
        return {}
    return _pair_cards(await _rows(session, [person for pair in pairs for person in pair]), pairs, storage, today)


async def cards_for_pairs_alone(fetch: Fetch, pairs: Sequence[Pair], storage: MediaStorage) -> dict[Pair, Card]:
    """``load_cards_for_pairs``'s cards from one statement run by ``fetch`` (alone, in autocommit: no session)."""
    ids = list(dict.fromkeys(person for pair in pairs for person in pair))
    return _pair_cards({row.id: row for row in await fetch(_CARDS_RAW, {"ids": ids})}, pairs, storage, None)


def _pair_cards(rows: dict[uuid.UUID, Any], pairs: Sequence[Pair], storage: MediaStorage,
                today: date | None) -> dict[Pair, Card]:
    today = today or datetime.now(UTC).date()
    return {(viewer, user): _card(rows[user], rows.get(viewer), storage, today, show_distance=True)
            for viewer, user in pairs if user in rows}

"""Discovery indexes per (gender, accepted gender), holding only people who can be shown.

Until now one partial GiST index per gender held everyone of that gender with a
location; a batch then read every person of the genders the viewer wants inside the
search box and threw most of them away: those who are not interested in the
viewer's gender (for a man looking for men, about 85 % of the men around him in the
benchmark's crowd), those without a photo or a quiz (about 15 %). Now there is one
index per pair ``(gender, accepted)``: people of ``gender`` whose ``interested_in``
holds ``accepted``, with a photo and traits. A person is in one index per gender
they are interested in (1.15 on average in the seeded crowd, so the indexes take
about as much space as before), and a batch reads the index of (each gender the viewer
wants, the viewer's gender): only people who may be shown, apart from distance,
blocks and the rest of the exact filters.

Built ``CONCURRENTLY`` before the old ones are dropped, so discovery always has an
index and writes to ``users`` are never blocked while a big table is indexed.

Revision ID: 0013_discovery_accepts
Revises: 0012_discovery_scale
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013_discovery_accepts"
down_revision: str | None = "0012_discovery_scale"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GENDERS = ("woman", "man", "nonbinary")
INDEXED = "discovery_point(lat, lon, birthdate, age_min, age_max, rank_bound)"
OLD_PREDICATE = "gender = '{gender}' AND lat IS NOT NULL AND role = 'user' AND status IN ('active', 'suspended')"
PREDICATE = ("gender = '{gender}' AND '{accepted}' = ANY(interested_in) AND lat IS NOT NULL AND role = 'user' "
             "AND status IN ('active', 'suspended') AND photo_count > 0 AND traits IS NOT NULL")


def _create(name: str, predicate: str) -> None:
    op.create_index(name, "users", [sa.literal_column(INDEXED)], postgresql_using="gist",
                    postgresql_where=sa.text(predicate), postgresql_concurrently=True, if_not_exists=True)


def upgrade() -> None:
    with op.get_context().autocommit_block():
        for gender in GENDERS:
            for accepted in GENDERS:
                _create(f"ix_users_discovery_{gender}_{accepted}",
                        PREDICATE.format(gender=gender, accepted=accepted))
        for gender in GENDERS:
            op.drop_index(f"ix_users_discovery_{gender}", table_name="users", postgresql_concurrently=True,
                          if_exists=True)


def downgrade() -> None:
    with op.get_context().autocommit_block():
        for gender in GENDERS:
            _create(f"ix_users_discovery_{gender}", OLD_PREDICATE.format(gender=gender))
        for gender in GENDERS:
            for accepted in GENDERS:
                op.drop_index(f"ix_users_discovery_{gender}_{accepted}", table_name="users",
                              postgresql_concurrently=True, if_exists=True)

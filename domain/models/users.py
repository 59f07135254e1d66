"""Accounts and profiles: one row per person, moderators included."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from pgvector.sqlalchemy import Vector
from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Double,
    Index,
    SmallInteger,
    String,
    Text,
    cast,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, CITEXT
from sqlalchemy.orm import Mapped, mapped_column

from domain.models.base import Base, created_at, uuid_pk
from domain.wire.enums import AccountStatus, Gender, Role

GENDERS = ("woman", "man", "nonbinary")


# Bands of ``rank_bound`` (the first bound included, the second excluded, None: no end) with a discovery index of
# their own per pair besides the pair's whole one (migration 0018): a tier of a batch
# (``domain.discovery.repository.TIERS``) that lies inside a band reads only the band's people.
DISCOVERY_BANDS: tuple[tuple[str, int, int | None], ...] = (("top", 36, None), ("mid", 28, 36))
TOP_TIER_FLOOR = DISCOVERY_BANDS[0][1]


def band_condition(low: int, high: int | None, column: str = "rank_bound") -> str:
    """``column`` within the band ``[low, high)``."""
    return f"{column} >= {low}" + ("" if high is None else f" AND {column} < {high}")


def discovery_index(gender: str, accepted: str, band: str | None = None) -> str:
    """The partial discovery index of people of ``gender`` interested in ``accepted`` (migration 0013), or with
    ``band`` (a name of ``DISCOVERY_BANDS``) the one of those in that band (migration 0018)."""
    return f"ix_users_discovery_{gender}_{accepted}" + (f"_{band}" if band else "")


def discovery_predicate(gender: str, accepted: str, band: str | None = None) -> str:
    """Who ``discovery_index(gender, accepted, band)`` holds: the people of ``gender`` who accept ``accepted`` and
    can be shown (a location, a photo, traits, an account that may appear), and with ``band`` only that band."""
    bounds = {name: (low, high) for name, low, high in DISCOVERY_BANDS}
    return (f"gender = '{gender}' AND '{accepted}' = ANY(interested_in) AND lat IS NOT NULL AND role = 'user' "
            "AND status IN ('active', 'suspended') AND photo_count > 0 AND traits IS NOT NULL"
            + ("" if band is None else " AND " + band_condition(*bounds[band])))


_INDEXED_BANDS = (None, *(name for name, _, _ in DISCOVERY_BANDS))
DISCOVERY_INDEXES = tuple(discovery_index(g, a, band) for band in _INDEXED_BANDS for g in GENDERS for a in GENDERS)

ROLES = ("user", "moderator")
STATUSES = ("active", "suspended", "banned", "deleted")


class User(Base):
    """A person's account and profile; ``status`` gates login, sockets and discovery."""

    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(f"role IN {ROLES}", name="role"),
        CheckConstraint(f"status IN {STATUSES}", name="status"),
        CheckConstraint(f"gender IS NULL OR gender IN {GENDERS}", name="gender"),
        CheckConstraint("age_min >= 18 AND age_max <= 120 AND age_min <= age_max", name="age_range"),
        CheckConstraint("max_distance_km BETWEEN 1 AND 20000", name="max_distance"),
        CheckConstraint("(lat IS NULL) = (lon IS NULL)", name="location_pair"),
        CheckConstraint("lat IS NULL OR (lat BETWEEN -90 AND 90 AND lon BETWEEN -180 AND 180)", name="location"),
        # distance searches: earth_box(earth_point(...), r) @> earth_point(lat, lon); see migration 0001
        Index("ix_users_earth", text("earth_point(lat, lon)"), postgresql_using="gist",
              postgresql_where=text("lat IS NOT NULL")),
        Index("ix_users_status_active", "status", "last_active_at"),
        Index("ix_users_created_at", "created_at"),  # moderation.stats: signups today (migration 0011)
        # discovery: discovery_box(...) @> discovery_point(...), one partial index per (gender, accepted gender)
        # holding only people who can be shown, and one more per pair and band of rank_bound; see migrations
        # 0004, 0012 (rank_bound, the seventh dimension), 0013 and 0018
        *(Index(discovery_index(gender, accepted, band),
                text("discovery_point(lat, lon, birthdate, age_min, age_max, rank_bound)"),
                postgresql_using="gist", postgresql_where=text(discovery_predicate(gender, accepted, band)))
          for band in _INDEXED_BANDS for gender in GENDERS for accepted in GENDERS),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    email: Mapped[str] = mapped_column(CITEXT, unique=True, nullable=False)
    password_hash: Mapped[str] = mapped_column(String(100), nullable=False)
    display_name: Mapped[str] = mapped_column(String(50), nullable=False)
    birthdate: Mapped[date] = mapped_column(Date, nullable=False)
    bio: Mapped[str] = mapped_column(Text, nullable=False, server_default="")
    gender: Mapped[Gender | None] = mapped_column(String(16))
    interested_in: Mapped[list[Gender]] = mapped_column(ARRAY(String(16)), nullable=False, server_default="{}")
    age_min: Mapped[int] = mapped_column(SmallInteger, nullable=False, server_default="18")
    age_max: Mapped[int] = mapped_column(SmallInteger, nullable=False, server_default="99")
    max_distance_km: Mapped[int] = mapped_column(SmallInteger, nullable=False, server_default="50")
    # The centre of the person's ~1 km grid cell, never the exact point: the users_location_cell trigger of
    # migration 0005 snaps whatever is written (domain/location/grid.py).
    lat: Mapped[float | None] = mapped_column(Double)
    lon: Mapped[float | None] = mapped_column(Double)
    # When the location last changed cell (at most 10, oldest first): domain/location/moves.py
    location_moves: Mapped[list[datetime]] = mapped_column(ARRAY(DateTime(timezone=True)), nullable=False,
                                                           server_default="{}")
    role: Mapped[Role] = mapped_column(String(16), nullable=False, server_default="user")
    status: Mapped[AccountStatus] = mapped_column(String(16), nullable=False, server_default="active")
    suspended_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_pass_undo_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_active_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False,
                                                     server_default=func.now())
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False,
                                                 server_default=func.now(), onupdate=func.now())
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # accounts (migration 0008, docs/accounts.md): the address was confirmed through a mailed link; when the
    # password last changed (reset tokens issued before it no longer work); the last personal-data export
    email_verified: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("false"))
    password_changed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_export_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Copies for discovery's one-row-per-candidate query, kept by the triggers of migration 0004
    # on photos, prompt_answers and user_traits: never write them.
    photo_count: Mapped[int] = mapped_column(SmallInteger, nullable=False, server_default="0")
    prompt_count: Mapped[int] = mapped_column(SmallInteger, nullable=False, server_default="0")
    traits: Mapped[list[float] | None] = mapped_column(Vector(6))
    # An upper bound of completeness + recency + newness, set by the users_rank_bound trigger of migration
    # 0012 (domain/discovery/bounds.py): never write it.
    rank_bound: Mapped[int] = mapped_column(SmallInteger, nullable=False, server_default="50")


# moderation.search: case-insensitive prefixes as index ranges in character order (migration 0011)
Index("ix_users_email_prefix", func.lower(cast(User.email, Text)).label("email_lower"),
      postgresql_ops={"email_lower": "text_pattern_ops"})
Index("ix_users_name_prefix", func.lower(User.display_name).label("name_lower"), User.id,
      postgresql_ops={"name_lower": "text_pattern_ops"})

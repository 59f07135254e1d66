"""What the REST transport needs from the process, declared here and built by the composition root.

The lifespan of ``delete_api`` creates one ``RestDeps`` per process (``request.state.rest``): the
transport never imports the root, so dependencies point one way.
"""

from __future__ import annotations

from dataclasses import dataclass

import redis.asyncio as aioredis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from domain.auth.reset_requests import ResetRequests
from domain.auth.service import AuthDeps
from domain.events.log import EventLog
from domain.photos.storage import MediaStorage
from domain.safety.cache import WordCache


@dataclass(frozen=True, slots=True)
class RestConfig:
    """The configuration the REST routes read."""

    version: str
    public_base_url: str  # where photos are served from (the dashboard's CSP names its origin)
    photo_max_bytes: int
    photo_max_pixels: int
    trusted_proxy_header: str | None  # the header a trusted proxy puts the client address in, if any


@dataclass(frozen=True, slots=True)
class RestDeps:
    """Everything a REST route uses, created once per process."""

    config: RestConfig
    sessions: async_sessionmaker[AsyncSession]
    auth: AuthDeps
    storage: MediaStorage
    events: EventLog
    engine: AsyncEngine  # the health check's database probe
    redis: aioredis.Redis  # the health check's Redis probe
    resets: ResetRequests  # password/forgot hands its requests to this process's worker
    content_filter: WordCache  # signup checks the display name against the word list

"""What the socket transport needs from the process, declared here and built by the composition root.

The lifespan of ``delete_api`` creates one ``RealtimeDeps`` per process and hands it to every socket
(``websocket.state.realtime``): the transport never imports the root, so dependencies point one way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from domain.auth.access_check import AccessChecker
from domain.auth.service import AuthDeps
from domain.events.catchup import CatchUpReader
from domain.events.log import EventLog
from domain.photos.storage import MediaStorage
from domain.read_sessions import ReadSessions
from domain.safety.cache import WordCache
from infra.typing_throttle import TypingThrottle

if TYPE_CHECKING:  # these modules import this one for their own signatures
    from realtime.discovery_live import DiscoveryLive
    from realtime.hub import Hub
    from realtime.presence import Presence


@dataclass(frozen=True, slots=True)
class SocketConfig:
    """The configuration the socket reads."""

    heartbeat_s: int
    allowed_origins: frozenset[str]
    own_origin: str  # the server's public base URL: its own pages (the dashboard) may open sockets
    version: str


@dataclass(frozen=True, slots=True)
class RealtimeDeps:
    """Everything a socket and its command handlers use, created once per process."""

    config: SocketConfig
    sessions: async_sessionmaker[AsyncSession]
    auth: AuthDeps
    storage: MediaStorage
    events: EventLog
    hub: Hub
    presence: Presence
    discovery: DiscoveryLive
    typing: TypingThrottle
    content_filter: WordCache  # the word list of this node (docs/safety.md)
    reads: ReadSessions  # where lists, history and discovery ranking read (a replica, if configured)
    access: AccessChecker  # token checks of connecting sockets, batched (a reconnect storm)
    catchup: CatchUpReader  # stream positions and replays of connecting and syncing sockets, batched

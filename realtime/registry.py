"""One registry maps each socket command to its input model, required role and handler.

The same entries describe the protocol (``realtime/asyncapi.py``), so a command
cannot exist without its schema. A handler takes the command context and the
validated input and returns the reply's ``data`` (or ``DEFERRED`` when it
arranges the reply itself, as ``sync`` does).
"""

from __future__ import annotations

import builtins
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from realtime.context import CommandContext

M = TypeVar("M", bound=BaseModel)
Handler = Callable[["CommandContext", Any], Awaitable[Mapping[str, Any] | None]]
Shape = Any  # a wire shape: a TypedDict of domain/wire, or a pydantic model
DEFERRED = None


class CommandInput(BaseModel):
    """Base of command inputs: unknown fields are refused."""

    model_config = ConfigDict(extra="forbid")


class NoInput(CommandInput):
    """A command without data."""


@dataclass(frozen=True)
class Command:
    """One socket command."""

    type: str
    model: builtins.type[BaseModel]
    handler: Handler
    summary: str
    role: str | None = None
    reply: Shape | None = None


@dataclass(frozen=True)
class EventDoc:
    """One server event, for the protocol description."""

    type: str
    durable: bool
    model: Shape
    summary: str


class Registry:
    """Commands by type, and the events the server may push."""

    def __init__(self) -> None:
        self.commands: dict[str, Command] = {}
        self.events: dict[str, EventDoc] = {}

    def command(self, type_: str, model: type[M], *, summary: str, role: str | None = None,
                reply: Shape | None = None) -> Callable[[Handler], Handler]:
        """Register the decorated handler for ``type_``."""

        def register(handler: Handler) -> Handler:
            if type_ in self.commands:
                raise ValueError(f"command {type_!r} registered twice")
            self.commands[type_] = Command(type_, model, handler, summary, role, reply)
            return handler

        return register

    def event(self, type_: str, model: Shape, *, durable: bool, summary: str) -> None:
        """Document an event type the server pushes."""
        self.events[type_] = EventDoc(type_, durable, model, summary)


REGISTRY = Registry()

"""Socket command handlers; importing this package registers them all."""

from realtime.commands import chat, discovery, moderation, profile, session, social  # noqa: F401 - imported to register

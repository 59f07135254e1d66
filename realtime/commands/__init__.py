"""Socket command handlers; importing this package registers them all."""

from realtime.commands import (  # noqa: F401 - imported to register
    chat,
    discovery,
    moderation,
    moderation_photos,
    moderation_users,
    moderation_words,
    profile,
    session,
    social,
)

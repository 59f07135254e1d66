"""Moderation: the report queue, moderators' decisions and their effects on accounts."""

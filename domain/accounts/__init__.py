"""Account lifecycle beyond auth: deleting one's account (choices in docs/social.md)."""

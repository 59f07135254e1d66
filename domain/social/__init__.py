"""Likes, passes, the match lifecycle, blocks and reports (CONTRACT section 3; choices in docs/social.md)."""

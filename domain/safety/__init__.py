"""Trust and safety without moderators in the loop: the content filter and contact shielding (docs/safety.md)."""

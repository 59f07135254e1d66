"""Rules for the characters of text that other people see: display names and free text (docs/security.md)."""

"""Chat inside a match: messages, history, read receipts and typing (CONTRACT section 2, docs/chat.md)."""

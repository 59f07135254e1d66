"""Per-user durable event log and the Redis messages that fan events out to server nodes."""

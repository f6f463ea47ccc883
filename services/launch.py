"""`cohort up`: migrate, seed, start the system (embedded or full) and say how to try it."""

import os
import signal
import sys
from contextlib import contextmanager

import click
from flask import Flask

from services import SERVICES
from services.demo import DEMO_ADMIN_ID, DEMO_STUDENT_ID, cohort_of
from services.operations import build_apps, migrate_app, seed_apps
from shared.auth import mint_token
from shared.config import VAR_DIR

DEMO_TOKEN_TTL = 24 * 3600
TOPOLOGIES = ("auto", "embedded", "full")


def resolve_topology(topology: str) -> str:
    """auto: the full topology when nginx is installed (gunicorn always is), else embedded."""
    if topology != "auto":
        return topology
    from gateway.stack import StackError, nginx_binary

    try:
        nginx_binary()
    except StackError:
        return "embedded"
    return "full"


def prepare(apps: dict[str, Flask], students: int, seed: bool, verbose: bool) -> None:
    """Migrate every database, then seed the empty ones."""
    for app in apps.values():
        click.echo(migrate_app(app))
    if seed:
        seed_apps(apps, students, only_empty=True, log=click.echo if verbose else None)


def _try_lines(base_url: str) -> list[str]:
    auth = '-H "Authorization: Bearer $STUDENT_TOKEN"'
    return [
        f"curl -s {base_url}/health/notifications/",
        f"curl -s {auth} {base_url}/api/notifications/unread-count",
        f'curl -s {auth} "{base_url}/api/notifications?unread=true&limit=3"',
        f"curl -s -X POST {auth} {base_url}/api/notifications/read-all",
    ]


def banner(base_url: str, topology: str, config: dict) -> str:
    """What `up` prints once the system answers: the URL, demo tokens, lines to try."""
    lines = [f"Cohort Scale is up at {base_url}/ ({topology})", f"Data: {VAR_DIR}", ""]
    if config["JWT_PUBLIC_KEY"]:
        lines.append("Tokens: JWT_PUBLIC_KEY is set; mint them with "
                     "`cohort mint-token --private-key FILE`.")
    else:
        student = mint_token(config, DEMO_STUDENT_ID, "student", cohort_of(DEMO_STUDENT_ID),
                             DEMO_TOKEN_TTL)
        admin = mint_token(config, DEMO_ADMIN_ID, "admin", None, DEMO_TOKEN_TTL)
        lines += [f"Demo tokens (valid {DEMO_TOKEN_TTL // 3600} hours):",
                  f"  export STUDENT_TOKEN={student}  # student {DEMO_STUDENT_ID}",
                  f"  export ADMIN_TOKEN={admin}  # admin {DEMO_ADMIN_ID}"]
    lines += ["", "Try:", *(f"  {line}" for line in _try_lines(base_url)), "",
              f"The health page: {base_url}/   Ctrl-C stops everything."]
    return "\n".join(lines)


def _interrupt(signum, frame):
    raise KeyboardInterrupt


@contextmanager
def stops_on_signals():
    """Ctrl-C and SIGTERM (a process manager's stop) both end `up` cleanly.

    SIGINT is set explicitly: a shell starts background jobs with it ignored.
    """
    previous = {s: signal.signal(s, _interrupt) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def _connect_host(host: str) -> str:
    return {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)


def _announce(base_url: str, topology: str, apps: dict[str, Flask]) -> None:
    click.echo(banner(base_url, topology, next(iter(apps.values())).config))
    sys.stdout.flush()


def run_embedded(host: str, port: int, students: int, seed: bool, verbose: bool) -> None:
    """Every service in this process behind the dispatcher, on werkzeug's threaded server."""
    from gateway.embedded import Dispatcher, make_embedded_server

    if _connect_host(host) not in ("127.0.0.1", "::1", "localhost"):
        click.echo(f"Note: on {host}, /internal/ is reachable from other machines too "
                   "(guarded by SERVICE_TOKEN); the full topology keeps it on loopback.", err=True)
    dispatcher = Dispatcher()
    # Bind first: a busy port fails before any work, and --port 0 learns its number.
    server = make_embedded_server(host, port, dispatcher)
    base_url = f"http://{_connect_host(host)}:{server.port}"
    apps = build_apps(SERVICES_URL=base_url)
    prepare(apps, students, seed, verbose)
    dispatcher.apps.update(apps)
    _announce(base_url, "embedded: every service in this process", apps)
    with stops_on_signals():
        server.serve_forever()  # returns on Ctrl-C, the socket closed
    click.echo("stopped")


def run_full(host: str, port: int, students: int, seed: bool, verbose: bool) -> None:
    """nginx and one gunicorn per service (gateway.stack); logs under var/stack/logs."""
    from gateway.stack import Stack, StackError

    if port == 0:
        raise click.ClickException("the full topology needs a fixed --port")
    apps = build_apps()
    prepare(apps, students, seed, verbose)  # here, never on a worker's start
    # Every port moves with --port: the internal listener 100 above, the services after it.
    # Several gunicorn workers cannot share an in-process cache: without Redis, none.
    env = {"GATEWAY_LISTEN": host, "CACHE_URL": os.environ.get("CACHE_URL", "null://")}
    stack = Stack(VAR_DIR / "stack", env, port=port, internal_port=port + 100,
                  service_ports={n: s.port - 8000 + port for n, s in SERVICES.items()})
    with stops_on_signals():
        try:
            stack.start()
            stack.wait_ready()
            _announce(stack.base_url, "full: nginx + one gunicorn per service", apps)
            click.echo(f"Logs: {stack.log_path('nginx').parent}")
            name = stack.wait()
            raise click.ClickException(f"{name} exited; its log ends:\n{stack.log_tail(name)}")
        except KeyboardInterrupt:
            pass
        except StackError as exc:
            raise click.ClickException(str(exc)) from None
        finally:
            stack.stop()
    click.echo("stopped")

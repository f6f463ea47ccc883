"""`cohort up`: migrate, seed, start the system (embedded or full) and say how to try it."""

import os
import signal
import sys
from contextlib import contextmanager, suppress

import click
from flask import Flask

from cohort.operations import build_apps, migrate_app, seed_apps
from services import SERVICES
from shared.auth import mint_token
from shared.config import DEV_SERVICE_TOKEN, VAR_DIR
from shared.demo import DEMO_ADMIN_ID, DEMO_MENTOR_ID, DEMO_STUDENT_ID, cohort_of

DEMO_TOKEN_TTL = 24 * 3600
TOPOLOGIES = ("auto", "embedded", "full")


def resolve_topology(topology: str) -> str:
    """auto: the full topology when nginx is installed (gunicorn always is), else embedded."""
    if topology != "auto":
        return topology
    from cohort.stack import StackError, nginx_binary

    try:
        nginx_binary()
    except StackError:
        return "embedded"
    return "full"


def is_production(apps: dict[str, Flask]) -> bool:
    return any(app.config["COHORT_ENV"] == "production" for app in apps.values())


def prepare(apps: dict[str, Flask], students: int, seed: bool, verbose: bool) -> None:
    """Migrate every database, then seed the empty ones, saying what it does as it goes.

    In production nothing is seeded: demo rows must never reach a real database.
    """
    click.echo("Migrating the databases ...")
    for app in apps.values():
        click.echo(f"  {migrate_app(app)}")
    if seed and is_production(apps):
        click.echo("COHORT_ENV=production: no demo data is loaded into production databases "
                   "(`cohort seed` does it on purpose, elsewhere).")
    elif seed:
        click.echo(f"Loading demo data for {students:,} students into empty databases ...")
        seed_apps(apps, students, only_empty=True, log=click.echo if verbose else None)


def try_lines(base_url: str, internal_url: str) -> list[str]:
    """Each service's health page and the registry's lines to try, ready to paste."""
    auth = 'Authorization: Bearer ${}'
    headers = {role: f'-H "{auth.format(role.upper() + "_TOKEN")}"'
               for role in ("student", "mentor", "admin", "service")}
    lines = []
    for name, info in SERVICES.items():
        lines.append(f"curl -s {base_url}/health/{name}/")
        lines += [line.format(base=base_url, internal=internal_url, **headers)
                  for line in info.try_lines]
    return lines


def banner(base_url: str, internal_url: str, topology: str, config: dict) -> str:
    """What `up` prints once the system answers: the URL, demo tokens, lines to try."""
    lines = [f"Cohort Scale is up at {base_url}/ ({topology})", f"Data: {VAR_DIR}", ""]
    if config["COHORT_ENV"] == "production":
        # A token signed with the production secret, printed to a terminal or a log, would
        # let whoever reads it in as an admin for a day.
        lines.append("Tokens: none printed in production; users bring their own, and "
                     "`cohort mint-token` signs one on purpose.")
    elif config["JWT_PUBLIC_KEY"]:
        lines.append("Tokens: JWT_PUBLIC_KEY is set; mint them with "
                     "`cohort mint-token --private-key FILE`.")
    else:
        student = mint_token(config, DEMO_STUDENT_ID, "student", cohort_of(DEMO_STUDENT_ID),
                             DEMO_TOKEN_TTL)
        mentor = mint_token(config, DEMO_MENTOR_ID, "mentor", cohort_of(DEMO_STUDENT_ID),
                            DEMO_TOKEN_TTL)
        admin = mint_token(config, DEMO_ADMIN_ID, "admin", None, DEMO_TOKEN_TTL)
        lines += [f"Demo tokens (valid {DEMO_TOKEN_TTL // 3600} hours):",
                  f"  export STUDENT_TOKEN={student}  # student {DEMO_STUDENT_ID}",
                  f"  export MENTOR_TOKEN={mentor}  # mentor {DEMO_MENTOR_ID}, their cohort",
                  f"  export ADMIN_TOKEN={admin}  # admin {DEMO_ADMIN_ID}"]
    if config["SERVICE_TOKEN"] == DEV_SERVICE_TOKEN and config["COHORT_ENV"] != "production":
        lines.append(f"  export SERVICE_TOKEN={DEV_SERVICE_TOKEN}  # services, on /internal/")
    lines += ["", "Try:", *(f"  {line}" for line in try_lines(base_url, internal_url)), "",
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


@contextmanager
def ignoring_signals():
    previous = {s: signal.signal(s, signal.SIG_IGN) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def _connect_host(host: str) -> str:
    return {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)


def _announce(base_url: str, internal_url: str, topology: str, apps: dict[str, Flask]) -> None:
    click.echo(banner(base_url, internal_url, topology, next(iter(apps.values())).config))
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
    # Signals first: a Ctrl-C while the banner prints stops as cleanly as one after it.
    with stops_on_signals(), suppress(KeyboardInterrupt):
        _announce(base_url, base_url, "embedded: every service in this process", apps)
        server.serve_forever()  # returns on Ctrl-C
    server.server_close()
    click.echo("stopped")


def run_full(host: str, port: int, students: int, seed: bool, verbose: bool) -> None:
    """nginx and one gunicorn per service (cohort.stack); logs under var/stack/logs."""
    from cohort.stack import Stack, StackError

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
            _announce(stack.base_url, stack.internal_url, "full: nginx + one gunicorn per service",
                      apps)
            click.echo(f"Logs: {stack.log_path('nginx').parent}")
            name = stack.wait()
            raise click.ClickException(f"{name} exited; its log ends:\n{stack.log_tail(name)}")
        except KeyboardInterrupt:
            pass
        except StackError as exc:
            raise click.ClickException(str(exc)) from None
        finally:
            click.echo("Stopping: the gateway finishes the requests in flight, then the "
                       "services ...")
            with ignoring_signals():  # a second Ctrl-C must not cut the drain short
                stack.stop()
    click.echo("stopped")

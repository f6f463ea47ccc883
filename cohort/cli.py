"""The `cohort` command: development tokens, migrations, demo data, and the whole system."""

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click

from cohort.launch import TOPOLOGIES, resolve_topology, run_embedded, run_full
from cohort.operations import build_apps, migrate_app, seed_apps
from services import SERVICES
from shared.auth import ROLES, mint_token
from shared.config import ConfigError, common_settings, load_settings
from shared.demo import DEFAULT_STUDENTS, MENTOR_BASE

verbose_option = click.option("--verbose", is_flag=True, help="Report each step.")
dry_run_option = click.option("--dry-run", is_flag=True,
                              help="Say what would change; write nothing.")
services_option = click.option(
    "--service", "names", multiple=True, type=click.Choice(list(SERVICES)),
    help="Only this service (repeatable); default: every service.")
students_option = click.option(
    "--students", type=click.IntRange(0, MENTOR_BASE - 1), default=DEFAULT_STUDENTS,
    show_default=True, help="Demo students 1..N.")


def _library_logs(verbose: bool) -> None:
    """Alembic's and werkzeug's own INFO lines only with --verbose."""
    for name in ("alembic", "werkzeug"):
        logging.getLogger(name).setLevel(logging.INFO if verbose else logging.WARNING)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def cohort():
    """Cohort Scale: run the services, migrate and seed their databases, mint tokens."""


@cohort.command("mint-token")
@click.option("--user", "user_id", type=click.IntRange(min=1), required=True, help="User id.")
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option("--cohort", "cohort_id", type=click.IntRange(min=1), help="Cohort id claim.")
@click.option("--ttl", type=click.IntRange(1, 366 * 24 * 3600), default=3600,
              show_default=True, help="Seconds the token is valid.")
@click.option("--private-key", type=click.File(), help="RS256 private key (PEM file), for "
              "services that verify with JWT_PUBLIC_KEY.")
@verbose_option
def mint_token_command(user_id, role, cohort_id, ttl, private_key, verbose):
    """Print a user token signed like the services expect (JWT_SECRET from the environment)."""
    try:
        config = load_settings(common_settings("cohort"))
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    if config["JWT_PUBLIC_KEY"] and not private_key:
        raise click.ClickException(
            "JWT_PUBLIC_KEY is set, so the services accept only RS256 tokens: pass --private-key")
    key = private_key.read() if private_key else None
    token = mint_token(config, user_id, role, cohort_id, ttl, key)
    if verbose:  # on stderr: stdout stays the bare token, for TOKEN=$(cohort mint-token ...)
        expires = datetime.now(UTC) + timedelta(seconds=ttl)
        click.echo(f"user {user_id}, role {role}, cohort {cohort_id}, "
                   f"{'RS256' if key else 'HS256'}, expires {expires:%Y-%m-%d %H:%M}Z", err=True)
    click.echo(token)


@cohort.command("migrate")
@services_option
@dry_run_option
@verbose_option
def migrate_command(names, dry_run, verbose):
    """Upgrade every service's database to its newest migration (safe to run twice)."""
    _library_logs(verbose)
    for app in build_apps(names).values():
        click.echo(migrate_app(app, dry_run))


@cohort.command("seed")
@services_option
@students_option
@click.option("--notifications-per-student", "per_student", type=click.IntRange(0, 1000),
              help="Notifications each demo user gets (default: 5).")
@click.option("--reset", is_flag=True, help="Delete the demo data first, then seed again.")
@dry_run_option
@verbose_option
def seed_command(names, students, per_student, reset, dry_run, verbose):
    """Load demo data into every service (idempotent: a second run adds nothing)."""
    _library_logs(verbose)
    options = {"notifications": {"per_student": per_student}} if per_student is not None else {}
    seed_apps(build_apps(names), students, options, reset=reset, dry_run=dry_run,
              log=click.echo if verbose else None)


@cohort.command("up")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True,
              help="Port of the system's URL (0: any free port, embedded only).")
@click.option("--topology", type=click.Choice(TOPOLOGIES), default="auto", show_default=True,
              help="embedded: one process; full: nginx + one gunicorn per service; "
                   "auto: full when nginx is installed, else embedded.")
@students_option
@click.option("--no-seed", is_flag=True, help="Load no demo data.")
@verbose_option
def up_command(host, port, topology, students, no_seed, verbose):
    """Migrate, seed empty databases, start the system and print how to try it."""
    _library_logs(verbose)
    run = run_embedded if resolve_topology(topology) == "embedded" else run_full
    run(host, port, students, not no_seed, verbose)


@cohort.command("deploy-files")
@click.option("--check", is_flag=True, help="Write nothing; exit 1 if a file is out of step.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Directory to write into (default: deploy/).")
def deploy_files_command(check, out):
    """Write the deploy files that list every service (Procfile, compose, Kubernetes,
    systemd target and timers) from the registry."""
    from cohort import deployfiles

    directory = out or deployfiles.DEPLOY
    if check:
        problems = deployfiles.stale(directory)
        if problems:
            raise click.ClickException("out of step with the registry (run `cohort "
                                       "deploy-files`): " + ", ".join(problems))
        click.echo("deploy files match the registry")
        return
    written, removed = deployfiles.write(directory)
    for path in removed:
        click.echo(f"removed {path}")
    click.echo(f"wrote {len(written)} files under {directory}")


def main() -> None:
    cohort(prog_name="cohort")


if __name__ == "__main__":
    main()

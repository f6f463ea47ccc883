"""What the `cohort` command does to every service: build its app, migrate, seed."""

from collections.abc import Callable, Iterable
from pathlib import Path

import click
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask
from flask_migrate import upgrade

from services import SERVICES
from shared.config import ConfigError
from shared.locks import AlreadyRunning, command_lock
from shared.migrations import version_table


def build_apps(names: Iterable[str] = (), **config) -> dict[str, Flask]:
    """Each service's app (all of them when `names` is empty), configured as it runs: each
    reads <SERVICE>_DATABASE_URL (and any <SERVICE>_ setting) before the plain variable."""
    try:
        return {n: SERVICES[n].create_app(dict(config)) for n in names or SERVICES}
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


def _current_revision(app: Flask) -> str | None:
    db = app.extensions["sqlalchemy"]
    url = db.engine.url
    if url.get_backend_name() == "sqlite" and url.database and not Path(url.database).exists():
        return None  # connecting would create the file: a dry run must not
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"version_table": version_table(app.name)})
        return ",".join(context.get_current_heads()) or None


def migrate_app(app: Flask, dry_run: bool = False) -> str:
    """Upgrade one service's database to head; a line saying what was (or would be) done."""
    with app.app_context():
        script = ScriptDirectory.from_config(app.extensions["migrate"].migrate.get_config())
        head, current = script.get_current_head(), _current_revision(app)
        if current == head:
            return f"{app.name}: up to date ({head})"
        step = f"{current or 'empty'} -> {head}"
        if dry_run:
            return f"{app.name}: would upgrade {step}"
        try:
            with command_lock(app.extensions["sqlalchemy"], f"migrate-{app.name}"):
                upgrade()
        except AlreadyRunning:
            raise click.ClickException(
                f"another copy is migrating {app.name}; run this again once it ends") from None
        return f"{app.name}: upgraded {step}"


def _seeders(apps: dict[str, Flask]):
    for name, app in apps.items():
        module = SERVICES[name].seed_module()
        if module is not None:
            yield app, module


def seed_apps(apps: dict[str, Flask], students: int, options: dict | None = None, *,
              reset: bool = False, dry_run: bool = False, only_empty: bool = False,
              log: Callable[[str], None] | None = None) -> None:
    """Run each service's seed_demo (its seed.py, as the registry says) and echo its report.

    `options` maps a service name to its own seed_demo keywords; `only_empty` leaves a
    service that holds any data alone.
    """
    for app, module in _seeders(apps):
        with app.app_context():
            if only_empty and not module.is_empty():
                click.echo(f"{app.name}: has data already; not seeded")
                continue
            try:
                report = module.seed_demo(students, reset=reset, dry_run=dry_run, log=log,
                                          **(options or {}).get(app.name, {}))
            except AlreadyRunning:
                click.echo(f"{app.name}: another copy is seeding; skipped")
                continue
            click.echo(str(report))

"""Operator commands of the notifications service (cron-ready)."""

import click
from flask import Flask
from flask.cli import with_appcontext

from services.notifications import service
from services.notifications.db import db
from services.notifications.seed import seed_demo_command
from shared.locks import AlreadyRunning, command_lock


@click.command("purge-notifications")
@click.option("--older-than-days", type=click.IntRange(min=1), default=90, show_default=True,
              help="Delete read notifications read more than this many days ago.")
@click.option("--batch-size", type=click.IntRange(1, 100_000), default=5000, show_default=True)
@click.option("--dry-run", is_flag=True, help="Count what would go; delete nothing.")
@click.option("--verbose", is_flag=True, help="Report each batch.")
@with_appcontext
def purge_notifications(older_than_days, batch_size, dry_run, verbose):
    """Delete old read notifications in batches; a second copy exits without work."""
    log = click.echo if verbose else None
    try:
        with command_lock(db, "purge-notifications"):
            count = service.purge_read(older_than_days, batch_size, dry_run, log)
    except AlreadyRunning:
        click.echo("purge-notifications is already running elsewhere; nothing done.")
        return
    verb = "would delete" if dry_run else "deleted"
    click.echo(f"{verb} {count} read notifications older than {older_than_days} days")


def register_commands(app: Flask) -> None:
    app.cli.add_command(purge_notifications)
    app.cli.add_command(seed_demo_command)

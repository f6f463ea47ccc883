"""Operator commands of the storage service (cron-ready)."""

import click
from flask import Flask
from flask.cli import with_appcontext

from services.storage import cleanup
from services.storage.db import db
from services.storage.seed import seed_demo_command
from shared.locks import AlreadyRunning, command_lock


@click.command("cleanup-storage")
@click.option("--dry-run", is_flag=True, help="Count what would go; remove nothing.")
@click.option("--verbose", is_flag=True, help="Report each step.")
@with_appcontext
def cleanup_storage(dry_run, verbose):
    """Remove expired direct uploads, unfinished uploads and objects with no file."""
    try:
        with command_lock(db, "cleanup-storage"):
            report = cleanup.run(dry_run=dry_run, log=click.echo if verbose else None)
    except AlreadyRunning:
        click.echo("cleanup-storage is already running elsewhere; nothing done.")
        return
    click.echo(str(report))


def register_commands(app: Flask) -> None:
    app.cli.add_command(cleanup_storage)
    app.cli.add_command(seed_demo_command)

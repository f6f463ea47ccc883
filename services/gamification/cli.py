"""Operator commands of the gamification service (cron-ready): each with --dry-run and
--verbose, idempotent, and locked so a second copy exits without work."""

from contextlib import contextmanager

import click
from flask import Flask
from flask.cli import with_appcontext

from services.gamification.db import db
from services.gamification.leaderboard import rebuild_all
from shared.locks import AlreadyRunning, command_lock


@contextmanager
def locked(name: str):
    """The command's lock; another copy running means this one does nothing."""
    try:
        with command_lock(db, name):
            yield
    except AlreadyRunning:
        click.echo(f"{name} is already running elsewhere; nothing done.")


@click.command("rebuild-leaderboards")
@click.option("--season", type=click.IntRange(min=1), help="Only this season's boards.")
@click.option("--dry-run", is_flag=True, help="Say which boards would be copied.")
@click.option("--verbose", is_flag=True, help="Report each board.")
@with_appcontext
def rebuild_leaderboards(season, dry_run, verbose):
    """Copy the boards of unfrozen seasons from the database to Redis (CACHE_URL)."""
    if dry_run:
        click.echo("would copy the boards of unfrozen seasons to Redis (if CACHE_URL is Redis)")
        return
    with locked("rebuild-leaderboards"):
        done = rebuild_all(season)
        for season_id, cohort_id, ok in done if verbose else ():
            click.echo(f"season {season_id} cohort {cohort_id}: {'copied' if ok else 'skipped'}")
        click.echo(f"copied {sum(ok for *_, ok in done)} of {len(done)} boards")


def register_commands(app: Flask) -> None:
    for command in (rebuild_leaderboards,):
        app.cli.add_command(command)

"""Operator commands of the analytics service (cron-ready, locked, with --dry-run)."""

import sys

import click
from flask import Flask
from flask.cli import with_appcontext

from services.analytics.db import db
from services.analytics.recompute import recompute
from services.analytics.seed import seed_demo_command
from services.analytics.verify import verify
from shared.locks import AlreadyRunning, command_lock
from shared.schemas import MAX_ID

ids = click.IntRange(1, MAX_ID)


@click.command("recompute-analytics")
@click.option("--cohort", type=ids, help="Only this cohort (its students and their mentors).")
@click.option("--full", is_flag=True, help="Everything, not only what changed since the last "
              "run (also refreshes every figure's time window).")
@click.option("--dry-run", is_flag=True, help="Say what would be recomputed; write nothing.")
@click.option("--verbose", is_flag=True, help="Report each pass.")
@with_appcontext
def recompute_command(cohort, full, dry_run, verbose):
    """Recompute the dashboard summaries, published at once; a second copy does nothing."""
    try:
        with command_lock(db, "recompute-analytics"):
            report = recompute(cohort=cohort, full=full, dry_run=dry_run,
                               log=click.echo if verbose else None)
    except AlreadyRunning:
        click.echo("recompute-analytics is already running elsewhere; nothing done.")
        return
    click.echo(str(report))


@click.command("verify-analytics")
@click.option("--cohort", type=ids, help="Only this cohort, its students and their mentors.")
@click.option("--sample", type=click.IntRange(min=1),
              help="Compare this many random cohorts, students and mentors of each kind.")
@click.option("--dry-run", is_flag=True, help="Verification writes nothing anyway; accepted "
              "like every command's.")
@click.option("--verbose", is_flag=True, help="Say how much was compared.")
@with_appcontext
def verify_command(cohort, sample, dry_run, verbose):
    """Compare every summary answer with the live one; exit 1 listing each difference."""
    try:
        with command_lock(db, "verify-analytics"):
            found = verify(cohort=cohort, sample=sample, log=click.echo if verbose else None)
    except AlreadyRunning:
        click.echo("verify-analytics is already running elsewhere; nothing done.")
        return
    for line in found:
        click.echo(line)
    if found:
        click.echo(f"{len(found)} differences between the summaries and the live answers")
        sys.exit(1)
    click.echo("the summaries match the live answers")


def register_commands(app: Flask) -> None:
    app.cli.add_command(recompute_command)
    app.cli.add_command(verify_command)
    app.cli.add_command(seed_demo_command)

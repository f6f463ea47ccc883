"""Operator commands of the gamification service (cron-ready): each with --dry-run and
--verbose, idempotent, and locked so a second copy exits without work."""

from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import click
from flask import Flask
from flask.cli import with_appcontext

from services.gamification import outbox, seasons
from services.gamification.db import db
from services.gamification.leaderboard import rebuild_all
from services.gamification.ratelimit import Blocked
from services.gamification.seed import seed_demo_command
from services.gamification.sync import sync_players, to_sync
from shared.db import utcnow
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


@click.command("sync-leetcode-streaks")
@click.option("--student", type=click.IntRange(1, 2**63 - 1), help="Only this player.")
@click.option("--requested", is_flag=True,
              help="Only players who asked for a sync (USE_ASYNC_TASKS); run every minute.")
@click.option("--dry-run", is_flag=True, help="Count the players; ask LeetCode nothing.")
@click.option("--verbose", is_flag=True, help="Report each batch.")
@with_appcontext
def sync_leetcode_streaks(student, requested, dry_run, verbose):
    """Fetch LeetCode activity (batched, rate-limited) and update streaks; exits 2 when
    LeetCode blocks us (403 or a challenge page), leaving the rest for a later run."""
    ids = [student] if student else None
    if dry_run:
        players = to_sync(utcnow(), user_ids=ids, requested=requested)
        click.echo(f"would sync {len(players)} players")
        return
    with locked("sync-leetcode-streaks" + ("-requested" if requested else "")):
        try:
            report = sync_players(user_ids=ids, requested=requested,
                                  log=click.echo if verbose else None)
        except Blocked as exc:
            click.echo(f"stopped early: {exc}", err=True)
            raise SystemExit(2) from None
        click.echo(str(report))


class IsoTime(click.ParamType):
    name = "ISO 8601 time"

    def convert(self, value, param, ctx):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            self.fail(f"{value!r} is not an ISO 8601 time", param, ctx)
        if moment.tzinfo is None:
            self.fail("give the time with its offset, e.g. 2026-12-01T00:00:00Z", param, ctx)
        return moment.astimezone(UTC)


@click.command("update-seasons")
@click.option("--now", type=IsoTime(), help="Take this as the time (default: now).")
@click.option("--dry-run", is_flag=True, help="List the seasons that would be frozen.")
@click.option("--verbose", is_flag=True, help="Report each season.")
@with_appcontext
def update_seasons(now, dry_run, verbose):
    """Freeze every ended season's standings (once) and send their final ranks."""
    now = now or utcnow()
    ended = seasons.ended_unfrozen(now)
    if dry_run:
        click.echo(f"would freeze {len(ended)} seasons: {', '.join(map(str, ended)) or '-'}")
        return
    with locked("update-seasons"):
        frozen = 0
        for season_id in ended:
            ranked = seasons.freeze(season_id, now)
            frozen += ranked is not None
            if verbose:
                click.echo(f"season {season_id}: " + (
                    "frozen by another run" if ranked is None else f"{ranked} players ranked"))
        click.echo(f"froze {frozen} seasons")
        click.echo(f"notifications: {outbox.deliver(report=click.echo if verbose else None)}")


@click.command("deliver-notifications")
@click.option("--retry-now", is_flag=True, help="Also send those waiting for their backoff.")
@click.option("--limit", type=click.IntRange(1), default=100_000, show_default=True)
@click.option("--dry-run", is_flag=True, help="Count what is pending; send nothing.")
@click.option("--verbose", is_flag=True, help="Report each batch.")
@with_appcontext
def deliver_notifications(retry_now, limit, dry_run, verbose):
    """Send pending notifications to the notifications service (retried with backoff)."""
    with locked("deliver-notifications"):
        later = utcnow() + timedelta(days=3650) if retry_now else None
        result = outbox.deliver(limit=limit, dry_run=dry_run, now=later,
                                report=click.echo if verbose else None)
        click.echo(f"would deliver {result.pending}" if dry_run else str(result))


def register_commands(app: Flask) -> None:
    for command in (rebuild_leaderboards, sync_leetcode_streaks, update_seasons,
                    deliver_notifications, seed_demo_command):
        app.cli.add_command(command)

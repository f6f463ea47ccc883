"""The purge command: batches, --dry-run, --verbose, idempotent, one copy at a time."""

from datetime import timedelta

import pytest
from sqlalchemy import update

from services.notifications import service
from services.notifications.db import db
from services.notifications.models import Notification
from shared.db import utcnow
from shared.locks import command_lock

COUNT = "/api/notifications/unread-count"


@pytest.fixture
def aged(app):
    """Ten old read, five recent read and five unread notifications of user 1."""
    with app.app_context():
        for n in range(20):
            service.create_notifications([1], kind="dashboard", category="x", title=f"{n}",
                                         body="", link="", dedupe_key=None)
        ids = sorted(db.session.scalars(db.select(Notification.id)).all())
        old, recent = ids[:10], ids[10:15]
        db.session.execute(update(Notification).where(Notification.id.in_(old))
                           .values(read_at=utcnow() - timedelta(days=120)))
        db.session.execute(update(Notification).where(Notification.id.in_(recent))
                           .values(read_at=utcnow() - timedelta(days=5)))
        db.session.commit()


def test_dry_run_counts_and_deletes_nothing(runner, aged, row_count):
    result = runner.invoke(args=["purge-notifications", "--older-than-days", "90", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "would delete 10" in result.output
    assert row_count() == 20


def test_purge_in_batches_keeps_unread_and_recent(runner, aged, row_count, client, tokens):
    before = client.get(COUNT, headers=tokens.user(1)).json
    result = runner.invoke(args=["purge-notifications", "--older-than-days", "90",
                                 "--batch-size", "3", "--verbose"])
    assert result.exit_code == 0, result.output
    assert result.output.count("deleted 3 ") == 3 and "deleted 1 " in result.output
    assert "deleted 10 read notifications" in result.output
    assert row_count() == 10
    assert client.get(COUNT, headers=tokens.user(1)).json == before
    again = runner.invoke(args=["purge-notifications", "--older-than-days", "90"])
    assert "deleted 0 " in again.output and row_count() == 10


def test_purge_with_the_cache_on_keeps_counts_right(make_app, aged, tokens):
    app = make_app(USE_NOTIFICATION_CACHE="on", CACHE_URL="memory://")
    client = app.test_client()
    before = client.get(COUNT, headers=tokens.user(1)).json
    app.test_cli_runner().invoke(args=["purge-notifications", "--older-than-days", "1"])
    assert client.get(COUNT, headers=tokens.user(1)).json == before
    assert before["unread_count"] == 5


def test_a_second_copy_does_nothing_while_one_runs(app, runner, aged, row_count):
    with app.app_context(), command_lock(db, "purge-notifications"):
        result = runner.invoke(args=["purge-notifications", "--older-than-days", "90"])
    assert result.exit_code == 0
    assert "already running" in result.output
    assert row_count() == 20


def test_bad_arguments_are_refused(runner, aged, row_count):
    for args in (["--older-than-days", "0"], ["--older-than-days", "x"], ["--batch-size", "0"]):
        result = runner.invoke(args=["purge-notifications", *args])
        assert result.exit_code == 2
    assert row_count() == 20

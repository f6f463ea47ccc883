"""Demo notifications (the original team's create_test_users): bulk, idempotent, realistic."""

import random
from datetime import datetime, timedelta

import click
from sqlalchemy import delete, func, select

from services.notifications import counts, service
from services.notifications.db import db
from services.notifications.models import Notification
from shared.db import utcnow
from shared.demo import DEFAULT_STUDENTS, DEMO_ADMIN_ID, SeedReport, seed_command, student_ids
from shared.locks import command_lock

# Seeded rows carry dedupe keys "demo:<n>": a second run inserts nothing, --reset finds them.
DEMO_KEY = "demo:"
DEFAULT_PER_STUDENT = 5
SPREAD = timedelta(days=30)
READ_SHARE = 0.6
BATCH = 5000

MENTORS = ("Amina Yusuf", "Bruno Costa", "Chen Wei", "Dana Kowalski", "Elif Demir")
PROBLEMS = ("Two Sum", "Valid Parentheses", "Merge Intervals", "LRU Cache", "Word Ladder",
            "Course Schedule", "Top K Frequent Elements", "Binary Tree Level Order Traversal")
# (kind, category, title, body, link); the fields are filled per notification.
TEMPLATES = (
    ("dashboard", "review", "{mentor} reviewed “{problem}”",
     "Your submission has feedback: open it to read the comments.", "/submissions/{ref}"),
    ("dashboard", "review", "Changes requested on “{problem}”",
     "{mentor} asked for changes before approving it.", "/submissions/{ref}"),
    ("profile", "streak", "{days}-day streak!",
     "You solved a problem {days} days in a row. Keep it going.", "/profile#streak"),
    ("profile", "streak", "Your streak ended",
     "No LeetCode activity yesterday; your next solve starts a new streak.", "/profile#streak"),
    ("dashboard", "season", "Season {season} has started",
     "Points are back to zero and the leaderboard is open.", "/leaderboard"),
    ("dashboard", "season", "You finished #{rank} in season {season}",
     "The final standings are in.", "/leaderboard?season={season}"),
    ("profile", "system", "Add your LeetCode username",
     "Your streak counts only once your profile names your LeetCode account.", "/profile"),
    ("dashboard", "system", "Maintenance on {day}",
     "The platform is read-only for about ten minutes.", ""),
)
ADMIN_TEMPLATES = tuple(t for t in TEMPLATES if t[1] in ("system", "season"))


def _rows_for(user_id: int, per_student: int, now: datetime, templates=TEMPLATES) -> list[dict]:
    """The user's demo notifications, the same on every run; the newest is always unread."""
    rng = random.Random(user_id)
    ages = sorted((rng.random() * SPREAD for _ in range(per_student)), reverse=True)
    rows = []
    for seq, age in enumerate(ages):
        kind, category, title, body, link = rng.choice(templates)
        fields = {
            "mentor": rng.choice(MENTORS), "problem": rng.choice(PROBLEMS),
            "ref": rng.randrange(1, 100_000), "days": rng.choice((3, 7, 14, 30, 50, 100)),
            "season": rng.randrange(1, 6), "rank": rng.randrange(1, 200),
            "day": (now + timedelta(days=rng.randrange(1, 14))).strftime("%d %B"),
        }
        created = now - age
        read = seq < per_student - 1 and rng.random() < READ_SHARE
        read_at = min(created + timedelta(hours=rng.uniform(0.1, 48)), now) if read else None
        rows.append({
            "user_id": user_id, "kind": kind, "category": category,
            "title": title.format(**fields), "body": body.format(**fields),
            "link": link.format(**fields), "dedupe_key": f"{DEMO_KEY}{seq}",
            "created_at": created, "read_at": read_at,
        })
    return rows


def _batches(students: int, per_student: int):
    """Rows of about BATCH notifications at a time: the students, then the demo admin."""
    now, batch = utcnow(), []
    users = [(u, TEMPLATES) for u in student_ids(students)] + [(DEMO_ADMIN_ID, ADMIN_TEMPLATES)]
    for user_id, templates in users:
        batch.extend(_rows_for(user_id, per_student, now, templates))
        if len(batch) >= BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _demo_rows(students: int, per_student: int):
    """The condition matching seeded rows of these demo users."""
    users = Notification.user_id.between(1, students) | (Notification.user_id == DEMO_ADMIN_ID)
    keys = [f"{DEMO_KEY}{i}" for i in range(per_student)]
    return users & Notification.dedupe_key.in_(keys)


def is_empty() -> bool:
    """Whether the service holds no notification at all (a fresh install)."""
    return db.session.scalar(select(Notification.id).limit(1)) is None


def seed_demo(students: int = DEFAULT_STUDENTS, per_student: int = DEFAULT_PER_STUDENT, *,
              reset: bool = False, dry_run: bool = False, log=None) -> SeedReport:
    """Give students 1..N and the demo admin `per_student` notifications each.

    Idempotent: a row already seeded is skipped. `reset` deletes every demo row first.
    Raises AlreadyRunning when another copy is seeding.
    """
    report = SeedReport("notifications", dry_run=dry_run)
    total = (students + 1) * per_student
    with command_lock(db, "seed-demo"):
        demo = Notification.dedupe_key.like(f"{DEMO_KEY}%")
        if reset:
            owners = db.session.scalars(select(Notification.user_id).where(demo).distinct()).all()
            report.deleted = db.session.scalar(select(func.count()).where(demo))
            if not dry_run:
                db.session.execute(delete(Notification).where(demo))
                db.session.commit()
                counts.invalidate(owners)
        if dry_run:
            existing = 0 if reset else db.session.scalar(
                select(func.count()).where(_demo_rows(students, per_student)))
            report.created = total - existing
            return report
        for batch in _batches(students, per_student):
            with db.transaction() as conn:
                created = service.insert_new(conn, batch)
            counts.invalidate(created)
            report.created += len(created)
            if log:
                log(f"notifications: inserted {len(created)} of {len(batch)} rows "
                    f"(up to user {batch[-1]['user_id']})")
    return report


seed_demo_command = seed_command(
    seed_demo, "Load demo notifications for students 1..N and the demo admin (idempotent).",
    click.option("--per-student", type=click.IntRange(0, 1000), default=DEFAULT_PER_STUDENT,
                 show_default=True, help="Notifications each demo user gets."))

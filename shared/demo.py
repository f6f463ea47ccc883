"""Who the demo data is about: students 1..N in cohorts of 25, a mentor per cohort, and one
admin above them all. Every service's seed uses these, so the demo users line up."""

from dataclasses import dataclass

import click
from flask.cli import with_appcontext

from shared.locks import AlreadyRunning

DEFAULT_STUDENTS = 2000
DEMO_ADMIN_ID = 1_000_000  # above any demo student, so `--students` never collides with it
MENTOR_BASE = 900_000  # mentors are 900001, 900002, ...: one per cohort
DEMO_STUDENT_ID = 1
COHORT_SIZE = 25


def student_ids(students: int) -> range:
    """The ids of the first `students` demo students."""
    if not 0 <= students < MENTOR_BASE:
        raise ValueError(f"students must be between 0 and {MENTOR_BASE - 1}")
    return range(1, students + 1)


def cohort_of(student_id: int) -> int:
    return (student_id - 1) // COHORT_SIZE + 1


def cohorts(students: int) -> range:
    """The cohorts that students 1..N fill."""
    return range(1, cohort_of(students) + 1) if students else range(0)


def mentor_of(cohort_id: int) -> int:
    """The demo mentor of a cohort."""
    return MENTOR_BASE + cohort_id


DEMO_MENTOR_ID = mentor_of(cohort_of(DEMO_STUDENT_ID))


@dataclass
class SeedReport:
    """What a seeding run created and deleted (or, in a dry run, would): "<service>: created
    <n> <what>"."""

    service: str
    what: str = ""
    created: int = 0
    deleted: int = 0
    dry_run: bool = False

    def __str__(self) -> str:
        verb = "would create" if self.dry_run else "created"
        deleted = f", {'would delete' if self.dry_run else 'deleted'} {self.deleted}"
        return (f"{self.service}: {verb} {f'{self.created} {self.what}'.rstrip()}"
                + (deleted if self.deleted else ""))


def seed_command(seed_demo, summary: str, *options) -> click.Command:
    """A service's `seed-demo` command around its `seed_demo(students, *, reset, dry_run,
    log, ...)`: --students, --reset, --dry-run, --verbose, and the service's own `options`
    (click options, passed on to seed_demo by name)."""

    @click.command("seed-demo", help=summary)
    @click.option("--students", type=click.IntRange(0, MENTOR_BASE - 1),
                  default=DEFAULT_STUDENTS, show_default=True, help="Demo students 1..N.")
    @click.option("--reset", is_flag=True, help="Delete the demo data first.")
    @click.option("--dry-run", is_flag=True, help="Say what would change; write nothing.")
    @click.option("--verbose", is_flag=True, help="Report each step.")
    @with_appcontext
    def command(students, reset, dry_run, verbose, **extra):
        try:
            report = seed_demo(students, reset=reset, dry_run=dry_run,
                               log=click.echo if verbose else None, **extra)
        except AlreadyRunning:
            click.echo("seed-demo is already running elsewhere; nothing done.")
            return
        click.echo(str(report))

    for option in options:
        command = option(command)
    return command

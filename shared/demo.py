"""Who the demo data is about: students 1..N in cohorts of 25, a mentor per cohort, and one
admin above them all. Every service's seed uses these, so the demo users line up."""

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

"""Who the demo data is about: students 1..N in cohorts, and one admin above them."""

DEFAULT_STUDENTS = 2000
DEMO_ADMIN_ID = 1_000_000  # above any demo student, so `--students` never collides with it
DEMO_STUDENT_ID = 1
COHORT_SIZE = 25


def student_ids(students: int) -> range:
    """The ids of the first `students` demo students."""
    if not 0 <= students < DEMO_ADMIN_ID:
        raise ValueError(f"students must be between 0 and {DEMO_ADMIN_ID - 1}")
    return range(1, students + 1)


def cohort_of(student_id: int) -> int:
    return (student_id - 1) // COHORT_SIZE + 1

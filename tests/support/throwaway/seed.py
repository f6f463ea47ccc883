"""Demo data of the throw-away service: one echo per student."""

from sqlalchemy import func, insert, select

from tests.support.throwaway import Echo, db


def is_empty() -> bool:
    return db.session.scalar(select(func.count()).select_from(Echo)) == 0


def seed_demo(students: int, *, reset: bool = False, dry_run: bool = False, log=None) -> str:
    if not dry_run:
        db.session.execute(insert(Echo), [{"text": f"hello {n}"} for n in range(1, students + 1)])
        db.session.commit()
    return f"throwaway: created {students} echoes"

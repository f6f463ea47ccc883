"""Seasons: created and moved without conflicts, their status by the clock, frozen when over."""

from collections import defaultdict
from datetime import datetime

from sqlalchemy import and_, insert, literal, or_, select, update
from sqlalchemy.sql import func

from services.gamification import mirror, outbox
from services.gamification.boards import BoardChanges, rebuild_season
from services.gamification.db import db, write_transaction
from services.gamification.models import Board, Season, Standing, Total
from shared.db import isoformat_z, utcnow
from shared.errors import Problem

SE, ST, T, B = Season.__table__, Standing.__table__, Total.__table__, Board.__table__
COLUMNS = (SE.c.id, SE.c.name, SE.c.cohort_id, SE.c.starts_at, SE.c.ends_at, SE.c.frozen)
STATUSES = ("scheduled", "active", "closed")


def status(starts_at: datetime, ends_at: datetime, now: datetime) -> str:
    if now < starts_at:
        return "scheduled"
    return "active" if now < ends_at else "closed"


def season_dict(row, now: datetime) -> dict:
    """A season as the API shows it; `row` is (id, name, cohort_id, starts_at, ends_at,
    frozen)."""
    season_id, name, cohort_id, starts_at, ends_at, frozen = row[:6]
    return {"id": season_id, "name": name, "cohort_id": cohort_id,
            "starts_at": isoformat_z(starts_at), "ends_at": isoformat_z(ends_at),
            "status": status(starts_at, ends_at, now), "frozen": bool(frozen)}


def for_cohort(cohort_id: int | None):
    """Seasons that apply to a cohort: its own and every-cohort ones."""
    if cohort_id is None:
        return SE.c.cohort_id.is_(None)
    return or_(SE.c.cohort_id == cohort_id, SE.c.cohort_id.is_(None))


def status_is(name: str, now: datetime):
    return {"scheduled": SE.c.starts_at > now,
            "active": and_(SE.c.starts_at <= now, SE.c.ends_at > now),
            "closed": SE.c.ends_at <= now}[name]


def list_seasons(*, cohort: int | None = None, status: str | None = None) -> list[dict]:
    """Seasons, latest start first; of one cohort (every-cohort ones included), of one status."""
    now = utcnow()
    query = select(*COLUMNS).order_by(SE.c.starts_at.desc(), SE.c.id.desc())
    if cohort is not None:
        query = query.where(for_cohort(cohort))
    if status:
        query = query.where(status_is(status, now))
    return [season_dict(row, now) for row in db.rows(query)]


def current_season(cohort_id: int | None) -> dict:
    """The active season of a cohort; 404 when there is none."""
    now = utcnow()
    row = db.row(select(*COLUMNS).where(for_cohort(cohort_id), status_is("active", now))
                 .order_by(SE.c.starts_at.desc()).limit(1))
    if row is None:
        raise Problem(404, "No season is active for your cohort now.")
    return season_dict(row, now)


def _check_conflict(conn, season_id: int | None, cohort_id: int | None, starts_at, ends_at):
    clash = select(SE.c.id, SE.c.name).where(SE.c.starts_at < ends_at, SE.c.ends_at > starts_at)
    if cohort_id is not None:
        clash = clash.where(or_(SE.c.cohort_id == cohort_id, SE.c.cohort_id.is_(None)))
    if season_id is not None:
        clash = clash.where(SE.c.id != season_id)
    found = conn.execute(clash.limit(1)).first()
    if found is not None:
        raise Problem(409, f"It overlaps season {found[0]} ({found[1]}) of the same cohort; "
                           "seasons of a cohort may not overlap.", title="Conflict")


def _valid_range(starts_at: datetime, ends_at: datetime) -> None:
    if ends_at <= starts_at:
        raise Problem(400, "ends_at must be after starts_at.", title="Invalid request",
                      errors={"ends_at": ["Must be after starts_at."]})


def create_season(*, name: str, cohort_id: int | None, starts_at: datetime,
                  ends_at: datetime) -> dict:
    """A new season, its boards built from the ledger; 409 if it overlaps one of its cohort."""
    _valid_range(starts_at, ends_at)
    now = utcnow()
    changes = BoardChanges()
    with write_transaction(seasons="exclusive") as conn:
        _check_conflict(conn, None, cohort_id, starts_at, ends_at)
        season_id = conn.execute(insert(SE).values(
            name=name, cohort_id=cohort_id, starts_at=starts_at, ends_at=ends_at, frozen=False,
            created_at=now).returning(SE.c.id)).scalar_one()
        rebuild_season(conn, season_id, cohort_id, starts_at, ends_at, changes)
        changes.write(conn)
    return season_dict((season_id, name, cohort_id, starts_at, ends_at, False), now)


def update_season(season_id: int, *, name: str | None = None, starts_at: datetime | None = None,
                  ends_at: datetime | None = None) -> dict:
    """Rename any time; move only while scheduled (409 after it started or on overlap)."""
    now = utcnow()
    changes = BoardChanges()
    with write_transaction(seasons="exclusive") as conn:
        row = conn.execute(select(*COLUMNS).where(SE.c.id == season_id).with_for_update()).first()
        if row is None:
            raise Problem(404, f"There is no season {season_id}.")
        _, old_name, cohort_id, old_starts, old_ends, frozen = row
        moving = (starts_at is not None and starts_at != old_starts) or (
            ends_at is not None and ends_at != old_ends)
        starts_at, ends_at = starts_at or old_starts, ends_at or old_ends
        if moving:
            if status(old_starts, old_ends, now) != "scheduled":
                raise Problem(409, "A season's dates can change only before it starts.",
                              title="Conflict")
            _valid_range(starts_at, ends_at)
            _check_conflict(conn, season_id, cohort_id, starts_at, ends_at)
        name = name if name is not None else old_name
        conn.execute(update(SE).where(SE.c.id == season_id).values(
            name=name, starts_at=starts_at, ends_at=ends_at))
        if moving:
            rebuild_season(conn, season_id, cohort_id, starts_at, ends_at, changes)
            changes.write(conn)
    return season_dict((season_id, name, cohort_id, starts_at, ends_at, frozen), now)


def ended_unfrozen(now: datetime) -> list[int]:
    """Seasons over by `now` whose standings are not stored yet."""
    return [row[0] for row in db.rows(select(SE.c.id).where(
        SE.c.ends_at <= now, SE.c.frozen.is_(False)).order_by(SE.c.ends_at, SE.c.id))]


def freeze(season_id: int, now: datetime, *, notify: bool = True) -> int | None:
    """Store an ended season's final standings once and queue each player's final rank, in
    one transaction. None when another run froze it first; else the players ranked."""
    with write_transaction(seasons="exclusive") as conn:
        row = conn.execute(select(*COLUMNS).where(SE.c.id == season_id).with_for_update()).first()
        if row is None or row[5] or row[4] > now:
            return None
        ranked = T.c.points.desc()
        by_board = (T.c.cohort_id,)
        conn.execute(insert(ST).from_select(
            ["season_id", "user_id", "cohort_id", "position", "rank", "tied", "points"],
            select(T.c.season_id, T.c.user_id, T.c.cohort_id,
                   func.row_number().over(partition_by=by_board, order_by=(ranked, T.c.user_id)),
                   func.rank().over(partition_by=by_board, order_by=ranked),
                   func.count(literal(1)).over(partition_by=(T.c.cohort_id, T.c.points)),
                   T.c.points).where(T.c.season_id == season_id)))
        conn.execute(update(SE).where(SE.c.id == season_id).values(frozen=True, frozen_at=now))
        standings = conn.execute(select(ST.c.cohort_id, ST.c.rank, ST.c.user_id)
                                 .where(ST.c.season_id == season_id)
                                 .order_by(ST.c.cohort_id, ST.c.position)).all()
        sizes = defaultdict(int)
        for cohort_id, _, _ in standings:
            sizes[cohort_id] += 1
        for cohort_id, size in sizes.items():
            conn.execute(update(B).where(B.c.season_id == season_id, B.c.cohort_id == cohort_id)
                         .values(players=size, version=B.c.version + 1))
        if notify:
            outbox.queue(conn, final_ranks(row, standings, sizes), now)
    board_mirror = mirror.current()
    for cohort_id in sizes if board_mirror else ():
        board_mirror.drop(season_id, cohort_id)
    return len(standings)


def final_ranks(season, standings, sizes) -> list[dict]:
    """One message per rank of each board (tied players share one), chunked as the
    notifications service takes them; each player's dedupe key names the season."""
    season_id, name = season[0], season[1]
    groups = defaultdict(list)
    for cohort_id, rank, user_id in standings:
        groups[(cohort_id, rank)].append(user_id)
    messages = []
    for (cohort_id, rank), users in groups.items():
        for part, start in enumerate(range(0, len(users), outbox.MAX_USERS)):
            messages.append(outbox.message(
                f"season-final:{season_id}:{cohort_id}:{rank}:{part}",
                users[start:start + outbox.MAX_USERS], kind="dashboard", category="season",
                title=f"You finished #{rank} in {name}",
                body=f"The final standings of {name} are in: #{rank} of {sizes[cohort_id]}.",
                link=f"/leaderboard?season={season_id}",
                dedupe_key=f"gamification:season-final:{season_id}"))
    return messages

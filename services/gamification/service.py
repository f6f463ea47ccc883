"""Players: their profile, streak, points and activity as the API shows them, who may see
them, and their upsert by the core app."""

import math
import time
from datetime import date, datetime, timedelta
from types import SimpleNamespace

from flask import current_app
from sqlalchemy import bindparam, insert, or_, select, update

from services.gamification import mirror
from services.gamification.activity import STATE, recompute
from services.gamification.boards import BoardChanges, place_player, refresh_cohorts
from services.gamification.db import db, write_transaction
from services.gamification.models import OVERALL, ActivityDay, Player, Season, Total
from services.gamification.ratelimit import Blocked
from services.gamification.streaks import Run, reference_day, today
from services.gamification.sync import sync_players
from shared.auth import Principal
from shared.db import UTCDateTime, isoformat_z, utcnow
from shared.errors import Problem

P, T, SE, D = Player.__table__, Total.__table__, Season.__table__, ActivityDay.__table__
MAX_DAYS = 366


# The player's points in the active season of their cohort (0 when there is none).
SEASON_POINTS = (select(T.c.points).join(SE, SE.c.id == T.c.season_id).where(
    T.c.user_id == P.c.user_id, T.c.season_id != OVERALL,
    SE.c.starts_at <= bindparam("now", type_=UTCDateTime()), SE.c.ends_at > bindparam("now"),
    or_(SE.c.cohort_id.is_(None), SE.c.cohort_id == P.c.cohort_id)).limit(1).scalar_subquery())
TOTAL_POINTS = select(T.c.points).where(T.c.user_id == P.c.user_id,
                                        T.c.season_id == OVERALL).scalar_subquery()
# A player as the API shows them; built once, a request binds `now` and the ids.
VIEW = select(P.c.user_id, P.c.cohort_id, P.c.display_name, P.c.leetcode_username,
              P.c.timezone, P.c.run_length, P.c.longest, P.c.last_active_date, P.c.synced_at,
              P.c.sync_at, P.c.sync_ok, P.c.sync_error, SEASON_POINTS.label("season_points"),
              TOTAL_POINTS.label("total_points"))
VIEW_ONE = VIEW.where(P.c.user_id == bindparam("user_id"))
VIEW_MANY = VIEW.where(P.c.user_id.in_(bindparam("ids", expanding=True)))


def streak_dict(row, now: datetime) -> dict:
    """A player's streak as of what is known (see streaks.reference_day)."""
    named = row.leetcode_username is not None
    as_of = row.synced_at if named and row.synced_at is not None and row.synced_at < now else now
    run = Run(row.run_length, row.longest, row.last_active_date)
    last_sync = None if row.sync_at is None else {
        "at": isoformat_z(row.sync_at), "ok": bool(row.sync_ok), "error": row.sync_error}
    return {"current": run.current(reference_day(row.timezone, row.synced_at, named, now)),
            "longest": row.longest,
            "last_active_date": row.last_active_date.isoformat() if row.last_active_date else None,
            "today": today(row.timezone, now).isoformat(), "timezone": row.timezone,
            "as_of": isoformat_z(as_of), "last_sync": last_sync}


def player_dict(row, now: datetime) -> dict:
    return {"user_id": row.user_id, "cohort_id": row.cohort_id, "display_name": row.display_name,
            "leetcode_username": row.leetcode_username, "timezone": row.timezone,
            "streak": streak_dict(row, now), "points": points_dict(row)}


def points_dict(row) -> dict:
    return {"season": int(row.season_points or 0), "total": int(row.total_points or 0)}


def can_see(principal: Principal, user_id: int, cohort_id: int) -> bool:
    """The player themself, a mentor of their cohort, an admin."""
    return (principal.user_id == user_id or principal.role == "admin"
            or (principal.role == "mentor" and principal.cohort_id == cohort_id))


def visible_player(principal: Principal, user_id: int):
    """The player's view row; 404 when there is none or the caller may not see it."""
    row = db.fetch_one(VIEW_ONE, {"user_id": user_id, "now": utcnow()})
    if row is None or not can_see(principal, user_id, row.cohort_id):
        raise Problem(404, f"There is no player {user_id} you can see.")
    return row


def get_player(*, principal: Principal, user_id: int) -> dict:
    return player_dict(visible_player(principal, user_id), utcnow())


def get_streak(*, principal: Principal, user_id: int) -> dict:
    return streak_dict(visible_player(principal, user_id), utcnow())


def players_batch(*, user_ids: list[int]) -> dict:
    """Streak and points of many players in one query; unknown ids are absent."""
    now = utcnow()
    rows = db.fetch(VIEW_MANY, {"ids": sorted(set(user_ids)), "now": now})
    return {"players": {str(r.user_id): {"streak": streak_dict(r, now), "points": points_dict(r)}
                        for r in rows}}


def get_activity(*, principal: Principal, user_id: int, start: date | None,
                 end: date | None) -> dict:
    """Active days oldest first, in [start, end] (the last 365 days by default)."""
    row = db.row(select(P.c.cohort_id, P.c.timezone).where(P.c.user_id == user_id))
    if row is None or not can_see(principal, user_id, row.cohort_id):
        raise Problem(404, f"There is no player {user_id} you can see.")
    end = end or (start + timedelta(days=364) if start else today(row.timezone))
    start = start or end - timedelta(days=364)
    if end < start:
        raise Problem(400, "`from` must not be after `to`.", title="Invalid request",
                      errors={"from": ["Must not be after to."]})
    if (end - start).days + 1 > MAX_DAYS:
        raise Problem(400, f"The range may cover at most {MAX_DAYS} days.",
                      title="Invalid request", errors={"to": [f"At most {MAX_DAYS} days."]})
    rows = db.rows(select(D.c.day, D.c.leetcode, D.c.platform).where(
        D.c.user_id == user_id, D.c.day >= start, D.c.day <= end).order_by(D.c.day))
    return {"days": [{"date": d.isoformat(), "leetcode": lc, "platform": pf}
                     for d, lc, pf in rows]}


def upsert_player(user_id: int, *, cohort_id: int, display_name: str,
                  leetcode_username: str | None, timezone: str) -> bool:
    """Create or update a player (the core app's PUT); True when created. The same body
    again changes nothing. A new cohort moves them between boards; a new zone rebuilds their
    days from the stored timestamps."""
    now = utcnow()
    profile = {"cohort_id": cohort_id, "display_name": display_name,
               "leetcode_username": leetcode_username, "timezone": timezone}
    changes = BoardChanges()
    with write_transaction(seasons="shared") as conn:
        row = conn.execute(select(*STATE, P.c.display_name, P.c.leetcode_username)
                           .where(P.c.user_id == user_id).with_for_update()).first()
        if row is None:
            conn.execute(insert(P).values(user_id=user_id, **profile, run_length=0, longest=0,
                                          created_at=now, updated_at=now))
            place_player(conn, user_id, cohort_id, changes)
        else:
            if all(getattr(row, name) == value for name, value in profile.items()):
                return False
            conn.execute(update(P).where(P.c.user_id == user_id).values(**profile, updated_at=now))
            if row.cohort_id != cohort_id:
                place_player(conn, user_id, cohort_id, changes)
            if row.timezone != timezone:
                moved = SimpleNamespace(**{**row._mapping, "timezone": timezone})
                recompute(conn, {user_id: moved}, now)
            refresh_cohorts(conn, [cohort_id], changes)
        written = changes.write(conn)
    mirror.follow(written)
    return row is None



def request_sync(*, principal: Principal, user_id: int, queued: bool) -> dict | None:
    """Sync a player now (their streak), or queue it (None): at most one attempt every
    SYNC_INTERVAL_SECONDS for the player themself (failed ones count), any for an admin."""
    config, now = current_app.config, utcnow()
    with write_transaction() as conn:
        row = conn.execute(select(P.c.cohort_id, P.c.leetcode_username, P.c.sync_attempt_at)
                           .where(P.c.user_id == user_id).with_for_update()).first()
        if row is None or not can_see(principal, user_id, row.cohort_id):
            raise Problem(404, f"There is no player {user_id} you can see.")
        if row.leetcode_username is None:
            raise Problem(409, "The player has no LeetCode username to sync.", title="Conflict")
        interval = timedelta(seconds=config["SYNC_INTERVAL_SECONDS"])
        if principal.role != "admin" and row.sync_attempt_at is not None and \
                now - row.sync_attempt_at < interval:
            wait = math.ceil((row.sync_attempt_at + interval - now).total_seconds())
            raise Problem(429, f"A sync was asked for less than {interval.seconds // 60 or 1} "
                               f"minutes ago; try again in {wait} s.",
                          headers={"Retry-After": str(wait)})
        conn.execute(update(P).where(P.c.user_id == user_id).values(
            sync_attempt_at=now, **({"sync_requested_at": now} if queued else {})))
    if queued:
        return None
    try:
        report = sync_players(user_ids=[user_id],
                              deadline=time.monotonic() + config["LEETCODE_TIMEOUT"])
    except Blocked as exc:
        raise Problem(502, f"LeetCode is refusing our requests for now: {exc}",
                      title="Bad Gateway") from None
    if report.errors:
        raise Problem(502, report.errors.get(user_id, "LeetCode did not answer."),
                      title="Bad Gateway")
    return get_streak(principal=principal, user_id=user_id)

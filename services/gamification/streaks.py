"""Streaks, as pure functions of stored activity and a player's time zone.

A day is a calendar day in the player's own zone. The stored state of a streak is the run of
consecutive active days ending at the last active day; the current streak follows from it
and the day it is asked about: the run counts while it ends on that day or the day before
(that day is not over yet, so it is not yet missed).
"""

import itertools
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

ONE_DAY = timedelta(days=1)
NEVER = datetime.max.replace(tzinfo=UTC)
MILESTONES = (7, 30, 100, 365)
LOST_AFTER = 7  # a run at least this long that ends is told to the player as lost


@lru_cache(maxsize=1024)
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def local_day(moment: int | float | datetime, zone_name: str) -> date:
    """The calendar day in `zone_name` of a unix timestamp or an aware datetime."""
    if not isinstance(moment, datetime):
        moment = datetime.fromtimestamp(moment, UTC)
    return moment.astimezone(zone(zone_name)).date()


def calendar_day(utc_date: date, zone_name: str) -> date:
    """The local day a LeetCode calendar count (a UTC day) is put on.

    The count only says that submissions happened between two UTC midnights, a span that
    covers parts of two local days in any zone but UTC. It is put on the local day that
    holds the span's middle, 12:00 UTC: the same date for zones from UTC-12 to UTC+12, the
    next one for UTC+13 and UTC+14.
    """
    return local_day(datetime.combine(utc_date, time(12), UTC), zone_name)


@dataclass(frozen=True)
class Run:
    """The stored streak: the run ending at `last_active` and the longest run ever."""

    length: int = 0
    longest: int = 0
    last_active: date | None = None

    def current(self, reference: date) -> int:
        """The current streak on `reference` (the day it is asked about)."""
        return current_streak(self.length, self.last_active, reference)

    @property
    def start(self) -> date | None:
        return None if self.last_active is None else self.last_active - (self.length - 1) * ONE_DAY


def current_streak(length: int, last_active: date | None, reference: date) -> int:
    """A run of `length` days ending on `last_active`, on `reference`: it counts while it
    ends on that day or the day before (that day is not over yet, so not yet missed)."""
    if last_active is None or last_active < reference - ONE_DAY:
        return 0
    return length


def summarize(days: Iterable[date]) -> Run:
    """The streak of a set of active days, in any order, repeats allowed."""
    ordered = sorted(set(days))
    if not ordered:
        return Run()
    longest = length = 1
    for before, day in itertools.pairwise(ordered):
        length = length + 1 if day - before == ONE_DAY else 1
        longest = max(longest, length)
    return Run(length, longest, ordered[-1])


def extend(run: Run, new_days: Iterable[date]) -> Run | None:
    """The run after adding days later than its last active day; None when a day is not
    later (the whole history must be read again)."""
    length, longest, last = run.length, run.longest, run.last_active
    for day in sorted(set(new_days)):
        if last is not None and day <= last:
            return None
        length = length + 1 if last is not None and day - last == ONE_DAY else 1
        longest, last = max(longest, length), day
    return Run(length, longest, last)


def milestones_reached(before: Run, after: Run) -> list[int]:
    """Milestones the run ending at `after.last_active` passed that `before` had not."""
    if after.last_active is None:
        return []
    same_run = before.last_active is not None and before.start == after.start
    had = before.length if same_run else 0
    return [m for m in MILESTONES if had < m <= after.length]


def activity(submissions: Iterable[int], calendar: Iterable[tuple[date, int]],
             awards: Iterable[tuple[datetime, int]], zone_name: str) -> dict[date, list[int]]:
    """Active days from stored sources: day -> [accepted submissions, positive awards].

    Submissions (unix timestamps) give exact days. Calendar counts (UTC days) fill in only
    the history before the earliest stored submission, which the recent list never reached.
    """
    days: dict[date, list[int]] = {}
    stamps = list(submissions)
    for day, count in Counter(local_day(s, zone_name) for s in stamps).items():
        days.setdefault(day, [0, 0])[0] += count
    exact_from = min(stamps, default=None)
    for utc_date, count in calendar:
        end = datetime.combine(utc_date + ONE_DAY, time(), UTC).timestamp()
        if count > 0 and (exact_from is None or end <= exact_from):
            days.setdefault(calendar_day(utc_date, zone_name), [0, 0])[0] += count
    for moment, points in awards:
        if points > 0:
            days.setdefault(local_day(moment, zone_name), [0, 0])[1] += 1
    return days


def today(zone_name: str, now: datetime | None = None) -> date:
    return local_day(now or datetime.now(UTC), zone_name)


def reference_day(zone_name: str, synced_at: datetime | None, has_username: bool,
                  now: datetime) -> date:
    """The day a streak is known complete up to: the day of the last successful LeetCode
    sync for a player with a username (a sync that has not run yet, or failed, never makes
    a day count as missed), otherwise today."""
    if has_username and synced_at is not None and synced_at < now:
        return local_day(synced_at, zone_name)
    return local_day(now, zone_name)


def reference_changes(zone_name: str, synced_at: datetime | None, has_username: bool,
                      now: datetime) -> datetime:
    """The first moment after `now` when reference_day could give another day, unless the
    player changes first (NEVER: not until then)."""
    if has_username and synced_at is not None and synced_at < now:
        return NEVER
    midnight = datetime.combine(local_day(now, zone_name) + ONE_DAY, time(), zone(zone_name))
    changes = midnight.astimezone(UTC)
    return min(changes, synced_at) if has_username and synced_at is not None else changes

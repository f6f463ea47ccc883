"""The streak function, by properties (hypothesis) and by the contract's examples."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from services.gamification.streaks import (
    Run,
    activity,
    calendar_day,
    extend,
    local_day,
    milestones_reached,
    reference_day,
    summarize,
)

HONOLULU, KIRITIMATI = "Pacific/Honolulu", "Pacific/Kiritimati"  # UTC-10 and UTC+14, no DST
ZONES = ("UTC", "Asia/Kolkata", "America/New_York", "Europe/Berlin", "Australia/Lord_Howe",
         HONOLULU, KIRITIMATI, "America/St_Johns", "Asia/Kathmandu")
START = int(datetime(2024, 1, 1, tzinfo=UTC).timestamp())
stamps = st.lists(st.integers(START, START + 400 * 86_400), max_size=60)
zones = st.sampled_from(ZONES)


def streak(days, reference):
    run = summarize(days)
    return run.current(reference), run.longest, run.last_active


@settings(max_examples=200)
@given(stamps, zones, st.randoms(use_true_random=False), st.integers(START, START + 410 * 86_400))
def test_any_order_of_the_same_activity_gives_the_same_streak(solved, zone, rng, now):
    reference = local_day(now, zone)
    shuffled = solved[:]
    rng.shuffle(shuffled)
    twice = shuffled + solved  # a second sync of the same data changes nothing
    first = activity(solved, [], [], zone)
    assert activity(shuffled, [], [], zone) == first
    assert streak(first, reference) == streak(activity(twice, [], [], zone), reference)
    assert streak(list(reversed(list(first))), reference) == streak(first, reference)


@settings(max_examples=200)
@given(stamps, st.integers(START, START + 410 * 86_400))
def test_utc_minus_10_and_utc_plus_14_at_the_same_instant(solved, now):
    # The two zones are exactly a day apart: every instant is on "tomorrow" in Kiritimati.
    assert local_day(now, KIRITIMATI) - local_day(now, HONOLULU) == timedelta(days=1)
    west = activity(solved, [], [], HONOLULU)
    east = activity(solved, [], [], KIRITIMATI)
    assert sorted(d + timedelta(days=1) for d in west) == sorted(east)
    west_streak = streak(west, local_day(now, HONOLULU))
    assert west_streak[:2] == streak(east, local_day(now, KIRITIMATI))[:2]


@given(st.integers(START, START + 400 * 86_400))
def test_the_same_instant_can_be_two_different_days(moment):
    assert local_day(moment, HONOLULU) != local_day(moment, KIRITIMATI)


DST_DAYS = [date(2024, 3, 10), date(2024, 11, 3), date(2025, 3, 9), date(2025, 11, 2)]


@settings(max_examples=200)
@given(st.sampled_from(DST_DAYS), st.integers(1, 4), st.integers(1, 4),
       st.lists(st.tuples(st.integers(0, 23), st.integers(0, 59)), min_size=9, max_size=9))
def test_a_daylight_saving_change_day_is_one_day(change, before, after, times):
    """One solve a day at any local time, across a 23- or 25-hour day: no gap, no double."""
    new_york = ZoneInfo("America/New_York")
    days = [change + timedelta(days=k) for k in range(-before, after + 1)]
    solved = []
    for day, (hour, minute) in zip(days, times[:len(days)], strict=True):
        local = datetime(day.year, day.month, day.day, hour, minute, tzinfo=new_york)
        solved.append(int(local.timestamp()))  # 02:30 on the spring day exists as 03:30
    got = activity(solved, [], [], "America/New_York")
    assert sorted(got) == days
    run = summarize(got)
    assert (run.length, run.longest, run.last_active) == (len(days), len(days), days[-1])


def test_the_change_day_itself_holds_23_or_25_hours():
    for change, hours in ((date(2024, 3, 10), 23), (date(2024, 11, 3), 25)):
        start = datetime(change.year, change.month, change.day, tzinfo=ZoneInfo("America/New_York"))
        first, last = int(start.timestamp()), int(start.timestamp()) + hours * 3600 - 1
        assert {local_day(first, "America/New_York"), local_day(last, "America/New_York")} == {
            change}
        assert local_day(last + 1, "America/New_York") == change + timedelta(days=1)


@settings(max_examples=200)
@given(st.lists(st.dates(date(2024, 1, 1), date(2024, 3, 1)), max_size=40),
       st.lists(st.dates(date(2024, 1, 1), date(2024, 4, 1)), max_size=10))
def test_extending_the_stored_run_equals_summarizing_everything(old, new):
    run = summarize(old)
    extended = extend(run, new)
    everything = summarize(old + new)
    if extended is None:
        assert any(d <= run.last_active for d in new)
    else:
        assert extended == everything


def test_current_counts_until_the_day_after_the_last_active_one():
    run = summarize([date(2024, 5, d) for d in (1, 2, 3, 5, 6)])
    assert (run.length, run.longest, run.last_active) == (2, 3, date(2024, 5, 6))
    assert run.current(date(2024, 5, 6)) == 2  # active today
    assert run.current(date(2024, 5, 7)) == 2  # today is still running
    assert run.current(date(2024, 5, 8)) == 0  # yesterday was missed
    assert Run().current(date(2024, 5, 8)) == 0


def test_a_calendar_day_goes_to_the_local_day_holding_its_noon():
    utc_day = date(2024, 6, 1)
    assert calendar_day(utc_day, HONOLULU) == utc_day
    assert calendar_day(utc_day, "Asia/Kolkata") == utc_day
    assert calendar_day(utc_day, KIRITIMATI) == utc_day + timedelta(days=1)


def test_calendar_counts_fill_only_the_history_before_exact_submissions():
    first = int(datetime(2024, 6, 10, 15, tzinfo=UTC).timestamp())
    calendar = [(date(2024, 6, 8), 3), (date(2024, 6, 9), 1), (date(2024, 6, 10), 4),
                (date(2024, 6, 11), 0)]
    days = activity([first], calendar, [], "UTC")
    # June 10 comes from the exact submission only: its calendar count is not added again.
    assert days == {date(2024, 6, 8): [3, 0], date(2024, 6, 9): [1, 0], date(2024, 6, 10): [1, 0]}


def test_positive_awards_are_platform_activity():
    at = datetime(2024, 6, 10, 23, 30, tzinfo=UTC)
    days = activity([], [], [(at, 5), (at, -3), (at + timedelta(hours=1), 2)], "UTC")
    assert days == {date(2024, 6, 10): [0, 1], date(2024, 6, 11): [0, 1]}
    assert activity([], [], [(at, 5)], "Asia/Kolkata") == {date(2024, 6, 11): [0, 1]}


def test_milestones_are_reached_once_per_run():
    six = summarize([date(2024, 1, d) for d in range(1, 7)])
    seven = extend(six, [date(2024, 1, 7)])
    assert milestones_reached(six, seven) == [7]
    assert milestones_reached(seven, seven) == []
    fresh = summarize([date(2024, 3, d) for d in range(1, 31)])
    assert milestones_reached(seven, fresh) == [7, 30]


def test_the_reference_day_waits_for_a_sync():
    now = datetime(2024, 6, 10, 15, tzinfo=UTC)
    synced = datetime(2024, 6, 9, 2, tzinfo=UTC)
    assert reference_day("UTC", synced, True, now) == date(2024, 6, 9)
    assert reference_day("UTC", synced, False, now) == date(2024, 6, 10)
    assert reference_day("UTC", None, True, now) == date(2024, 6, 10)

"""LeetCode's public GraphQL API: several players a request (aliases), politely.

Each request asks, per player, `recentAcSubmissionList` (accepted submissions with unix
timestamps: exact days) and `matchedUser.userCalendar.submissionCalendar` (a JSON string
of UTC-midnight timestamps and counts: older history). Every attempt waits for the shared
rate limit; 429 (honouring Retry-After), 5xx and timeouts are retried with jittered
backoff; a 403 or an HTML challenge page raises Blocked at once.
"""

import email.utils
import json
import random
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import requests
from requests.adapters import HTTPAdapter

from services.gamification.ratelimit import SPREAD, Blocked, acquire

MAX_RETRY_AFTER = 120.0  # seconds; a longer Retry-After ends the attempt instead
SUBMISSION_FIELDS = "id title titleSlug timestamp"


class Unavailable(RuntimeError):
    """LeetCode did not answer usably after the retries."""


@dataclass
class Fetched:
    """What LeetCode said about one username: its data, or why there is none."""

    submissions: list[tuple[int, int, str]] = field(default_factory=list)  # id, unix, slug
    calendar: list[tuple[date, int]] = field(default_factory=list)
    error: str | None = None
    unknown: bool = False


def query_for(count: int) -> str:
    """The GraphQL document for `count` players: aliases r0/c0, r1/c1, ..."""
    variables = ", ".join(f"$u{i}: String!" for i in range(count))
    parts = [f"r{i}: recentAcSubmissionList(username: $u{i}, limit: $limit) "
             f"{{ {SUBMISSION_FIELDS} }} "
             f"c{i}: matchedUser(username: $u{i}) {{ userCalendar {{ submissionCalendar }} }}"
             for i in range(count)]
    return f"query userStreaks({variables}, $limit: Int!) {{ {' '.join(parts)} }}"


def parse_calendar(raw) -> list[tuple[date, int]]:
    """submissionCalendar: a JSON string {"<UTC midnight unix>": count}; ValueError if not."""
    calendar = json.loads(raw) if isinstance(raw, str) else raw
    if not isinstance(calendar, dict):
        raise ValueError("not an object")
    days = []
    for stamp, count in calendar.items():
        moment = datetime.fromtimestamp(int(stamp), UTC)
        if not isinstance(count, int) or count < 0 or moment.time() != datetime.min.time():
            raise ValueError(f"bad entry {stamp!r}: {count!r}")
        days.append((moment.date(), count))
    return days


def parse_player(data: dict, index: int, username: str) -> Fetched:
    user = data.get(f"c{index}")
    if user is None:
        return Fetched(error=f"LeetCode has no user {username!r}", unknown=True)
    try:
        recent = data.get(f"r{index}") or []
        submissions = [(int(s["id"]), int(s["timestamp"]), str(s.get("titleSlug") or "")[:200])
                       for s in recent]
        calendar = parse_calendar((user.get("userCalendar") or {}).get("submissionCalendar")
                                  or "{}")
    except (ValueError, TypeError, KeyError, AttributeError, OverflowError) as exc:
        return Fetched(error=f"LeetCode sent malformed data for {username!r}: {exc}"[:500])
    return Fetched(submissions, calendar)


def retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (moment - datetime.now(UTC)).total_seconds())


def challenged(response: requests.Response) -> bool:
    """A 403, or an HTML page where the JSON answer should be (a bot check). A 5xx page in
    HTML is an outage, retried like any 5xx."""
    if response.status_code == 403:
        return True
    html = "html" in response.headers.get("Content-Type", "") or \
        response.text.lstrip()[:1] == "<"
    return response.status_code == 200 and html


class LeetCode:
    """The client; one per sync run, shared by its threads (requests' pool is thread-safe)."""

    def __init__(self, config: dict, rate_limiter):
        self.url = config["LEETCODE_GRAPHQL_URL"]
        self.timeout = config["LEETCODE_TIMEOUT"]
        self.retries = config["LEETCODE_RETRIES"]
        self.recent = config["LEETCODE_RECENT_LIMIT"]
        self.limiter = rate_limiter
        self.stop = threading.Event()  # set when LeetCode blocked us: no attempt starts after
        # This process's own starts: a thread that got its slot late (a busy machine) still
        # never makes N+1 starts in S seconds here.
        self.count, seconds = config["LEETCODE_RATE"]
        self.seconds = seconds * SPREAD  # as wide as the slots: a late arrival stays in bounds
        self._starts: deque[float] = deque()
        self._starts_lock = threading.Lock()
        self.session = requests.Session()
        pool = config["LEETCODE_MAX_IN_FLIGHT"]
        self.session.mount("http://", HTTPAdapter(pool_maxsize=pool, max_retries=0))
        self.session.mount("https://", HTTPAdapter(pool_maxsize=pool, max_retries=0))
        self.session.headers.update({"Content-Type": "application/json",
                                     "Referer": "https://leetcode.com/",
                                     "User-Agent": "cohort-scale streak sync"})

    def fetch(self, usernames: list[str], deadline: float | None = None) -> list[Fetched]:
        """One request for these usernames (retried); raises Blocked or Unavailable."""
        body = json.dumps({"operationName": "userStreaks", "query": query_for(len(usernames)),
                           "variables": {"limit": self.recent, **{
                               f"u{i}": name for i, name in enumerate(usernames)}}})
        failure = "no attempt"
        for attempt in range(self.retries + 1):
            if not acquire(self.limiter, deadline, self.stop):
                if self.stop.is_set():
                    raise Blocked("the run stopped: LeetCode blocked another request")
                raise Unavailable("the LeetCode rate limit is saturated; try again later")
            wait = None
            self._space_out()
            try:
                response = self.session.post(self.url, data=body, timeout=self.timeout)
            except requests.RequestException as exc:
                failure = f"{type(exc).__name__}"
            else:
                if challenged(response):
                    self.stop.set()
                    raise Blocked(f"LeetCode answered {response.status_code} "
                                  f"({response.headers.get('Content-Type', '?')})")
                if response.status_code == 200:
                    return self._players(response, usernames)
                failure = f"HTTP {response.status_code}"
                if response.status_code == 429:
                    wait = retry_after(response)
                elif response.status_code < 500:
                    raise Unavailable(f"LeetCode refused the request: {failure}")
            if attempt == self.retries or (wait is not None and wait > MAX_RETRY_AFTER):
                break
            time.sleep(wait if wait is not None else
                       min(30.0, 0.5 * 2 ** attempt) * random.uniform(0.5, 1.5))
        raise Unavailable(f"LeetCode is unavailable ({failure})")

    def _space_out(self) -> None:
        with self._starts_lock:
            while True:
                now = time.monotonic()
                while self._starts and self._starts[0] <= now - self.seconds:
                    self._starts.popleft()
                if len(self._starts) < self.count:
                    self._starts.append(now)
                    return
                time.sleep(self._starts[0] + self.seconds - now)

    def _players(self, response: requests.Response, usernames: list[str]) -> list[Fetched]:
        try:
            data = response.json().get("data") or {}
        except (ValueError, AttributeError):
            raise Unavailable("LeetCode answered something that is not JSON") from None
        if not isinstance(data, dict):
            raise Unavailable("LeetCode answered without data")
        return [parse_player(data, i, name) for i, name in enumerate(usernames)]

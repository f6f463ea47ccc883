"""Reusable parts of the fault suite: a stack to fault, and a load that knows what it was told.

`fault_stack` starts the real nginx and several gunicorn workers per service; `Load` drives
writes and polls at it from threads while the test faults a server, and records every
acknowledged write and every answer, so the test can assert that no answer was stale and no
acknowledged write was lost or doubled.
"""

import random
import threading
import time
import uuid
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import requests

from cohort.stack import Stack
from services import SERVICES
from tests.gateway.support import free_ports
from tests.stack.conftest import stack_env, tokens
from tests.support.servers import require_nginx

COUNT = "/api/notifications/unread-count"
LIST = "/api/notifications"
CREATE = "/internal/notifications/"
TIMEOUT = 20


def wait_for_recovery(answers_ok, seconds: float = 10, in_a_row: int = 15) -> None:
    """Wait until `answers_ok()` holds `in_a_row` times running: each worker has its own
    breaker, and one worker's answer says nothing about the others'."""
    deadline, streak = time.monotonic() + seconds, 0
    while streak < in_a_row:
        assert time.monotonic() < deadline, f"no recovery within {seconds}s of the thaw"
        streak = streak + 1 if answers_ok() else 0
        if not streak:
            time.sleep(0.2)


@contextmanager
def fault_stack(workdir: Path, workers: int = 3, services=("notifications",), **env: str):
    """A started Stack in production mode, with no rate limit in the way of the load."""
    require_nginx()
    port, internal, *ports = free_ports(2 + len(SERVICES))
    stack = Stack(workdir, stack_env(GATEWAY_RATE="100000r/s", **env), port=port,
                  internal_port=internal, workers=workers, services=list(services),
                  service_ports=dict(zip(SERVICES, ports, strict=True)))
    with stack:
        yield stack


def create(stack: Stack, user_ids, dedupe_key: str | None = None, session=requests,
           timeout: float = TIMEOUT) -> requests.Response:
    return session.post(f"{stack.internal_url}{CREATE}", headers=tokens.service, timeout=timeout,
                        json={"user_ids": list(user_ids), "kind": "dashboard",
                              "title": "Your review is in", "dedupe_key": dedupe_key})


def unread(stack: Stack, user_id: int, session=requests) -> requests.Response:
    return session.get(f"{stack.base_url}{COUNT}", headers=tokens.user(user_id), timeout=TIMEOUT)


def notification_ids(stack: Stack, user_id: int) -> list[int]:
    response = requests.get(f"{stack.base_url}{LIST}?limit=100", headers=tokens.user(user_id),
                            timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


@dataclass
class Report:
    """What a Load saw: stale answers, failed requests, and how much it did."""

    stale: list = field(default_factory=list)
    failed: Counter = field(default_factory=Counter)
    polls: int = 0
    creates: int = 0
    reads: int = 0


class Load:
    """Writes and polls of the notifications service, checked against what was acknowledged.

    Gainers only get notifications (a poll must count at least every create acknowledged
    before it began); losers only have theirs marked read (a poll must count at most what
    the acknowledged reads left). Unacknowledged writes may or may not have landed: the
    checks allow both.
    """

    def __init__(self, stack: Stack, gainers=range(1, 11), losers=range(101, 111),
                 unread_each: int = 40, writers: int = 2, pollers: int = 3):
        self.stack, self.gainers, self.losers = stack, list(gainers), list(losers)
        self.writers, self.pollers = writers, pollers
        self.unread_each = unread_each
        self.created = Counter()
        self.read = Counter()
        self.report = Report()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._left: dict[int, list[int]] = {}
        self._gaining = set(self.gainers)

    def prepare(self) -> "Load":
        """Give each loser its unread notifications, and learn their ids."""
        for i in range(self.unread_each):
            assert create(self.stack, self.losers, f"seed-{i}").status_code == 201
        for user in self.losers:
            self._left[user] = notification_ids(self.stack, user)
        return self

    def run(self, seconds: float, events=()) -> Report:
        """Load for `seconds`; `events` are (at seconds, callable) run meanwhile, in order."""
        threads = [threading.Thread(target=self._write, daemon=True) for _ in range(self.writers)]
        threads += [threading.Thread(target=self._poll, daemon=True) for _ in range(self.pollers)]
        for thread in threads:
            thread.start()
        started = time.monotonic()
        for at, event in events:
            time.sleep(max(0.0, started + at - time.monotonic()))
            event()
        time.sleep(max(0.0, started + seconds - time.monotonic()))
        self._stop.set()
        for thread in threads:
            thread.join(TIMEOUT + 5)
        return self.report

    def _write(self) -> None:
        session = requests.Session()
        while not self._stop.is_set():
            if random.random() < 0.5:
                user = random.choice(self.gainers)
                ok = self._ok(create(self.stack, [user], uuid.uuid4().hex, session), 201)
                with self._lock:
                    self.created[user] += ok
                    self.report.creates += ok
                continue
            with self._lock:
                user = random.choice([u for u in self.losers if self._left[u]] or [None])
                if user is None:
                    continue
                notification = self._left[user].pop()
            response = session.post(f"{self.stack.base_url}{LIST}/{notification}/read",
                                    headers=tokens.user(user), timeout=TIMEOUT)
            ok = self._ok(response, 200)
            with self._lock:
                self.read[user] += ok
                self.report.reads += ok

    def _poll(self) -> None:
        session = requests.Session()
        while not self._stop.is_set():
            user = random.choice(self.gainers + self.losers)
            with self._lock:
                created, read = self.created[user], self.read[user]
            response = unread(self.stack, user, session)
            if not self._ok(response, 200):
                continue
            count = response.json()["unread_count"]
            with self._lock:
                self.report.polls += 1
                if (user in self._gaining and count < created) or \
                        (user in self._left and count > self.unread_each - read):
                    self.report.stale.append((user, count, created, read))

    def _ok(self, response: requests.Response, status: int) -> bool:
        if response.status_code == status:
            return True
        with self._lock:
            self.report.failed[response.status_code] += 1
        return False

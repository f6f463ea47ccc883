"""A gunicorn worker killed (SIGKILL) during writes: every acknowledged write is there
exactly once, and the retries of those that were not acknowledged never double one."""

import os
import random
import signal
import threading
import time
import uuid
from pathlib import Path

import psycopg
import pytest
import requests

from tests.faults.support import create, fault_stack

pytestmark = [pytest.mark.stack, pytest.mark.nginx, pytest.mark.postgres]


def workers_of(master: int) -> list[int]:
    return [int(pid) for children in Path(f"/proc/{master}/task").glob("*/children")
            for pid in children.read_text().split()]


def test_a_worker_killed_during_writes_loses_and_doubles_nothing(tmp_path, notifications_db):
    with fault_stack(tmp_path, workers=3, NOTIFICATIONS_DATABASE_URL=notifications_db,
                     CACHE_URL="null://") as stack:
        acknowledged, stop, lock = [], threading.Event(), threading.Lock()

        def write():
            session = requests.Session()
            while not stop.is_set():
                key, users = uuid.uuid4().hex, random.sample(range(1, 200), 20)
                for _ in range(20):  # retried with the same key, as the service client does
                    try:
                        if create(stack, users, key, session).status_code == 201:
                            with lock:
                                acknowledged.append((key, len(users)))
                            break
                    except requests.RequestException:
                        pass
                    time.sleep(0.05)

        writers = [threading.Thread(target=write) for _ in range(4)]
        for thread in writers:
            thread.start()
        master = stack.pids["notifications"]
        for _ in range(3):
            time.sleep(1)
            os.kill(random.choice(workers_of(master)), signal.SIGKILL)
        time.sleep(1)
        stop.set()
        for thread in writers:
            thread.join(60)

    assert len(acknowledged) > 20
    with psycopg.connect(notifications_db) as conn:
        rows = dict(conn.execute(
            "SELECT dedupe_key, count(*) FROM notifications GROUP BY dedupe_key").fetchall())
        doubled = conn.execute("SELECT count(*) FROM (SELECT 1 FROM notifications GROUP BY "
                               "user_id, dedupe_key HAVING count(*) > 1) d").fetchone()[0]
    assert doubled == 0
    assert [key for key, users in acknowledged if rows.get(key) != users] == []

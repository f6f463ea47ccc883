"""Stopping the stack (what SIGTERM to `cohort up` does) while requests are in flight: every
one of them completes."""

import threading
import time
import uuid

import pytest

from tests.faults.support import create, fault_stack

pytestmark = [pytest.mark.stack, pytest.mark.nginx]


def test_stop_lets_every_request_in_flight_complete(tmp_path, notifications_db):
    with fault_stack(tmp_path, workers=3, NOTIFICATIONS_DATABASE_URL=notifications_db,
                     CACHE_URL="null://") as stack:
        answers, started = [], threading.Barrier(5)

        def fan_out():  # ~a second of work each: 10,000 users in one transaction
            started.wait()
            try:
                answers.append(create(stack, range(1, 10_001), uuid.uuid4().hex).status_code)
            except Exception as exc:  # a dropped connection
                answers.append(repr(exc))

        threads = [threading.Thread(target=fan_out) for _ in range(4)]
        for thread in threads:
            thread.start()
        started.wait()
        time.sleep(0.3)  # every request is in flight
        stack.stop()
        for thread in threads:
            thread.join(60)
    assert answers == [201] * 4, answers

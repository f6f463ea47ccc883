"""`cohort up` for real: a subprocess that migrates, seeds, serves, and stops on Ctrl-C."""

import os
import queue
import random
import re
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import requests

from services import SERVICES
from tests.support.servers import require_nginx

STARTUP_SECONDS = 120


def free_port_block() -> int:
    """A port P with P+1.. (the services) and P+100 (internal) free too, as `up` uses them.

    Taken below the kernel's ephemeral range, where client sockets do not land.
    """
    offsets = [0, 100, *(info.port - 8000 for info in SERVICES.values())]
    for _ in range(50):
        base = random.randrange(20000, 30000)
        try:
            for offset in offsets:
                with socket.socket() as sock:
                    sock.bind(("127.0.0.1", base + offset))
        except OSError:
            continue
        return base
    raise RuntimeError("no free block of ports")


def cohort_command() -> list[str]:
    script = Path(sys.executable).with_name("cohort")
    return [str(script)] if script.exists() else [sys.executable, "-m", "cohort.cli"]


class Output:
    """The process's output lines, read on a thread so waiting on them can time out."""

    def __init__(self, process: subprocess.Popen):
        self.lines: list[str] = []
        self._queue: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, args=(process.stdout,), daemon=True).start()

    def _read(self, stream):
        for line in stream:
            self._queue.put(line)
        self._queue.put(None)

    def wait_for(self, pattern: str, timeout: float = STARTUP_SECONDS) -> re.Match:
        while True:
            try:
                line = self._queue.get(timeout=timeout)
            except queue.Empty:
                pytest.fail(f"no line matching {pattern!r} in {timeout}s:\n" + "".join(self.lines))
            if line is None:
                pytest.fail(f"exited before {pattern!r}:\n" + "".join(self.lines))
            self.lines.append(line)
            match = re.search(pattern, line)
            if match:
                return match

    def rest(self, timeout: float = 30) -> str:
        while (line := self._queue.get(timeout=timeout)) is not None:
            self.lines.append(line)
        return "".join(self.lines)


@pytest.mark.parametrize("topology", [
    "embedded", pytest.param("full", marks=[pytest.mark.stack, pytest.mark.nginx])])
def test_up_serves_the_demo_and_stops_cleanly_on_ctrl_c(topology, tmp_path):
    if topology == "full":
        require_nginx()
    port = free_port_block()
    env = {**os.environ, "COHORT_VAR_DIR": str(tmp_path), "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [*cohort_command(), "up", "--topology", topology, "--port", str(port),
         "--students", "50"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    output = Output(process)
    try:
        base_url = output.wait_for(r"is up at (http://\S+?)/? ").group(1)
        student = output.wait_for(r"export STUDENT_TOKEN=(\S+)").group(1)
        admin = output.wait_for(r"export ADMIN_TOKEN=(\S+)").group(1)
        assert base_url == f"http://127.0.0.1:{port}"

        response = requests.get(f"{base_url}/api/notifications/unread-count",
                                headers={"Authorization": f"Bearer {student}"}, timeout=10)
        assert response.status_code == 200, response.text
        assert response.json()["unread_count"] >= 1  # the seed leaves the newest unread
        listed = requests.get(f"{base_url}/api/notifications?limit=100",
                              headers={"Authorization": f"Bearer {admin}"}, timeout=10)
        assert len(listed.json()["items"]) == 5
        assert requests.get(f"{base_url}/metrics", timeout=10).status_code == 404
        assert (tmp_path / "notifications.db").exists()  # the data lives in COHORT_VAR_DIR
        # Each demo student has an avatar; the gateway (or the dispatcher) sends its bytes.
        mine = {"Authorization": f"Bearer {student}"}
        (avatar,) = requests.get(f"{base_url}/api/storage/files?purpose=avatar", headers=mine,
                                 timeout=10).json()["items"]
        picture = requests.get(base_url + avatar["download_url"], headers=mine, timeout=10)
        assert picture.status_code == 200 and picture.content.startswith(b"\x89PNG")
        assert picture.headers["Content-Type"] == "image/png"
        assert (tmp_path / "storage").is_dir()

        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 0
        assert "stopped" in output.rest()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_up_in_production_seeds_nothing_and_prints_no_token(tmp_path):
    """A production secret must not sign a day-long admin token on a terminal, and demo
    rows must not reach a production database."""
    import sqlite3

    database = tmp_path / "prod.db"
    secret = "production-secret-that-must-sign-nothing-here"
    env = {**os.environ, "COHORT_VAR_DIR": str(tmp_path), "PYTHONUNBUFFERED": "1",
           "COHORT_ENV": "production", "DATABASE_URL": f"sqlite:///{database}",
           "JWT_SECRET": secret, "SERVICE_TOKEN": "production-service-token",
           "CACHE_URL": "null://"}
    process = subprocess.Popen(
        [*cohort_command(), "up", "--topology", "embedded", "--port", "0", "--students", "50"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    output = Output(process)
    try:
        output.wait_for(r"is up at")
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 0
        text = output.rest()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert "no demo data" in text and "none printed in production" in text
    assert "TOKEN=ey" not in text and "production-service-token" not in text
    with sqlite3.connect(database) as conn:
        assert conn.execute("SELECT count(*) FROM notifications").fetchone() == (0,)

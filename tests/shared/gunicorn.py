"""The probe service under a real gunicorn, started and stopped by the tests."""

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import requests

from shared.config import ROOT
from tests.support.servers import closed_port

APP = "tests.shared.service_app:create_app()"


def wait_until(check, seconds: float = 30, what: str = "condition") -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@dataclass
class Gunicorn:
    """A running gunicorn: its URL, where its stdout (the JSON log) goes, the process."""

    base: str
    stdout: Path
    stderr: Path
    process: subprocess.Popen

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start(folder: Path, workers: int, env: dict[str, str]) -> Gunicorn:
    """gunicorn with deploy/gunicorn.conf.py (when there is one), configured by `env`."""
    port = closed_port()
    environ = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("USE_", "COHORT_"))},
        "PYTHONPATH": str(ROOT),
        "CACHE_URL": "null://",  # several workers: no per-process cache
        **env,
    }
    command = [sys.executable, "-m", "gunicorn"]
    conf = ROOT / "deploy" / "gunicorn.conf.py"
    if conf.is_file():
        command += ["--config", str(conf)]
    command += ["--workers", str(workers), "--bind", f"127.0.0.1:{port}", APP]
    stdout, stderr = folder / "stdout.log", folder / "stderr.log"
    with stdout.open("w") as out, stderr.open("w") as err:
        process = subprocess.Popen(command, env=environ, cwd=folder, stdout=out, stderr=err)
    server = Gunicorn(f"http://127.0.0.1:{port}", stdout, stderr, process)

    def answers() -> bool:
        assert process.poll() is None, stderr.read_text()
        try:
            return requests.get(f"{server.base}/health/", timeout=5).status_code == 200
        except requests.RequestException:  # listening, but no worker has booted yet
            return False

    try:
        wait_until(answers, what="gunicorn to answer")
    except BaseException:
        server.stop()
        raise
    return server

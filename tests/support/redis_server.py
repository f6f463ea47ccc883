"""A private redis-server for tests that kill, restart or pause Redis (never the machine's).

It listens on a fixed port of its own (from 19050-19099), so clients reconnect to the same
address after a restart, and keeps nothing on disk: a restart loses every key, as a Redis
without persistence does.
"""

import shutil
import socket
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

import redis

from tests.support.servers import require

PORTS = range(19050, 19100)


def _free_port() -> int:
    for port in PORTS:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {PORTS.start}-{PORTS.stop - 1}")


class RedisServer:
    """One redis-server process: start, kill (SIGKILL), restart, pause writes."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.port = _free_port()
        self.process: subprocess.Popen | None = None

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, socket_timeout=5)

    def start(self) -> None:
        log = (self.folder / f"redis-{self.port}.log").open("ab")
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--dir", str(self.folder)],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while True:
            try:
                with self.client() as client:
                    client.ping()
                return
            except redis.RedisError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise RuntimeError(f"redis-server on {self.port} did not start") from None
                time.sleep(0.02)

    def kill(self) -> None:
        """SIGKILL: connections die, every key is lost."""
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def restart(self) -> None:
        self.kill()
        self.start()

    def pause_writes(self, seconds: float) -> None:
        """CLIENT PAUSE WRITE, as a failover does: reads go on, writes wait."""
        with self.client() as client:
            client.execute_command("CLIENT", "PAUSE", int(seconds * 1000), "WRITE")


@contextmanager
def redis_server(folder: Path):
    """A started RedisServer, killed on the way out."""
    require("redis-server", shutil.which("redis-server") is not None, "not on PATH")
    server = RedisServer(folder)
    server.start()
    try:
        yield server
    finally:
        server.kill()

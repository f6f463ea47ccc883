"""Drive a URL with wrk and the benchmark's Lua script; parse what it reports."""

import json
import os
import shutil
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path

SCRIPT = Path(__file__).with_name("load.lua")
WRK_CANDIDATES = ("/usr/bin/wrk", "/usr/local/bin/wrk")


def wrk_binary() -> str | None:
    """The wrk executable, on PATH or where Debian's package puts it."""
    return shutil.which("wrk") or next(
        (p for p in WRK_CANDIDATES if os.access(p, os.X_OK)), None)


@dataclass
class Result:
    """What one wrk run measured."""

    requests: int
    seconds: float
    errors: int
    socket_errors: int
    status_errors: int
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def as_dict(self) -> dict:
        return {**asdict(self), "rps": round(self.rps, 1)}


def parse(output: str) -> Result:
    """The Result of wrk's stdout (the script's BENCH_RESULT line)."""
    line = next((x for x in output.splitlines() if x.startswith("BENCH_RESULT ")), None)
    if line is None:
        raise RuntimeError(f"wrk reported no result:\n{output}")
    raw = json.loads(line.removeprefix("BENCH_RESULT "))
    sockets = raw["connect"] + raw["read"] + raw["write"] + raw["timeout"]
    return Result(
        requests=raw["requests"], seconds=raw["duration_us"] / 1e6,
        errors=sockets + raw["status"], socket_errors=sockets, status_errors=raw["status"],
        p50_ms=raw["p50_us"] / 1000, p90_ms=raw["p90_us"] / 1000, p99_ms=raw["p99_us"] / 1000,
        max_ms=raw["max_us"] / 1000,
    )


def run(url: str, mode: str, users_file: Path, *, duration: float, connections: int,
        threads: int = 2, timeout: float = 5.0) -> Result:
    """Run wrk for `duration` seconds at `connections` connections; loopback URLs only.

    Mode "requests" plays the lines of `users_file` as they are (see load.lua)."""
    if not url.startswith(("http://127.", "http://localhost", "http://[::1]")):
        raise ValueError(f"the benchmark only targets loopback addresses, not {url}")
    binary = wrk_binary()
    if binary is None:
        raise RuntimeError("wrk is not installed (apt-get install wrk)")
    threads = max(1, min(threads, connections))
    seconds = max(1, round(duration))  # wrk takes whole seconds
    args = [binary, "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s",
            "--timeout", f"{timeout:g}s", "-s", str(SCRIPT), url]
    env = {**os.environ, "BENCH_MODE": mode, "BENCH_USERS": str(users_file),
           "BENCH_REQUESTS": str(users_file), "BENCH_THREADS": str(threads)}
    done = subprocess.run(args, env=env, capture_output=True, text=True,
                          timeout=seconds + timeout + 60)
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return parse(done.stdout)

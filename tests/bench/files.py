"""What the storage benchmark measures besides wrk: worker memory, big transfers by curl and
cp, and the in-process cost of one request (CPU time and PostgreSQL round trips)."""

import os
import subprocess
import threading
import time
from pathlib import Path

PAGE = os.sysconf("SC_PAGE_SIZE")


def make_file(path: Path, size: int) -> Path:
    """A PDF by its magic number, `size` bytes of incompressible data after it."""
    block = os.urandom(1 << 20)
    with path.open("wb") as out:
        out.write(b"%PDF-1.7\n")
        written = 9
        while written < size:
            step = min(len(block), size - written)
            out.write(block[:step])
            written += step
    return path


def children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        found += [int(c) for c in task.read_text().split()]
    return found


def rss(pid: int) -> int:
    """Resident memory of a process in bytes (0 once it is gone)."""
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE
    except (OSError, IndexError):
        return 0


class PeakMemory:
    """Samples the RSS of a gunicorn master's workers every few milliseconds: their memory
    at the start, and the most each reached while the block ran."""

    def __init__(self, master: int, every: float = 0.005):
        self.master, self.every = master, every
        self.start: dict[int, int] = {}
        self.peak: dict[int, int] = {}
        self._stop = threading.Event()

    def __enter__(self) -> "PeakMemory":
        self.start = {pid: rss(pid) for pid in children(self.master)}
        self.peak = dict(self.start)
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.is_set():
            for pid in self.start:
                self.peak[pid] = max(self.peak[pid], rss(pid))
            time.sleep(self.every)

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def growth(self) -> int:
        """The largest growth of one worker (the one that took the upload)."""
        return max(self.peak[pid] - self.start[pid] for pid in self.start)

    @property
    def worker_peak(self) -> int:
        return max(self.peak.values())


def curl_upload(url: str, token: str, path: Path) -> tuple[int, str, float]:
    """POST `path` as the form's file with curl (which streams it from disk): the status,
    the body and the seconds it took."""
    started = time.perf_counter()
    done = subprocess.run(
        ["curl", "-s", "-o", "-", "-w", "\n%{http_code}", "-H", f"Authorization: Bearer {token}",
         "-F", "purpose=submission", "-F", f"file=@{path};filename=big.pdf", url],
        capture_output=True, text=True, timeout=600, check=False)
    seconds = time.perf_counter() - started
    body, _, status = done.stdout.rpartition("\n")
    return int(status or 0), body, seconds


def copy_seconds(source: Path, target: Path, sync: bool) -> float:
    """`cp` of the file on the same disk (then `sync`, when asked), timed."""
    target.unlink(missing_ok=True)
    started = time.perf_counter()
    subprocess.run(["cp", str(source), str(target)], check=True)
    if sync:
        subprocess.run(["sync", str(target)], check=True)
    seconds = time.perf_counter() - started
    target.unlink()
    return seconds

"""Where the machine's CPU went during a run: the stack's processes by kind, and the rest.

On a shared machine "other" shows how much of the CPU something else took while a row was
measured; a row measured beside a busy neighbour reads low.
"""

import os
import time
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")
SERVERS = {"postgres": "postgres", "redis-server": "redis"}


def _processes() -> dict[int, tuple[int, str, float]]:
    """pid -> (parent pid, command name, CPU seconds) of every process we can read."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1:stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2:].split()
        found[int(entry.name)] = (int(fields[1]), name,
                                  (int(fields[11]) + int(fields[12])) / TICK)
    return found


def _machine_busy() -> float:
    """CPU seconds the whole machine has been busy (every core, every process, the kernel)."""
    user, nice, system, _idle, _iowait, irq, softirq, steal = (
        int(v) for v in Path("/proc/stat").read_text().split()[1:9])
    return (user + nice + system + irq + softirq + steal) / TICK


def snapshot(roots: dict[str, list[int]]) -> dict[str, float]:
    """CPU seconds so far by group: each root pid and its children under its group's name
    (gunicorn, nginx), the database and cache servers by name, wrk (our finished children),
    and the whole machine."""
    processes = _processes()
    group_of = {pid: name for name, pids in roots.items() for pid in pids}
    totals = dict.fromkeys([*roots, *SERVERS.values()], 0.0)
    for pid, (parent, name, seconds) in processes.items():
        group = group_of.get(pid) or group_of.get(parent) or SERVERS.get(name)
        if group is None and name.startswith("postgres"):
            group = "postgres"
        if group:
            totals[group] += seconds
    children = os.times()
    totals["wrk"] = children.children_user + children.children_system
    totals["machine"] = _machine_busy()
    return totals


class Meter:
    """CPU cores each group used between start() and stop()."""

    def __init__(self, roots: dict[str, list[int]]):
        self.roots = roots

    def start(self) -> None:
        self._before, self._at = snapshot(self.roots), time.monotonic()

    def stop(self) -> dict[str, float]:
        after, elapsed = snapshot(self.roots), time.monotonic() - self._at
        cores = {k: (after.get(k, 0.0) - v) / elapsed for k, v in self._before.items()}
        cores["other"] = cores.pop("machine") - sum(cores.values())
        return {k: round(max(v, 0.0), 2) for k, v in cores.items()}

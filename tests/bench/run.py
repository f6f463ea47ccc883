"""One benchmark run: load the data, start the stacks, drive every scenario, report."""

import secrets
import shlex
import shutil
import statistics
import sys
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import redis
import requests

from cohort.stack import Stack
from services.notifications.routes import etag_of
from tests.bench import dataset, report, users, wrk
from tests.bench.cpu import Meter
from tests.bench.endpoints import measure_notifications
from tests.bench.stacks import (
    STACKS,
    cache_lookups,
    gunicorn_settings,
    make_stack,
    service_env,
    warm_cache,
)


@dataclass
class Options:
    """Everything a run needs; the command line fills it."""

    students: int
    notifications: int
    duration: float
    connections: int
    high_connections: int
    high_duration: float
    warmup: float
    users: int
    wrk_threads: int
    database_url: str
    redis_url: str
    ports: list[int]  # gateway, internal listener and service port of each of STACKS
    out: Path
    name: str
    keep_database: bool = False
    keep_logs: bool = False
    inprocess: int = 300  # requests of each endpoint measured in-process
    service_env: dict[str, str] = field(default_factory=dict)
    command: str = ""


@dataclass(frozen=True)
class Scenario:
    name: str
    label: str
    stack: str  # one of STACKS
    mode: str  # load.lua's BENCH_MODE
    expect: int  # the status of a correct answer
    high: bool = False  # run at high_connections for high_duration


SCENARIOS = (
    Scenario("count_off", "unread count, cache off", "off", "count", 200),
    Scenario("count_on", "unread count, cache on", "on", "count", 200),
    Scenario("not_modified", "unread count, 304 (If-None-Match)", "on", "etag", 304),
    Scenario("list", "list, first page", "on", "list", 200),
    Scenario("read", "mark read", "on", "read", 200),
    Scenario("read_all", "mark all read", "on", "readall", 200),
    Scenario("mixed", "mixed: 90% polls, 10% writes", "on", "mixed", 200),
    Scenario("mixed_high", "mixed, high concurrency", "on", "mixed", 200, high=True),
)
BASELINE = Scenario("baseline", "baseline: bare Flask, constant JSON", "baseline", "count", 200)


def log(message: str) -> None:
    print(message, flush=True)


def first_request(base_url: str, line: str, mode: str) -> requests.Response:
    """The request load.lua makes for a user, sent once to check the answer."""
    token, tag, notification = line.split()
    headers = {"Authorization": f"Bearer {token}"}
    url = f"{base_url}/api/notifications/unread-count"
    if mode == "etag":
        headers["If-None-Match"] = tag
    elif mode == "list":
        url = f"{base_url}/api/notifications"
    elif mode in ("read", "mixed"):
        return requests.post(f"{base_url}/api/notifications/{notification}/read",
                             headers=headers, timeout=10)
    elif mode == "readall":
        return requests.post(f"{base_url}/api/notifications/read-all", headers=headers,
                             timeout=10)
    return requests.get(url, headers=headers, timeout=10)


def check(stack: Stack, scenario: Scenario, users_file: Path) -> None:
    """Fail before measuring if the scenario's request does not get its correct answer."""
    lines = users_file.read_text().splitlines()
    # The 304 path: the sampled users' precomputed ETags must still be current.
    for line in lines[:20] if scenario.mode == "etag" else lines[:1]:
        answer = first_request(stack.base_url, line, scenario.mode)
        if answer.status_code != scenario.expect:
            raise RuntimeError(f"{scenario.name}: expected {scenario.expect}, got "
                               f"{answer.status_code}: {answer.text[:300]}")


class Runner:
    """Drives scenarios; each is measured right after the baseline at the same settings, so
    load from elsewhere on the machine moves both sides of its ratio alike."""

    def __init__(self, options: Options, stacks: dict[str, Stack], users_file: Path):
        self.options, self.stacks, self.users_file = options, stacks, users_file
        self.meter = Meter({
            "gunicorn": [s.pids["notifications"] for s in stacks.values()],
            "nginx": [s.pids["nginx"] for s in stacks.values()],
        })

    def measure(self, scenario: Scenario, connections: int, duration: float) -> dict:
        """Check, warm up, then measure one scenario: its row, CPU cores included."""
        stack = self.stacks[scenario.stack]
        check(stack, scenario, self.users_file)
        run = dict(connections=connections, threads=self.options.wrk_threads)
        if self.options.warmup:
            wrk.run(stack.base_url, scenario.mode, self.users_file,
                    duration=self.options.warmup, **run)
        self.meter.start()
        result = wrk.run(stack.base_url, scenario.mode, self.users_file, duration=duration,
                         **run)
        return {"name": scenario.name, "label": scenario.label, "connections": connections,
                "mode": scenario.mode, **result.as_dict(), "cores": self.meter.stop()}

    def pair(self, scenario: Scenario) -> tuple[dict, dict]:
        """The baseline, then the scenario at the same settings: both rows, the ratio set."""
        high = scenario.high
        connections = self.options.high_connections if high else self.options.connections
        duration = self.options.high_duration if high else self.options.duration
        base = self.measure(BASELINE, connections, duration)
        row = self.measure(scenario, connections, duration)
        row["baseline_rps"] = base["rps"]
        row["ratio"] = round(row["rps"] / base["rps"], 3) if base["rps"] else None
        log(f"  {scenario.label}: {row['rps']:,.0f} req/s ({row['ratio']} of the baseline's "
            f"{base['rps']:,.0f}), p50 {row['p50_ms']:.2f} ms, p99 {row['p99_ms']:.2f} ms, "
            f"{row['errors']} errors; cores {row['cores']}")
        return base, row


def baseline_row(runs: list[dict]) -> dict:
    """The baseline's row: its median run at the usual connection count."""
    middle = sorted(runs, key=lambda r: r["rps"])[len(runs) // 2]
    return {**middle, "ratio": 1.0, "runs": [r["rps"] for r in runs],
            "rps_median": statistics.median(r["rps"] for r in runs)}


def prepare_data(options: Options, secret: str) -> tuple[dict, str, Path, list]:
    scale = dataset.Scale(options.students, options.notifications)
    log(f"loading {scale.students:,} students, {scale.notifications:,} notifications "
        f"into {dataset.database_name(options.database_url)}")
    dataset.recreate_database(options.database_url)
    dataset.migrate(options.database_url)
    seconds = dataset.load(options.database_url, scale, log)
    data = {"students": scale.students, **dataset.summary(options.database_url),
            "load_seconds": seconds}
    sample = users.sample(options.database_url, scale.students, options.users, etag_of)
    users_file = users.write_users_file(
        options.out / f"{options.name}-users.txt", sample, {"JWT_SECRET": secret})
    plan = dataset.explain_unread_count(options.database_url, sample[0][0])
    return data, plan, users_file, sample


def drive(options: Options, secret: str, users_file: Path, count: int) -> tuple:
    """Start the three stacks, warm the cache, run every scenario: the rows, the cache
    lookups of the cache-on polls, and the gunicorn workers."""
    with ExitStack() as running:
        stacks = {kind: running.enter_context(make_stack(kind, options, secret))
                  for kind in STACKS}
        log("stacks ready: " + ", ".join(f"{k} {s.base_url}" for k, s in stacks.items()))
        workers = gunicorn_settings(stacks["on"])
        warm_cache(stacks["on"], options, users_file, count)
        before = cache_lookups(stacks["on"])
        runner = Runner(options, stacks, users_file)
        bases, rows, lookups = [], [], {}
        for scenario in SCENARIOS:
            base, row = runner.pair(scenario)
            rows.append(row)
            if not scenario.high:
                bases.append(base)
            if scenario.name == "not_modified":  # the polls of the cache-on rows
                after = cache_lookups(stacks["on"])
                lookups = {k: after.get(k, 0) - before.get(k, 0) for k in after}
    return [baseline_row(bases), *rows], lookups, workers


def run(options: Options) -> dict:
    """The whole benchmark; returns the report (also written under options.out)."""
    secret = secrets.token_urlsafe(32)
    data, plan, users_file, sample = prepare_data(options, secret)
    log(plan)
    if "ix_notifications_unread" not in plan:
        raise RuntimeError("the unread count is not served by ix_notifications_unread")
    # In-process first: mark read needs notifications the load has not read yet.
    endpoints = measure_notifications(options.database_url, options.redis_url, secret,
                                      sample[-options.inprocess - 30:], options.inprocess)
    log(report.inprocess_table(endpoints))
    redis.Redis.from_url(options.redis_url).flushdb()
    try:
        results, lookups, workers = drive(options, secret, users_file, len(sample))
    finally:
        if not options.keep_database:
            dataset.drop_database(options.database_url)
    if not options.keep_logs:  # a JSON line a request: half a gigabyte for a full run
        shutil.rmtree(options.out / f"{options.name}-stack", ignore_errors=True)
        users_file.unlink()
    total = sum(lookups.values())
    hidden = ("DATABASE_URL", "JWT_SECRET", "SERVICE_TOKEN")
    report_ = {
        "command": options.command or shlex.join([sys.executable, "-m", "tests.bench"]),
        "data": data, "plan": plan, "machine": report.machine(), "results": results,
        "endpoints": endpoints,
        "cache_hit_ratio": f"{lookups.get('hit', 0) / total:.3f}" if total else "-",
        "settings": {"duration": options.duration, "connections": options.connections,
                     "high_connections": options.high_connections,
                     "high_duration": options.high_duration, "warmup": options.warmup,
                     "wrk_threads": options.wrk_threads, "users": len(sample), "gunicorn": workers,
                     "environment": {k: v for k, v in service_env(options, "on", "").items()
                                     if k not in hidden}},
    }
    md, js = report.write(report_, options.out, options.name)
    log("")
    log(report.text_table(results))
    log(f"\nwritten: {md} and {js}")
    return report_

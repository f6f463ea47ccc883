"""One benchmark run: load the data, start the stacks, drive every scenario, report."""

import secrets
import shlex
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import redis
import requests
from prometheus_client.parser import text_string_to_metric_families

from gateway.stack import Stack
from services.notifications.routes import etag_of
from tests.bench import dataset, report, users, wrk
from tests.bench.topology import BaselineStack, gateway_env


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
    ports: list[int]  # gateway, internal listener, service; then the same for the baseline
    out: Path
    name: str
    keep_database: bool = False
    service_env: dict[str, str] = field(default_factory=dict)
    command: str = ""


@dataclass(frozen=True)
class Scenario:
    name: str
    label: str
    stack: str  # baseline, off (cache off) or on (cache on)
    mode: str  # load.lua's BENCH_MODE
    expect: int  # the status of a correct answer
    high: bool = False  # run at high_connections for high_duration


SCENARIOS = (
    Scenario("baseline", "baseline: bare Flask, constant JSON", "baseline", "count", 200),
    Scenario("count_off", "unread count, cache off", "off", "count", 200),
    Scenario("count_on", "unread count, cache on", "on", "count", 200),
    Scenario("not_modified", "unread count, 304 (If-None-Match)", "on", "etag", 304),
    Scenario("list", "list, first page", "on", "list", 200),
    Scenario("read", "mark read", "on", "read", 200),
    Scenario("mixed", "mixed: 90% polls, 10% writes", "on", "mixed", 200),
    Scenario("mixed_high", "mixed, 500 connections", "on", "mixed", 200, high=True),
)


def log(message: str) -> None:
    print(message, flush=True)


def first_request(base_url: str, line: str, mode: str) -> requests.Response:
    """The request load.lua makes for the first user, sent once to check the answer."""
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
    return requests.get(url, headers=headers, timeout=10)


def check(stack: Stack, scenario: Scenario, users_file: Path) -> None:
    """Fail before measuring if the scenario's request does not get its correct answer."""
    lines = users_file.read_text().splitlines()
    # The 304 path: every sampled user's precomputed ETag must still be current.
    for line in lines[:20] if scenario.mode == "etag" else lines[:1]:
        answer = first_request(stack.base_url, line, scenario.mode)
        if answer.status_code != scenario.expect:
            raise RuntimeError(f"{scenario.name}: expected {scenario.expect}, got "
                               f"{answer.status_code}: {answer.text[:300]}")


def cache_lookups(stack: Stack) -> dict[str, float]:
    """The notifications service's unread-count cache lookups by result, from /metrics."""
    text = requests.get(f"{stack.internal_url}/metrics/notifications", timeout=10).text
    found: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = sample.labels
            if sample.name == "cache_lookups_total" and labels.get("cache") == "unread_counts":
                found[labels["result"]] = found.get(labels["result"], 0) + sample.value
    return found


def warm_cache(stack: Stack, options: Options, users_file: Path, count: int) -> None:
    """Sweep the users until the cache holds counts for nearly all of them (bounded)."""
    client = redis.Redis.from_url(options.redis_url)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        wrk.run(stack.base_url, "sweep", users_file, duration=2, connections=options.connections,
                threads=options.wrk_threads)
        cached = len(client.keys("notifications:c:*"))
        if cached >= 0.99 * count:
            break
    client.close()


def drive(stack: Stack, scenario: Scenario, options: Options, users_file: Path) -> dict:
    check(stack, scenario, users_file)
    connections = options.high_connections if scenario.high else options.connections
    duration = options.high_duration if scenario.high else options.duration
    if options.warmup:
        wrk.run(stack.base_url, scenario.mode, users_file, duration=options.warmup,
                connections=connections, threads=options.wrk_threads)
    result = wrk.run(stack.base_url, scenario.mode, users_file, duration=duration,
                     connections=connections, threads=options.wrk_threads)
    row = {"name": scenario.name, "label": scenario.label, "connections": connections,
           "mode": scenario.mode, **result.as_dict()}
    log(f"  {scenario.label}: {row['rps']:,.0f} req/s, p50 {row['p50_ms']:.2f} ms, "
        f"p99 {row['p99_ms']:.2f} ms, {row['errors']} errors")
    return row


def service_env(options: Options, cache: str, secret: str) -> dict[str, str]:
    return {
        "COHORT_ENV": "production",
        "DATABASE_URL": options.database_url,
        "CACHE_URL": options.redis_url,
        "JWT_SECRET": secret,
        "SERVICE_TOKEN": secrets.token_hex(16),
        "USE_NOTIFICATION_CACHE": cache,
        # Longer than a run, so the cache-on rows measure hits (a write still replaces them).
        "NOTIFICATION_CACHE_TTL": "600",
        **gateway_env(),
        **options.service_env,
    }


def make_stack(kind: str, options: Options, env: dict[str, str]) -> Stack:
    workdir = options.out / f"{options.name}-stack" / kind
    shutil.rmtree(workdir, ignore_errors=True)
    if kind == "baseline":
        port, internal, service = options.ports[3:6]
        return BaselineStack(workdir, env, port=port, internal_port=internal,
                             service_ports={"notifications": service})
    port, internal, service = options.ports[:3]
    return Stack(workdir, env, port=port, internal_port=internal,
                 service_ports={"notifications": service}, services=["notifications"])


def prepare_data(options: Options, secret: str) -> tuple[dict, str, Path, int]:
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
    return data, plan, users_file, len(sample)


def run(options: Options) -> dict:
    """The whole benchmark; returns the report (also written under options.out)."""
    secret = secrets.token_urlsafe(32)
    data, plan, users_file, count = prepare_data(options, secret)
    log(plan)
    if "ix_notifications_unread" not in plan:
        raise RuntimeError("the unread count is not served by ix_notifications_unread")
    redis.Redis.from_url(options.redis_url).flushdb()
    results, hits = [], {}
    try:
        for kind in ("baseline", "off", "on"):
            cache = "on" if kind == "on" else "off"
            env = service_env(options, cache, secret)
            with make_stack(kind, options, env) as stack:
                log(f"stack: {kind}")
                if kind == "on":
                    warm_cache(stack, options, users_file, count)
                    before = cache_lookups(stack)
                for scenario in (s for s in SCENARIOS if s.stack == kind):
                    results.append(drive(stack, scenario, options, users_file))
                    if scenario.name == "not_modified":
                        after = cache_lookups(stack)
                        hits = {k: after.get(k, 0) - before.get(k, 0) for k in after}
    finally:
        if not options.keep_database:
            dataset.drop_database(options.database_url)
    lookups = sum(hits.values())
    report_ = {
        "command": options.command or shlex.join([sys.executable, "-m", "tests.bench"]),
        "data": data, "plan": plan, "machine": report.machine(), "results": results,
        "cache_hit_ratio": f"{hits.get('hit', 0) / lookups:.3f}" if lookups else "-",
        "settings": {"duration": options.duration, "connections": options.connections,
                     "wrk_threads": options.wrk_threads, "users": count,
                     "environment": {k: v for k, v in service_env(options, "on", "").items()
                                     if k not in ("DATABASE_URL", "JWT_SECRET", "SERVICE_TOKEN")}},
    }
    md, js = report.write(report_, options.out, options.name)
    log("")
    log(report.text_table(results))
    log(f"\nwritten: {md} and {js}")
    return report_

"""One run of the gamification benchmark: load, the leaderboard rows through the gateway, the
LeetCode sync against the stand-in, the in-process table, the report."""

import json
import random
import secrets
import shutil
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import redis
import requests

from cohort.stack import Stack
from services.gamification.leaderboard_sql import PAGE, around
from services.gamification.sync import sync_players
from shared.auth import mint_token
from tests.bench import report, wrk
from tests.bench.cpu import Meter
from tests.bench.gamification import data
from tests.bench.gamification.endpoints import make_app, measure_gamification
from tests.bench.stacks import BASELINE_APP, gateway_env
from tests.support.leetcode import StandIn

STACKS = ("redis", "sql", "baseline")
SCENARIOS = (  # (name, label, stack, request file)
    ("page_redis", "leaderboard, page of 50 + me, Redis", "redis", "page"),
    ("page_sql", "leaderboard, page of 50 + me, SQL path", "sql", "page"),
    ("around_redis", "leaderboard, around=me (50), Redis", "redis", "around"),
    ("around_sql", "leaderboard, around=me (50), SQL path", "sql", "around"),
)
PATHS = {"page": "/api/gamification/leaderboard?limit=50",
         "around": "/api/gamification/leaderboard?around=me&limit=50"}


@dataclass
class Options:
    players: int
    duration: float
    warmup: float
    connections: int
    users: int
    wrk_threads: int
    sync_players: int
    sync_delay: float
    inprocess: int
    database_url: str
    redis_url: str
    ports: list[int]
    out: Path
    name: str
    keep_database: bool = False
    service_env: dict[str, str] = field(default_factory=dict)
    command: str = ""


def log(message: str) -> None:
    print(message, flush=True)


def request_files(options: Options, secret: str, directory: Path) -> dict[str, Path]:
    """A file of requests per kind, each line a random player's with their own token."""
    rng = random.Random(1)
    sample = rng.sample(range(1, options.players + 1), min(options.users, options.players))
    directory.mkdir(parents=True, exist_ok=True)
    files = {}
    for kind, path in PATHS.items():
        lines = [f"GET\t{path}\tAuthorization: Bearer "
                 f"{mint_token({'JWT_SECRET': secret}, u, 'student', data.COHORT, 86400)}\t\n"
                 for u in sample]
        files[kind] = directory / f"{kind}.txt"
        files[kind].write_text("".join(lines))
    return files


def make_stack(kind: str, options: Options, secret: str) -> Stack:
    workdir = options.out / f"{options.name}-stack" / kind
    shutil.rmtree(workdir, ignore_errors=True)
    port, internal, service = options.ports[3 * STACKS.index(kind):][:3]
    env = {"COHORT_ENV": "production", "DATABASE_URL": options.database_url,
           "CACHE_URL": options.redis_url if kind == "redis" else "null://",
           "JWT_SECRET": secret, "SERVICE_TOKEN": secrets.token_hex(16), **gateway_env(),
           **options.service_env}
    apps = {"gamification": BASELINE_APP} if kind == "baseline" else None
    return Stack(workdir, env, port=port, internal_port=internal,
                 service_ports={"gamification": service}, services=["gamification"], apps=apps)


def first_line(file: Path) -> tuple[str, dict]:
    _, path, header, _ = file.read_text().splitlines()[0].split("\t")
    name, _, value = header.partition(": ")
    return path, {name: value}


def check(stacks: dict[str, Stack], files: dict[str, Path]) -> None:
    """Both paths answer the same bytes before anything is measured (the Redis one twice:
    its first answer may come from the database while the board is copied)."""
    for kind, file in files.items():
        path, headers = first_line(file)
        answers = [requests.get(stacks[s].base_url + path, headers=headers, timeout=30)
                   for s in ("redis", "redis", "sql")]
        if any(a.status_code != 200 for a in answers) or answers[1].content != answers[2].content:
            raise RuntimeError(f"{kind}: the paths disagree: {[a.text[:200] for a in answers]}")


def drive(options: Options, stacks: dict[str, Stack], files: dict[str, Path]) -> list[dict]:
    meter = Meter({"gunicorn": [s.pids["gamification"] for s in stacks.values()],
                   "nginx": [s.pids["nginx"] for s in stacks.values()]})

    def one(name, label, stack, file) -> dict:
        run = dict(connections=options.connections, threads=options.wrk_threads)
        if options.warmup:
            wrk.run(stack.base_url, "requests", file, duration=options.warmup, **run)
        meter.start()
        result = wrk.run(stack.base_url, "requests", file, duration=options.duration, **run)
        return {"name": name, "label": label, "connections": options.connections,
                **result.as_dict(), "cores": meter.stop()}

    rows = []
    for name, label, kind, request in SCENARIOS:
        base = one("baseline", "baseline: bare Flask, constant JSON", stacks["baseline"],
                   files[request])
        row = one(name, label, stacks[kind], files[request])
        row["baseline_rps"] = base["rps"]
        row["ratio"] = round(row["rps"] / base["rps"], 3) if base["rps"] else None
        log(f"  {label}: {row['rps']:,.0f} req/s ({row['ratio']} of {base['rps']:,.0f}), "
            f"p50 {row['p50_ms']:.2f} ms, p99 {row['p99_ms']:.2f} ms, {row['errors']} errors")
        rows += [{**base, "ratio": 1.0}, row]
    return rows


def measure_sync(options: Options, secret: str) -> dict:
    """sync_players for the first N players against the stand-in answering in sync_delay."""
    server = StandIn(delay=options.sync_delay)
    now = int(time.time())
    for user in range(1, options.sync_players + 1):
        server.add_user(f"bench_{user}", [now - 3600 * k for k in (2, 30, 54)],
                        first_id=user * 10)
    redis.Redis.from_url(options.redis_url).delete("gamification:rate:leetcode")
    app = make_app(options.database_url, options.redis_url, secret,
                   LEETCODE_GRAPHQL_URL=server.url, LEETCODE_RATE="20/1",
                   LEETCODE_BATCH_SIZE="10", LEETCODE_TIMEOUT="10")
    try:
        with app.app_context():
            sync = sync_players()
    finally:
        server.close()
        with app.app_context():
            app.extensions["sqlalchemy"].engine.dispose()
    ideal = options.sync_players / (20 * 10)
    result = {"players": sync.players, "synced": sync.synced, "requests": len(server.arrivals),
              "seconds": round(sync.seconds, 2), "ideal_seconds": ideal,
              "ratio_to_ideal": round(sync.seconds / ideal, 3),
              "max_requests_in_one_second": server.max_in_window(1.0), "rate": "20/1",
              "batch": 10, "delay_ms": round(options.sync_delay * 1000)}
    log(f"  sync: {result}")
    return result


def run(options: Options) -> dict:
    """The whole benchmark; returns the report (also written under options.out)."""
    secret = secrets.token_urlsafe(32)
    log(f"loading {options.players:,} players into {data.database_name(options.database_url)}")
    load_seconds = data.load(options.database_url, options.players, options.sync_players, log)
    plans = {"page": data.explain(options.database_url, PAGE, options.players // 2),
             "around": data.explain(options.database_url, around(50), options.players // 2)}
    files = request_files(options, secret, options.out / f"{options.name}-requests")
    redis.Redis.from_url(options.redis_url).flushdb()
    try:
        with ExitStack() as running:
            stacks = {k: running.enter_context(make_stack(k, options, secret)) for k in STACKS}
            log("stacks ready: " + ", ".join(f"{k} {s.base_url}" for k, s in stacks.items()))
            check(stacks, files)
            rows = drive(options, stacks, files)
        sync = measure_sync(options, secret)
        endpoints = measure_gamification(options.database_url, options.redis_url, secret,
                                         list(range(1, options.inprocess + 31)),
                                         options.inprocess)
    finally:
        if not options.keep_database:
            data.drop_database(options.database_url)
        shutil.rmtree(options.out / f"{options.name}-stack", ignore_errors=True)
        shutil.rmtree(options.out / f"{options.name}-requests", ignore_errors=True)
    log(report.inprocess_table(endpoints))
    result = {"command": options.command, "players": options.players,
              "load_seconds": round(load_seconds, 1), "machine": report.machine(),
              "results": rows, "sync": sync, "endpoints": endpoints, "plans": plans,
              "settings": {"duration": options.duration, "warmup": options.warmup,
                           "connections": options.connections, "users": options.users,
                           "wrk_threads": options.wrk_threads, **options.service_env}}
    options.out.mkdir(parents=True, exist_ok=True)
    (options.out / f"{options.name}.json").write_text(json.dumps(result, indent=2))
    (options.out / f"{options.name}.md").write_text(markdown(result))
    log(report.text_table([r for r in rows if r["name"] != "baseline"]))
    return result


def markdown(result: dict) -> str:
    table = ["| row | req/s | p50 ms | p99 ms | errors | vs baseline | baseline req/s |",
             "|---|---|---|---|---|---|---|"]
    table += [f"| {r['label']} | {r['rps']:,.0f} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | "
              f"{r['errors']} | {r['ratio']:.2f} | {r.get('baseline_rps', r['rps']):,.0f} |"
              for r in result["results"] if r["name"] != "baseline"]
    sync = result["sync"]
    return "\n".join([
        f"# Gamification benchmark: {result['players']:,} players", "", *table, "",
        f"Sync: {sync['players']:,} players in {sync['requests']} requests, "
        f"{sync['seconds']} s (ideal {sync['ideal_seconds']} s, {sync['ratio_to_ideal']}x), "
        f"at most {sync['max_requests_in_one_second']} requests in any one-second window "
        f"(rate {sync['rate']}, batch {sync['batch']}, {sync['delay_ms']} ms a request).", "",
        report.inprocess_table(result["endpoints"]), "",
        "## Plans", "", "```", result["plans"]["page"], "```", "", "```",
        result["plans"]["around"], "```", "", f"```\n{result['command']}\n```", ""])

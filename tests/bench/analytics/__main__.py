"""`python -m tests.bench.analytics [--quick]`: the analytics benchmark (see __init__)."""

import argparse
import json
import secrets
import shlex
import shutil
import sys
import warnings
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

from flask_migrate import upgrade

from shared.auth import mint_token
from shared.config import VAR_DIR
from shared.demo import DEMO_ADMIN_ID
from tests.bench import dataset as databases
from tests.bench.analytics import __doc__ as DOC
from tests.bench.analytics import dataset, gateway, inprocess
from tests.bench.report import machine
from tests.support.servers import POSTGRES_URL

FULL = {"students": 100_000, "mentors": 2_000, "submissions": 5_000_000, "ingest": 1_000_000,
        "duration": 10, "warmup": 2, "users": 2_000}
QUICK = {"students": 500, "mentors": 10, "submissions": 20_000, "ingest": 20_000,
         "duration": 2, "warmup": 1, "users": 50}


@dataclass
class Options:
    students: int
    mentors: int
    submissions: int
    ingest: int
    duration: int
    warmup: int
    users: int
    connections: int
    wrk_threads: int
    database_url: str
    redis_url: str
    ports: list[int]
    out: Path
    name: str
    keep_database: bool = False
    service_env: dict = field(default_factory=dict)
    command: str = ""


def options_from(argv: list[str]) -> Options:
    p = argparse.ArgumentParser(prog="python -m tests.bench.analytics", description=DOC,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    for name, value in FULL.items():
        p.add_argument(f"--{name}", type=int, help=f"default {value:,} (--quick: {QUICK[name]:,})")
    p.add_argument("--connections", type=int, default=32, help="wrk connections (32)")
    p.add_argument("--wrk-threads", type=int, default=2)
    p.add_argument("--workers", type=int, help="gunicorn workers (WEB_CONCURRENCY)")
    p.add_argument("--quick", action="store_true", help="small data, short runs: a smoke run")
    p.add_argument("--database-url", help="PostgreSQL database to (re)create and drop "
                   "(default cohort_bench_analytics[_quick] on TEST_POSTGRES_URL's server)")
    p.add_argument("--redis-url", default="redis://127.0.0.1:6379/11")
    p.add_argument("--port", type=int, default=18800, help="first of six ports (18800..18805)")
    p.add_argument("--out", type=Path, default=VAR_DIR / "bench")
    p.add_argument("--keep-database", action="store_true")
    args = p.parse_args(argv)
    sizes = {k: getattr(args, k) or (QUICK if args.quick else FULL)[k] for k in FULL}
    name = "analytics-quick" if args.quick else f"analytics-{sizes['students']}"
    database = args.database_url or POSTGRES_URL.rsplit("/", 1)[0] + (
        "/cohort_bench_analytics_quick" if args.quick else "/cohort_bench_analytics")
    return Options(**sizes, connections=args.connections, wrk_threads=args.wrk_threads,
                   database_url=database, redis_url=args.redis_url,
                   ports=list(range(args.port, args.port + 6)), out=args.out, name=name,
                   keep_database=args.keep_database,
                   service_env={"WEB_CONCURRENCY": str(args.workers)} if args.workers else {},
                   command=shlex.join(["python", "-m", "tests.bench.analytics", *argv]))


def log(message: str) -> None:
    print(message, flush=True)


def prepare(options: Options, scale: dataset.Scale) -> float:
    databases.recreate_database(options.database_url)
    app = inprocess.app_for(options.database_url)
    with warnings.catch_warnings(), app.app_context():
        warnings.simplefilter("ignore")
        upgrade()
        app.extensions["sqlalchemy"].engine.dispose()
    return dataset.load(options.database_url, scale, log)


def dashboard_paths(scale: dataset.Scale, app) -> list:
    """The three dashboards of student 1, their mentor and cohort, asked by an admin."""
    admin = {"Authorization": "Bearer " + mint_token(app.config, DEMO_ADMIN_ID, "admin")}
    return [("student", ("/api/analytics/students/1/dashboard", admin)),
            ("mentor", (f"/api/analytics/mentors/{scale.mentor_of(1)}/dashboard", admin)),
            ("cohort", ("/api/analytics/cohorts/1/dashboard", admin))]


def run(options: Options) -> dict:
    """The whole benchmark; the report is written to OUT/<name>.md and .json."""
    scale = dataset.Scale(options.students, options.mentors, options.submissions)
    log(f"loading {scale.students:,} students, {scale.mentors:,} mentors, "
        f"{scale.submissions:,} submissions into {databases.database_name(options.database_url)}")
    report = {"command": options.command, "machine": machine(),
              "data": {"load_seconds": round(prepare(options, scale), 1)}}
    try:
        report["data"].update(dataset.counts(options.database_url))
        app = inprocess.app_for(options.database_url, USE_ANALYTICS_SUMMARY="on")
        bare = inprocess.bare_group_by(options.database_url)
        inprocess.timed_recompute(app, full=True)
        full, full_report = inprocess.timed_recompute(app, full=True)
        inprocess.ingest(app, inprocess.cohort_events(scale, 7, "c"))
        incremental, inc_report = inprocess.timed_recompute(app)
        report["recompute"] = {
            "bare_group_by_s": round(bare, 3), "full_s": round(full, 3),
            "full_vs_bare": round(full / bare, 2), "incremental_s": round(incremental, 3),
            "incremental_vs_full": round(incremental / full, 4), "full": full_report,
            "incremental": inc_report}
        log(f"  recompute: bare GROUP BY {bare:.2f} s, full {full:.2f} s "
            f"({full / bare:.2f}x), incremental {incremental:.3f} s "
            f"({incremental / full:.2%} of full)")
        paths = dashboard_paths(scale, app)
        report["per_request"] = {
            "live": inprocess.per_request(options.database_url, paths, "off", 20),
            "summary": inprocess.per_request(options.database_url, paths, "on", 50)}
        log(f"  per request: {json.dumps(report['per_request'])}")
        secret = secrets.token_urlsafe(32)
        files = gateway.dashboard_files(options.out / f"{options.name}-requests", scale, secret,
                                        options.users)
        with ExitStack() as running:
            stacks = {k: running.enter_context(s)
                      for k, s in gateway.stacks(options, secret).items()}
            report["gateway"] = gateway.dashboards(stacks, files, options, log)
        events = inprocess.ingest_events(scale, options.ingest)
        plain = inprocess.plain_insert(options.database_url, events)
        ingest = inprocess.ingest(app, events)
        report["ingest"] = {"events": len(events), "plain_rows_per_s": round(len(events) / plain),
                            "ingest_rows_per_s": round(len(events) / ingest),
                            "ratio": round(plain / ingest, 3)}
        log(f"  ingest: {len(events) / ingest:,.0f} events/s, plain INSERT "
            f"{len(events) / plain:,.0f} rows/s: {plain / ingest:.2f}x")
        with app.app_context():
            app.extensions["sqlalchemy"].engine.dispose()
    finally:
        if not options.keep_database:
            databases.drop_database(options.database_url)
        shutil.rmtree(options.out / f"{options.name}-stack", ignore_errors=True)
        shutil.rmtree(options.out / f"{options.name}-requests", ignore_errors=True)
    options.out.mkdir(parents=True, exist_ok=True)
    (options.out / f"{options.name}.json").write_text(json.dumps(report, indent=2) + "\n")
    log(f"written: {options.out / (options.name + '.json')}")
    return report


def main(argv: list[str] | None = None) -> int:
    run(options_from(sys.argv[1:] if argv is None else argv))
    return 0


if __name__ == "__main__":
    sys.exit(main())

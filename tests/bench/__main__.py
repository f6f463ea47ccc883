"""`python -m tests.bench`: the benchmark's command line (see tests/bench/__init__.py)."""

import argparse
import os
import shlex
import sys
from pathlib import Path

from shared.config import VAR_DIR
from tests.bench import __doc__ as DOC
from tests.bench.run import Options, run
from tests.support.servers import POSTGRES_URL

DEFAULTS = {"students": 100_000, "duration": 15, "connections": 64, "high_connections": 500,
            "high_duration": 30, "warmup": 3, "users": 10_000, "inprocess": 300}
QUICK = {"students": 500, "duration": 2, "high_duration": 3, "warmup": 1, "users": 300,
         "inprocess": 40}


def parser() -> argparse.ArgumentParser:
    """The command line, documented by the package docstring."""
    p = argparse.ArgumentParser(prog="python -m tests.bench", description=DOC,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    add = p.add_argument
    add("--students", type=int, help="students, user ids 1..N (100000; --quick: 500)")
    add("--notifications", type=int,
        help="notifications to load (20 per student: 2,000,000 for 100,000)")
    add("--duration", type=int, help="seconds each scenario is measured (15; --quick: 2)")
    add("--connections", type=int, help="wrk connections of each scenario (64)")
    add("--high-connections", type=int, help="connections of the high-concurrency run (500)")
    add("--high-duration", type=int,
        help="seconds of the high-concurrency run (30; --quick: 3)")
    add("--warmup", type=int,
        help="seconds of unmeasured load before each scenario (3; --quick: 1)")
    add("--users", type=int,
        help="distinct users, each with a token, the load spreads over (10000; --quick: 300)")
    add("--inprocess", type=int,
        help="requests of each endpoint measured in-process for CPU and round trips "
             "(300; --quick: 40)")
    add("--wrk-threads", type=int, default=os.cpu_count() or 2, help="wrk threads (nproc)")
    add("--quick", action="store_true",
        help="small data and short scenarios: proves the benchmark works, measures little")
    add("--workers", type=int, help="gunicorn workers (sets WEB_CONCURRENCY)")
    add("--worker-class", help="gunicorn worker class (sets GUNICORN_WORKER_CLASS)")
    add("--threads", type=int, help="gunicorn threads per worker (sets GUNICORN_THREADS)")
    add("--database-url", help="PostgreSQL database to (re)create, load and drop; default "
        "cohort_bench (--quick: cohort_bench_quick) on TEST_POSTGRES_URL's server")
    add("--redis-url", default="redis://127.0.0.1:6379/13",
        help="Redis database the benchmark flushes and uses (redis://127.0.0.1:6379/13)")
    add("--port", type=int, default=18600,
        help="first of the nine loopback ports the three stacks listen on (18600..18608)")
    add("--out", type=Path, default=VAR_DIR / "bench",
        help="where the report and the stacks' logs go (var/bench)")
    add("--keep-database", action="store_true", help="leave the loaded database behind")
    add("--keep-logs", action="store_true",
        help="keep the stacks' logs and the users file (OUT/<name>-stack/; kept after a failure)")
    return p


def options_from(argv: list[str]) -> Options:
    """A run's Options from the command line; --quick changes the defaults not given."""
    args = parser().parse_args(argv)
    for name, default in DEFAULTS.items():
        if getattr(args, name) is None:
            setattr(args, name, QUICK.get(name, default) if args.quick else default)
    database = args.database_url or POSTGRES_URL.rsplit("/", 1)[0] + (
        "/cohort_bench_quick" if args.quick else "/cohort_bench")
    gunicorn = {"WEB_CONCURRENCY": args.workers, "GUNICORN_WORKER_CLASS": args.worker_class,
                "GUNICORN_THREADS": args.threads}
    return Options(
        students=args.students, notifications=args.notifications or 20 * args.students,
        duration=args.duration, connections=args.connections,
        high_connections=args.high_connections, high_duration=args.high_duration,
        warmup=args.warmup, users=args.users, wrk_threads=args.wrk_threads,
        database_url=database, redis_url=args.redis_url,
        ports=list(range(args.port, args.port + 9)), out=args.out,
        name=("quick" if args.quick else f"students-{args.students}") + (
            "" if args.connections == DEFAULTS["connections"] else f"-c{args.connections}"),
        keep_database=args.keep_database, keep_logs=args.keep_logs, inprocess=args.inprocess,
        service_env={k: str(v) for k, v in gunicorn.items() if v is not None},
        command=shlex.join(["python", "-m", "tests.bench", *argv]),
    )


def main(argv: list[str] | None = None) -> int:
    run(options_from(sys.argv[1:] if argv is None else argv))
    return 0


if __name__ == "__main__":
    sys.exit(main())

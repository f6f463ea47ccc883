"""`python -m tests.bench.gamification`: the command line (see the package docstring)."""

import argparse
import os
import shlex
import sys
from pathlib import Path

from shared.config import VAR_DIR
from tests.bench.gamification import __doc__ as DOC
from tests.bench.gamification.run import Options, run
from tests.support.servers import POSTGRES_URL

DEFAULTS = {"players": 100_000, "duration": 15, "warmup": 3, "connections": 64,
            "users": 10_000, "sync_players": 2000, "inprocess": 300}
QUICK = {"players": 2000, "duration": 2, "warmup": 1, "users": 300, "sync_players": 200,
         "inprocess": 30}


def options_from(argv: list[str]) -> Options:
    p = argparse.ArgumentParser(prog="python -m tests.bench.gamification", description=DOC,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    add = p.add_argument
    add("--players", type=int, help="players, all in one cohort (100000; --quick: 2000)")
    add("--duration", type=int, help="seconds each row is measured (15; --quick: 2)")
    add("--warmup", type=int, help="seconds of unmeasured load before each row (3)")
    add("--connections", type=int, help="wrk connections (64)")
    add("--users", type=int, help="players with tokens in the load (10000; --quick: 300)")
    add("--sync-players", type=int, help="players the sync row fetches (2000; --quick: 200)")
    add("--sync-delay", type=float, default=0.2, help="the stand-in's answer time (0.2 s)")
    add("--inprocess", type=int, help="requests per endpoint in-process (300; --quick: 30)")
    add("--wrk-threads", type=int, default=os.cpu_count() or 2)
    add("--workers", type=int, help="gunicorn workers (sets WEB_CONCURRENCY)")
    add("--quick", action="store_true", help="small data and short rows: a smoke run")
    add("--database-url", help="PostgreSQL database to (re)create, load and drop; default "
        "cohort_bench_gamification on TEST_POSTGRES_URL's server")
    add("--redis-url", default="redis://127.0.0.1:6379/10", help="Redis database it flushes")
    add("--port", type=int, default=18700, help="first of nine loopback ports (18700..18708)")
    add("--out", type=Path, default=VAR_DIR / "bench", help="where the report goes")
    add("--keep-database", action="store_true")
    args = p.parse_args(argv)
    for name, default in DEFAULTS.items():
        if getattr(args, name) is None:
            setattr(args, name, QUICK.get(name, default) if args.quick else default)
    database = args.database_url or POSTGRES_URL.rsplit("/", 1)[0] + (
        "/cohort_bench_gamification_quick" if args.quick else "/cohort_bench_gamification")
    name = "gamification-quick" if args.quick else f"gamification-{args.players}"
    return Options(
        players=args.players, duration=args.duration, warmup=args.warmup,
        connections=args.connections, users=args.users, wrk_threads=args.wrk_threads,
        sync_players=min(args.sync_players, args.players), sync_delay=args.sync_delay,
        inprocess=args.inprocess, database_url=database, redis_url=args.redis_url,
        ports=list(range(args.port, args.port + 9)), out=args.out,
        name=name + ("" if args.connections == 64 else f"-c{args.connections}"),
        keep_database=args.keep_database,
        service_env={"WEB_CONCURRENCY": str(args.workers)} if args.workers else {},
        command=shlex.join(["python", "-m", "tests.bench.gamification", *argv]))


def main(argv: list[str] | None = None) -> int:
    run(options_from(sys.argv[1:] if argv is None else argv))
    return 0


if __name__ == "__main__":
    sys.exit(main())

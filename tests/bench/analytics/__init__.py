"""The analytics benchmark: recompute, ingest and the dashboards at scale.

    python -m tests.bench.analytics            # 100,000 students, 2,000 mentors, 5,000,000
                                               # submissions with reviews
    python -m tests.bench.analytics --quick    # small data, short runs: a smoke run

In one run, on one freshly loaded PostgreSQL database (INSERT ... SELECT over
generate_series, indexes rebuilt after, VACUUM ANALYZE):

- a bare `GROUP BY student_id` over the submissions, then a full recompute-analytics (the
  second of two runs each), then an incremental run after one cohort's new facts;
- per dashboard, in this process: queries, PostgreSQL round trips (through a counting
  proxy) and CPU microseconds a request, on the live and the summary path;
- the three dashboards through nginx and gunicorn (cohort.stack.Stack), summary path, each
  right after the bare-Flask baseline (tests/bench/baseline.py) at the same settings, wrk
  playing request files of many users with their own tokens (BENCH_MODE=requests);
- ingest of --ingest events in batches of 5,000 through the app (JSON, checks, writes)
  against a plain batched INSERT of the same rows into a bare table.

No gamification service runs: the first dashboard's call fails and the shared breaker keeps
the others from calling, so the figures measure analytics' own work. The report goes to
var/bench/analytics-<students>.json.
"""

"""The benchmark of Cohort Scale: the unread-count hot path through the real topology.

    python -m tests.bench                      # 100,000 students, 2,000,000 notifications
    python -m tests.bench --students 2000      # the original team's scale
    python -m tests.bench --quick              # small data, ~2 s a scenario: a smoke run

It loads a fresh PostgreSQL database (the service's migrations, then one INSERT ... SELECT
over generate_series with the indexes rebuilt after, then VACUUM ANALYZE), starts nginx and
gunicorn with the deployed settings (gateway/stack.py, deploy/gunicorn.conf.py) on PostgreSQL
and Redis, and drives them with wrk on loopback: every request is a random one of --users
students, each with their own signed token. A bare Flask app answering a constant, behind
the same nginx and gunicorn settings, is the baseline every row is divided by.

Rows: the unread count with the cache off, on, and answered 304 (If-None-Match with each
user's current ETag); the first page of the list; mark read; a mixed load (90% polls, 10%
writes); and the mixed load at 500 connections. Each reports requests per second, p50 and p99
latency and errors (non-2xx/3xx answers and socket errors). The report also shows EXPLAIN
(ANALYZE, BUFFERS) of the count query on the loaded data, the machine and the command, and is
written to var/bench/<name>.md and .json.

Needs PostgreSQL (TEST_POSTGRES_URL's server), Redis, nginx and wrk (apt-get install wrk).
The gateway's per-client rate limit is raised for the run: all the load comes from one
address. Set GUNICORN_* / WEB_CONCURRENCY (or --workers, --worker-class, --threads) to
compare gunicorn settings; both stacks get the same.
"""

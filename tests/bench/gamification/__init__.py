"""The gamification benchmark: leaderboards at 100,000 players and the LeetCode sync.

    python -m tests.bench.gamification                   # 100,000 players in one cohort
    python -m tests.bench.gamification --players 2000 --connections 1   # the original scale
    python -m tests.bench.gamification --quick           # small data, short rows: a smoke run

It loads a fresh PostgreSQL database (the service's migrations, then players, a running
season, totals, score buckets and the board row in bulk, as the service keeps them), starts
three stacks of the real topology (nginx and gunicorn with deploy/gunicorn.conf.py): the
service with Redis, the service without it (the SQL path), and a bare Flask app answering
a constant in its place (the baseline). wrk plays request files (BENCH_MODE=requests): a
leaderboard page of 50 with `me`, and `around=me`, each request a random player's with their
own token. Every row is measured right after a baseline run at the same settings.

The sync row runs `sync_players` for 2,000 players against the LeetCode stand-in
(tests/support/leetcode.py) answering in 200 ms, at LEETCODE_RATE=20/1 and batches of 10:
the ideal is 2,000 / (20 x 10) = 10 s; it reports the time, its ratio to the ideal and the
most requests the stand-in saw in any one-second window.

The in-process table gives, for every endpoint, the CPU a request costs and its round trips
to PostgreSQL and Redis (tests/bench/inprocess.py).
"""

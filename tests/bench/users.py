"""The users wrk plays: a file of tokens, current ETags and notification ids."""

import random
from collections.abc import Callable
from pathlib import Path

import psycopg

from shared.auth import mint_token

TOKEN_TTL = 24 * 3600

# Per sampled user with notifications: the current ETag of their counts (as the service
# makes it) and one notification to mark read, an unread one where they have any.
SAMPLE_SQL = """
SELECT user_id,
       count(*) FILTER (WHERE read_at IS NULL AND kind = 'dashboard'),
       count(*) FILTER (WHERE read_at IS NULL AND kind = 'profile'),
       coalesce(max(id) FILTER (WHERE read_at IS NULL), max(id))
FROM notifications
WHERE user_id = ANY(%s)
GROUP BY user_id
"""


def sample(url: str, students: int, size: int, etag_of: Callable[[dict], str],
           seed: int = 1) -> list[tuple[int, str, int]]:
    """Up to `size` random students who have notifications: (user id, ETag, notification id).

    `etag_of` is the service's own: the ETags are the ones it will send.
    """
    rng = random.Random(seed)
    candidates = rng.sample(range(1, students + 1), min(students, size * 2))
    with psycopg.connect(url) as conn:
        rows = conn.execute(SAMPLE_SQL, (candidates,)).fetchall()
    rng.shuffle(rows)
    return [(user, f'"{etag_of({"dashboard": dashboard, "profile": profile})}"', notification)
            for user, dashboard, profile, notification in rows[:size]]


def write_users_file(path: Path, users: list[tuple[int, str, int]], config: dict) -> Path:
    """Lines "<token> <etag> <notification id>" for load.lua, tokens signed like real ones."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [f"{mint_token(config, user, 'student', ttl=TOKEN_TTL)} {etag} {notification}\n"
             for user, etag, notification in users]
    path.write_text("".join(lines))
    return path

"""The leaderboard from Redis sorted sets: byte for byte the database's answer, and never a
board that diverged from the ledger (a lost update, an empty or old Redis, an evicted key)."""

import random

import pytest
import redis
from prometheus_client import REGISTRY

from services.gamification import leaderboard
from services.gamification.leaderboard import register_blocks
from services.gamification.mirror import keys
from shared.observability import count_queries
from tests.support.proxy import proxy_to

pytestmark = pytest.mark.redis
BOARD = "/api/gamification/leaderboard"
AROUND = f"{BOARD}?around=me&limit=5"  # read from Redis every time (pages are kept)


def lookups(result: str, cache: str = "leaderboard") -> float:
    return REGISTRY.get_sample_value("cache_lookups_total", {
        "service": "gamification", "cache": cache, "result": result}) or 0.0


def get(client, url, headers):
    """GET and close (a closed response runs its call_on_close work: the rebuild)."""
    response = client.get(url, headers=headers)
    data = response.data
    response.close()
    assert response.status_code == 200, data
    return data


@pytest.fixture
def populated(game):
    """130 players, many ties (scores from a small set, negatives too), two cohorts."""
    rng = random.Random(7)
    for user in range(1, 131):
        game.player(user, cohort=1 if user <= 120 else 2, name=f"P{user:03d}")
    season = game.season("Now")
    awards = [game.points(u, rng.choice((5, 5, 10, 10, 10, 20, 35, -5)), ref=f"a{u}-{n}")
              for u in range(1, 131) for n in range(rng.randrange(0, 4))]
    game.award(*awards)
    return season


QUERIES = [f"{BOARD}?limit={limit}&offset={offset}" for limit in (1, 7, 50, 100)
           for offset in (0, 13, 119, 300)] + [
    f"{BOARD}?around=me&limit={limit}" for limit in (1, 2, 5, 10, 100)]
USERS = (1, 17, 60, 118, 120)


@pytest.fixture
def apps(make_app, redis_url, populated):
    sql = make_app()
    cached = make_app(CACHE_URL=redis_url, CACHE_RETRY_AFTER="0")
    return sql.test_client(), cached.test_client()


def same_answers(sql, cached, tokens, users=USERS, queries=QUERIES):
    for user in users:
        headers = tokens.user(user, "student", cohort_id=1)
        for url in queries:
            assert get(cached, url, headers) == get(sql, url, headers), (user, url)


def test_both_paths_answer_byte_for_byte(apps, tokens, populated):
    sql, cached = apps
    get(cached, BOARD, tokens.user(1, "student", cohort_id=1))  # a miss: rebuilt after
    misses, shown = lookups("miss"), lookups("miss", "leaderboard_blocks")
    same_answers(sql, cached, tokens)
    mentor = tokens.user(900001, "mentor", cohort_id=1)
    for url in (f"{BOARD}?around=me&limit=3", f"{BOARD}?season={populated['id']}&limit=100"):
        assert get(cached, url, mentor) == get(sql, url, mentor)
    assert lookups("miss") == misses  # every page and window from Redis, or kept blocks
    # the board's 120 players are three blocks: each app shows each of them once at most
    assert lookups("miss", "leaderboard_blocks") - shown <= 2 * 3


def test_a_window_is_the_same_however_it_is_placed(apps, tokens, populated, monkeypatch):
    """From Redis, from where kept blocks saw the caller, by a count of the players tied with
    them, or read whole by the database (a tie too large to count): the same bytes."""
    sql, cached = apps
    windows = [url for url in QUERIES if "around=me" in url]
    same_answers(sql, cached, tokens, queries=windows)
    for counted in (leaderboard.TIES_COUNTED, 0):
        monkeypatch.setattr(leaderboard, "TIES_COUNTED", counted)
        for user in USERS:
            headers = tokens.user(user, "student", cohort_id=1)
            for url in windows:
                register_blocks(sql.application)  # nothing kept: placed by the database
                assert get(sql, url, headers) == get(cached, url, headers), (user, url)


def test_kept_blocks_cost_one_statement_and_no_redis_trip(make_app, tokens, populated,
                                                         redis_url):
    """A window around a caller the app has not shown yet asks Redis where it starts and
    reads its run of blocks (its players from the database); after that, a page or a window
    around any player those blocks showed is the season, its version and the caller's place:
    one statement, no Redis."""
    get(make_app(CACHE_URL=redis_url).test_client(), BOARD, tokens.user(1, "student",
                                                                         cohort_id=1))
    with proxy_to(redis_url) as (proxy, url):
        client = make_app(CACHE_URL=url).test_client()
        client.application.extensions["gamification.mirror"].client.ping()  # connected
        window, page = f"{BOARD}?around=me&limit=50", f"{BOARD}?limit=50"
        for user, query, cost in ((60, window, (2, 2)), (60, window, (0, 1)),
                                  (1, window, (0, 1)), (118, page, (0, 1))):
            with proxy.counting() as trips, count_queries() as stats:
                get(client, query, tokens.user(user, "student", cohort_id=1))
            assert (trips(), stats.count) == cost, (user, query)


def test_a_window_is_never_placed_where_an_older_version_stood(apps, tokens, populated, game):
    """Where a player stands is kept per board version: the caller's window after an award
    that moved them is placed anew (Redis on the one path, the database on the other)."""
    sql, cached = apps
    headers = tokens.user(1, "student", cohort_id=1)
    for client in (cached, sql):
        get(client, BOARD, headers)
        get(client, f"{BOARD}?limit=100&offset=50", headers)  # every player's place kept
        assert get(client, AROUND, headers) == get(client, AROUND, headers)
    before = get(sql, AROUND, headers)
    game.award(game.points(1, 1000, ref="big"))
    moved = get(cached, AROUND, headers)
    assert moved == get(sql, AROUND, headers) != before
    assert b'"rank":1,"user_id":1,' in moved


def test_an_update_lost_while_redis_blipped_is_never_served(make_app, game, tokens, populated,
                                                            redis_url):
    sql = make_app().test_client()
    headers = tokens.user(1, "student", cohort_id=1)
    with proxy_to(redis_url) as (proxy, url):
        cached = make_app(CACHE_URL=url, CACHE_RETRY_AFTER="0").test_client()
        get(cached, AROUND, headers)  # a miss: copied after
        register_blocks(cached.application)  # nothing kept: the window from Redis
        hits = lookups("hit")
        assert get(cached, AROUND, headers) == get(sql, AROUND, headers)
        assert lookups("hit") == hits + 2  # where the window starts, then its run of blocks
        proxy.freeze()  # the award commits; its update to Redis times out
        award(cached, tokens, game.points(1, 1000, ref="big"))
        proxy.cut()  # the update held in the network is lost, not delivered late
        proxy.thaw()
        misses = lookups("miss")
        fresh = get(cached, AROUND, headers)
        assert lookups("miss") == misses + 1
        assert fresh == get(sql, AROUND, headers)
        assert b'"rank":1,"user_id":1,' in fresh
        same_answers(sql, cached, tokens, users=(1,), queries=QUERIES[:4])


def award(client, tokens, *awards):
    """Award through `client`'s app: the one whose Redis copy follows the change."""
    response = client.post("/internal/gamification/points", json={"awards": list(awards)},
                           headers=tokens.service)
    assert response.status_code == 201, response.json


def test_an_update_applied_in_step_keeps_serving_redis(apps, game, tokens):
    sql, cached = apps
    headers = tokens.user(1, "student", cohort_id=1)
    get(cached, BOARD, headers)
    award(cached, tokens, game.points(5, 500, ref="jump"), game.points(6, -3, ref="drop"))
    game.player(121, cohort=1, name="Late joiner")  # through the other app: a miss, rebuilt
    get(cached, BOARD, headers)
    award(cached, tokens, game.points(121, 5, ref="late"))
    hits, misses = lookups("hit"), lookups("miss")
    same_answers(sql, cached, tokens, users=(5, 6, 121), queries=QUERIES[:6] + QUERIES[-2:])
    assert lookups("miss") == misses
    assert lookups("hit") > hits


def test_redis_restarted_empty(apps, tokens, redis_url):
    sql, cached = apps
    headers = tokens.user(17, "student", cohort_id=1)
    get(cached, AROUND, headers)
    redis.Redis.from_url(redis_url).flushdb()
    register_blocks(cached.application)  # nothing kept: the window from Redis
    misses = lookups("miss")
    assert get(cached, AROUND, headers) == get(sql, AROUND, headers)
    assert lookups("miss") == misses + 1
    same_answers(sql, cached, tokens, users=(17,))


def test_an_old_copy_restored_is_never_served(apps, game, tokens, redis_url, populated):
    sql, cached = apps
    headers = tokens.user(2, "student", cohort_id=1)
    get(cached, BOARD, headers)
    client = redis.Redis.from_url(redis_url)
    board, version = keys(populated["id"], 1)
    saved = {key: client.dump(key) for key in (board, version)}
    award(cached, tokens, game.points(2, 777, ref="after-snapshot"))
    for key, value in saved.items():  # a Redis brought back from an older snapshot
        client.restore(key, 0, value, replace=True)
    assert b'"points":777' in get(cached, f"{BOARD}?limit=1", headers)
    assert get(cached, BOARD, headers) == get(sql, BOARD, headers)


def test_an_evicted_board_is_never_served_empty(apps, tokens, redis_url, populated):
    sql, cached = apps
    headers = tokens.user(3, "student", cohort_id=1)
    get(cached, BOARD, headers)
    redis.Redis.from_url(redis_url).delete(keys(populated["id"], 1)[0])
    register_blocks(cached.application)  # nothing kept: the page from Redis
    misses = lookups("miss")
    assert get(cached, BOARD, headers) == get(sql, BOARD, headers)
    assert lookups("miss") == misses + 1


def test_redis_hanging_serves_the_database(make_app, tokens, populated, redis_url,
                                           monkeypatch):
    """One read waits for the timeout; then the breaker spares Redis for its period."""
    sql = make_app().test_client()
    headers = tokens.user(4, "student", cohort_id=1)
    with proxy_to(redis_url) as (proxy, url):
        cached = make_app(CACHE_URL=url, CACHE_RETRY_AFTER="30").test_client()
        get(cached, BOARD, headers)
        board_mirror, reads = cached.application.extensions["gamification.mirror"], []
        for name in ("_read", "_place"):
            script = getattr(board_mirror, name)
            monkeypatch.setattr(board_mirror, name,
                                lambda script=script, **kw: reads.append(kw) or script(**kw))
        proxy.freeze()
        for url in (BOARD, f"{BOARD}?around=me", f"{BOARD}?around=me&limit=3"):
            register_blocks(cached.application)  # nothing kept: Redis would be read
            assert get(cached, url, headers) == get(sql, url, headers), url
        assert len(reads) == 1
        proxy.thaw()


def test_the_rebuild_command(make_app, tokens, populated, redis_url):
    app = make_app(CACHE_URL=redis_url)
    result = app.test_cli_runner().invoke(args=["rebuild-leaderboards", "--verbose"])
    assert "copied 2 of 2 boards" in result.output, result.output
    hits = lookups("hit")
    get(app.test_client(), BOARD, tokens.user(1, "student", cohort_id=1))
    assert lookups("hit") == hits + 1

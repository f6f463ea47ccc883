"""HTTP routes of the gamification service: parse, call the service, dump."""

from flask import Blueprint, current_app
from marshmallow import ValidationError

from services.gamification import points, seasons, service
from services.gamification.leaderboard import leaderboard
from services.gamification.schemas import (
    ActivityArgs,
    ActivityOut,
    Awarded,
    AwardsBody,
    BatchBody,
    BatchOut,
    LeaderboardArgs,
    LeaderboardOut,
    NewSeason,
    PlayerBody,
    PlayerOut,
    PlayerProfile,
    Queued,
    SeasonList,
    SeasonOut,
    SeasonPatch,
    SeasonsArgs,
    StreakOut,
    load_awards,
)
from shared.api import body, problems, query, responds
from shared.auth import (
    Principal,
    current_principal,
    roles_required,
    service_required,
    user_required,
)
from shared.errors import Problem
from shared.front import query_args

api = Blueprint("gamification", __name__, url_prefix="/api/gamification")
internal = Blueprint("gamification_internal", __name__, url_prefix="/internal/gamification")


def player_routes(rule: str, **options):
    """A player route at /players/<id>/... and /players/me/... (the caller)."""

    def decorator(view):
        api.add_url_rule(f"/players/<id:user_id>{rule}", view_func=view, **options)
        api.add_url_rule(f"/players/me{rule}", view_func=view, defaults={"user_id": None},
                         endpoint=f"{view.__name__}_me", **options)
        return view

    return decorator


def caller_or(user_id: int | None) -> int:
    return current_principal().user_id if user_id is None else user_id


@api.get("/leaderboard")
@user_required
@query(LeaderboardArgs)
@responds(200, LeaderboardOut, "The board of the season in the cohort, and the caller's place")
@problems(403, 404)
def get_leaderboard(query):
    """A season's leaderboard in a cohort: a page, or the window around the caller.

    Points descending; equal points share a rank (1, 2, 2, 4) and are listed by user_id;
    every player of the cohort is ranked, zero points included. `me` is null when the caller
    is not on this board; `around=me` then gives the page at `offset`. `cohort` defaults to
    the caller's (an admin without one must give it); a student sees only their own cohort.
    """
    status, headers, payload = json_answer(leaderboard(**board_args(current_principal(), query)))
    return current_app.response_class(payload, status, headers)


def board_args(principal: Principal, query: dict) -> dict:
    """What the leaderboard is asked for: the cohort checked against the caller."""
    cohort = query.get("cohort") or principal.cohort_id
    if cohort is None:
        raise Problem(400, "Your token names no cohort: give `cohort`.", title="Invalid request",
                      errors={"cohort": ["Required: your token names no cohort."]})
    if principal.role == "student" and cohort != principal.cohort_id:
        raise Problem(403, "Students see only their own cohort's leaderboard.", title="Forbidden")
    return {"cohort_id": cohort, "season": query["season"], "limit": query["limit"],
            "offset": query["offset"], "around": query.get("around") == "me",
            "me": principal.user_id}


def json_answer(payload: bytes) -> tuple[int, list, bytes]:
    return 200, [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))], \
        payload


class LeaderboardFront:
    """The leaderboard answered in front of Flask (shared/front.py), by the route's own
    functions; bad parameters go to Flask."""

    def __init__(self, app):
        self.app, self.loader = app, LeaderboardArgs()

    def __call__(self, environ, user):
        try:
            query = self.loader.load(query_args(environ))
        except (ValidationError, UnicodeError):
            return None
        with self.app.app_context():
            return json_answer(leaderboard(**board_args(user, query)))


@player_routes("", methods=["GET"])
@user_required
@responds(200, PlayerOut, "The player, their streak and points")
@problems(404)
def get_player(user_id):
    """A player (`me`: the caller) with their streak and points; the player themself, a
    mentor of their cohort or an admin."""
    return service.get_player(principal=current_principal(), user_id=caller_or(user_id))


@player_routes("/streak", methods=["GET"])
@user_required
@responds(200, StreakOut, "The player's streak")
@problems(404)
def get_streak(user_id):
    """A player's streak, in their own time zone."""
    return service.get_streak(principal=current_principal(), user_id=caller_or(user_id))


@player_routes("/activity", methods=["GET"])
@user_required
@query(ActivityArgs)
@responds(200, ActivityOut, "Active days, oldest first")
@problems(404)
def get_activity(user_id, query):
    """A player's active days in [from, to] (the last 365 days by default; at most 366)."""
    return service.get_activity(principal=current_principal(), user_id=caller_or(user_id),
                                start=query.get("start"), end=query.get("end"))


@api.get("/seasons")
@user_required
@query(SeasonsArgs)
@responds(200, SeasonList, "Seasons, the latest start first")
def list_seasons(query):
    """Seasons; `cohort` lists those that apply to it (every-cohort ones included)."""
    return {"items": seasons.list_seasons(**query)}


@api.get("/seasons/current")
@user_required
@responds(200, SeasonOut, "The active season of the caller's cohort")
@problems(404)
def current_season():
    """The active season of the caller's cohort; 404 when none is active."""
    return seasons.current_season(current_principal().cohort_id)


@api.post("/seasons")
@roles_required("admin")
@body(NewSeason)
@responds(201, SeasonOut, "The new season")
@problems(409)
def create_season(body):
    """Create a season (admin); overlapping a season of a common cohort is a 409."""
    return seasons.create_season(**body), 201


@api.patch("/seasons/<id:season_id>")
@roles_required("admin")
@body(SeasonPatch)
@responds(200, SeasonOut, "The season as changed")
@problems(409)
def update_season(season_id, body):
    """Rename a season any time; move it only while scheduled (else 409)."""
    return seasons.update_season(season_id, **body)


@internal.put("/players/<id:user_id>")
@service_required
@body(PlayerBody)
@responds(201, PlayerProfile, "Created")
@responds(200, PlayerProfile, "Updated, or already so")
def put_player(user_id, body):
    """Create or update a player (the core app); the same body again changes nothing."""
    created = service.upsert_player(user_id, **body)
    return {"user_id": user_id, **body}, 201 if created else 200


@internal.post("/points")
@service_required
@body(AwardsBody)
@responds(201, Awarded, "How many awards were new, and how many refs were seen before")
def award_points(body):
    """Award points (up to 1,000 at once, all or nothing), idempotent by ref.

    Any invalid award or unknown player makes it a 400 whose `errors` list
    {index, ref, detail}; nothing is written then.
    """
    awarded, duplicates = points.award(load_awards(body["awards"]))
    return {"awarded": awarded, "duplicates": duplicates}, 201


@internal.post("/players/batch")
@service_required
@body(BatchBody)
@responds(200, BatchOut, "Streak and points by user id; unknown ids are absent")
def players_batch(body):
    """Streak and points of up to 1,000 players in one call."""
    return service.players_batch(user_ids=body["user_ids"])


@player_routes("/sync", methods=["POST"])
@user_required
@responds(200, StreakOut, "The fresh streak")
@responds(202, Queued, "Queued (USE_ASYNC_TASKS): the next `sync-leetcode-streaks "
                       "--requested` run (cron, every minute) syncs the player")
@problems(403, 404, 409, 429, 502)
def sync_player(user_id):
    """Sync a player's LeetCode activity now: the player (once every 5 minutes, failed
    attempts included; else 429 with Retry-After) or an admin (not limited); a mentor: 403.

    A LeetCode failure is a 502 and leaves the streak as it was (the error is in
    `last_sync`). A player without a LeetCode username: 409.
    """
    principal = current_principal()
    if principal.role == "mentor":
        raise Problem(403, "Mentors cannot sync a player.", title="Forbidden")
    target = caller_or(user_id)
    if principal.role == "student" and target != principal.user_id:
        raise Problem(404, f"There is no player {target} you can see.")
    queued = current_app.config["FLAGS"]["USE_ASYNC_TASKS"].enabled(principal.user_id)
    streak = service.request_sync(principal=principal, user_id=target, queued=queued)
    return ({"queued": True}, 202) if streak is None else streak

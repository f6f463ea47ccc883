"""The registry: every service of Cohort Scale, declared once.

The gateway, the launcher, the embedded mode, `cohort` and the deploy files read this; adding
a service is an entry here plus the service's own package.
"""

import importlib
from dataclasses import dataclass


@dataclass(frozen=True)
class Check:
    """A readiness check beyond the database: `target` ("module:function") raises when the
    dependency is not usable; `required` makes that a fail (503), else a warn."""

    name: str
    target: str
    required: bool = True


@dataclass(frozen=True)
class Cron:
    """An operator command run on a schedule (cron syntax, UTC). `name` tells two schedules
    of one command apart in the deploy files (a unit, a CronJob each); the command's name
    by default."""

    command: str
    schedule: str
    args: tuple[str, ...] = ()
    name: str = ""

    @property
    def job(self) -> str:
        return self.name or self.command


@dataclass(frozen=True)
class ServedFiles:
    """Files the gateway sends on the service's behalf: the service answers a request with
    `X-Accel-Redirect: <location><path>` and nginx serves <directory>/<path>, where the
    directory is the service's setting `setting` (default `default` under var/). The
    location is internal: no client can ask for it directly."""

    setting: str
    location: str
    default: str

    @property
    def default_directory(self) -> str:
        from shared.config import VAR_DIR

        return str(VAR_DIR / self.default)


@dataclass(frozen=True)
class ServiceInfo:
    """Where a service listens, what it accepts, and what the tooling runs for it.

    `try_lines` are the commands `cohort up` prints, with {base} (the URL), {student},
    {admin} and {service} (Authorization header options) filled in.
    """

    name: str
    port: int
    max_body: int = 1 << 20  # bytes; the gateway and the service refuse larger bodies (413)
    stream_bodies: bool = False  # the gateway passes bodies through without buffering them
    checks: tuple[Check, ...] = ()
    crons: tuple[Cron, ...] = ()
    try_lines: tuple[str, ...] = ()
    module: str = ""  # the package; services.<name> unless given
    seeded: bool = True  # the package has seed.py (is_empty, seed_demo)
    files: ServedFiles | None = None  # a directory nginx serves for it (X-Accel-Redirect)

    def __post_init__(self):
        jobs = [cron.job for cron in self.crons]
        if len(set(jobs)) != len(jobs):
            raise ValueError(f"{self.name}: two crons share a job name; give one a `name`")

    @property
    def package(self) -> str:
        return self.module or f"services.{self.name}"

    @property
    def env_prefix(self) -> str:
        """Where several services share an environment, NOTIFICATIONS_DATABASE_URL (say)
        gives this service its own value of DATABASE_URL; every setting works that way."""
        return f"{self.name.upper()}_"

    @property
    def wsgi(self) -> str:
        """What gunicorn serves."""
        return f"{self.package}:create_app()"

    def create_app(self, config=None):
        return importlib.import_module(self.package).create_app(config)

    def seed_module(self):
        return importlib.import_module(f"{self.package}.seed") if self.seeded else None


SERVICES: dict[str, ServiceInfo] = {s.name: s for s in (
    ServiceInfo(
        "notifications", 8001,
        crons=(Cron("purge-notifications", "15 3 * * *", ("--older-than-days", "90")),),
        try_lines=(
            "curl -s {student} {base}/api/notifications/unread-count",
            'curl -s {student} "{base}/api/notifications?unread=true&limit=3"',
            "curl -s -X POST {student} {base}/api/notifications/read-all",
            "curl -s -X POST {service} -H 'Content-Type: application/json' "
            "-d '{{\"user_ids\": [1], \"kind\": \"dashboard\", \"title\": \"Hello\"}}' "
            "{internal}/internal/notifications/",
        ),
    ),
    ServiceInfo(
        "analytics", 8002,
        max_body=4 << 20,  # 5,000 events of up to ~600 bytes each, with room to spare
        checks=(Check("recompute", "services.analytics.health:recompute_age", required=False),),
        crons=(
            Cron("recompute-analytics", "5 * * * *"),
            Cron("recompute-analytics", "30 2 * * *", ("--full",), name="recompute-analytics-full"),
            Cron("verify-analytics", "0 4 * * *", ("--sample", "200")),
        ),
        try_lines=(
            "curl -s {student} {base}/api/analytics/students/1/dashboard",
            "curl -s {mentor} {base}/api/analytics/mentors/900001/dashboard",
            "curl -s {admin} {base}/api/analytics/cohorts/1/dashboard",
            "curl -s -X POST {service} -H 'Content-Type: application/json' "
            "-d '{{\"events\": [{{\"id\": \"try-1\", \"type\": \"submission.created\", "
            "\"occurred_at\": \"2026-11-29T10:00:00Z\", \"data\": {{\"submission_id\": 1, "
            "\"student_id\": 1, \"assignment_id\": 1}}}}]}}' "
            "{internal}/internal/analytics/events",
        ),
    ),
    ServiceInfo(
        "gamification", 8003,
        checks=(Check("outbox", "services.gamification.health:outbox_backlog", required=False),),
        crons=(
            Cron("sync-leetcode-streaks", "30 2 * * *"),
            Cron("sync-leetcode-streaks", "* * * * *", ("--requested",),
                 name="sync-requested-leetcode-streaks"),
            Cron("update-seasons", "*/5 * * * *"),
            Cron("deliver-notifications", "* * * * *"),
        ),
        try_lines=(
            'curl -s {student} "{base}/api/gamification/leaderboard?limit=5"',
            'curl -s {student} "{base}/api/gamification/leaderboard?around=me&limit=5"',
            "curl -s {student} {base}/api/gamification/players/me/streak",
            "curl -s {student} {base}/api/gamification/seasons",
        ),
    ),
    ServiceInfo(
        "storage", 8004,
        # The largest purpose limit (50 MiB submissions) and the multipart form around it.
        max_body=50 * (1 << 20) + (64 << 10),
        stream_bodies=True,
        checks=(Check("storage", "services.storage.health:check_storage"),),
        crons=(Cron("cleanup-storage", "25 * * * *"),),
        files=ServedFiles("STORAGE_DIR", "/_files/storage/", "storage"),
        try_lines=(
            "curl -s {student} -F purpose=submission -F file=@README.md {base}/api/storage/files",
            'curl -s {student} "{base}/api/storage/files?limit=3"',
            "curl -s {student} -o avatar.png -w '%{{http_code}} %{{content_type}}\\n' "
            "{base}/api/storage/files/1/content",
        ),
    ),
)}

"""Feature flags: declared once here, read from the environment at start."""

import logging
import os
import zlib
from collections.abc import Mapping
from dataclasses import dataclass

from shared.config import ConfigError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Flag:
    """A flag's declaration: what it switches, and whether it has a shadow mode."""

    name: str
    description: str
    default: str = "off"
    shadow: bool = False


FLAGS = {
    flag.name: flag
    for flag in (
        Flag("USE_ANALYTICS_SUMMARY", "serve dashboards from pre-computed summary tables",
             shadow=True),
        Flag("USE_NOTIFICATION_CACHE", "cache unread counts per user in the shared cache"),
        Flag("USE_CLOUD_STORAGE", "store files in S3 instead of the local disk"),
        Flag("USE_ASYNC_TASKS", "run slow work on the task queue instead of in the request"),
        Flag("LOG_QUERY_TIMES", "log slow queries and send a Server-Timing header"),
    )
}

_ON = ("1", "true", "yes", "on")
_OFF = ("0", "false", "no", "off", "")


@dataclass(frozen=True)
class FlagValue:
    """A flag's state: a rollout percentage (0 off, 100 on), or shadow mode."""

    name: str
    percent: int = 0
    shadow: bool = False

    def enabled(self, user_id: object = None) -> bool:
        """Whether the optimized path serves this user; sticky per user id for a percentage."""
        if self.percent >= 100:
            return True
        if self.percent <= 0 or user_id is None:
            return False
        return zlib.crc32(f"{self.name}:{user_id}".encode()) % 100 < self.percent

    def __str__(self) -> str:
        if self.shadow:
            return "shadow"
        return {0: "off", 100: "on"}.get(self.percent, f"{self.percent}%")


def parse_flag(flag: Flag, raw: str) -> FlagValue:
    value = raw.strip().lower()
    if value in _ON:
        return FlagValue(flag.name, 100)
    if value in _OFF:
        return FlagValue(flag.name, 0)
    if value == "shadow" and flag.shadow:
        return FlagValue(flag.name, 0, shadow=True)
    if value.endswith("%") and value[:-1].isdigit() and 0 <= int(value[:-1]) <= 100:
        return FlagValue(flag.name, int(value[:-1]))
    modes = "true/false/1/0/yes/no, a percentage like 25%" + (" or shadow" if flag.shadow else "")
    raise ConfigError(f"{flag.name}={raw!r} is invalid: expected {modes}")


def load_flags(environ: Mapping[str, str] | None = None) -> dict[str, FlagValue]:
    """Every declared flag's value; an unknown USE_* variable is reported as a likely typo."""
    environ = os.environ if environ is None else environ
    for name in sorted(environ):
        if name.startswith("USE_") and name not in FLAGS:
            log.warning(
                "unknown flag %s is ignored; known flags: %s", name, ", ".join(sorted(FLAGS))
            )
    return {
        flag.name: parse_flag(flag, environ.get(flag.name, flag.default)) for flag in FLAGS.values()
    }

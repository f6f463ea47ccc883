"""The readiness check of the summaries: how old the last recompute is."""

from datetime import datetime, timedelta

from flask import current_app

from services.analytics.summary import latest_run
from shared.db import utcnow
from shared.health import CheckFailed


def recompute_age() -> None:
    """Raises (a warn: live dashboards still answer) when the last recompute finished more
    than ANALYTICS_MAX_AGE seconds ago, or none ever ran."""
    run = latest_run()
    if run is None:
        raise CheckFailed("no recompute-analytics run yet; dashboards are answered live")
    age = utcnow() - _parse(run["finished_at"])
    limit = current_app.config["ANALYTICS_MAX_AGE"]
    if age > timedelta(seconds=limit):
        raise CheckFailed(f"the last recompute-analytics finished {int(age.total_seconds())} s "
                          f"ago (at {run['finished_at']}), more than ANALYTICS_MAX_AGE={limit}")


def _parse(moment: str) -> datetime:
    return datetime.fromisoformat(moment.replace("Z", "+00:00"))

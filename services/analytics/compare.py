"""Differences between a live and a summary answer (shadow mode and verify-analytics)."""

# Fields that differ by design: where an answer came from, and gamification's figures
# (fetched once and added to whichever answer is served).
IGNORED = {"source", "computed_at", "streak", "points", "unavailable"}


def differences(live, summary, path: str = "") -> list[str]:
    """Each place where the two answers differ, as `path: live X, summary Y`."""
    if isinstance(live, dict) and isinstance(summary, dict):
        found = []
        for key in sorted((set(live) | set(summary)) - IGNORED):
            found += differences(live.get(key), summary.get(key), f"{path}.{key}".lstrip("."))
        return found
    if isinstance(live, list) and isinstance(summary, list):
        if len(live) != len(summary):
            return [f"{path}: live has {len(live)} items, summary {len(summary)}"]
        found = []
        for index, (a, b) in enumerate(zip(live, summary, strict=True)):
            found += differences(a, b, f"{path}[{index}]")
        return found
    return [] if live == summary else [f"{path}: live {live!r}, summary {summary!r}"]

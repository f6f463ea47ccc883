"""Feature flags: on/off words, sticky percentages, shadow mode, typos reported, /health/."""

import json
import logging
import subprocess
import sys

import pytest

from shared.config import ROOT, ConfigError
from shared.flags import FLAGS, load_flags, parse_flag

CACHE_FLAG = FLAGS["USE_NOTIFICATION_CACHE"]
USERS = range(1, 10_001)


@pytest.mark.parametrize(("raw", "on"), [
    ("true", True), ("TRUE", True), ("1", True), ("yes", True), ("on", True), (" Yes ", True),
    ("false", False), ("0", False), ("no", False), ("off", False), ("", False),
])
def test_on_off_words(raw, on):
    value = parse_flag(CACHE_FLAG, raw)
    assert value.enabled(42) is on
    assert value.enabled() is on
    assert str(value) == ("on" if on else "off")


def test_every_flag_defaults_off():
    flags = load_flags({})
    assert set(flags) == {"USE_ANALYTICS_SUMMARY", "USE_NOTIFICATION_CACHE",
                          "USE_CLOUD_STORAGE", "USE_ASYNC_TASKS", "LOG_QUERY_TIMES"}
    assert all(not value.enabled(1) and str(value) == "off" for value in flags.values())


def enabled_users(raw: str) -> list[int]:
    value = parse_flag(CACHE_FLAG, raw)
    return [user for user in USERS if value.enabled(user)]


def test_percentage_is_sticky_per_user():
    first = enabled_users("25%")
    assert first == enabled_users("25%")
    assert 0.22 < len(first) / len(USERS) < 0.28
    assert parse_flag(CACHE_FLAG, "25%").enabled() is False  # no user: the plain path
    assert str(parse_flag(CACHE_FLAG, "25%")) == "25%"


def test_percentage_rollout_only_grows():
    """Raising 25% to 50% keeps every user who already had the feature."""
    quarter, half = set(enabled_users("25%")), set(enabled_users("50%"))
    assert quarter < half
    assert enabled_users("0%") == []
    assert enabled_users("100%") == list(USERS)


def test_percentage_is_the_same_in_another_process():
    """crc32, not hash(): another process (another hash seed) picks the same users."""
    script = (
        "import json; from shared.flags import FLAGS, parse_flag; "
        "v = parse_flag(FLAGS['USE_NOTIFICATION_CACHE'], '25%'); "
        "print(json.dumps([u for u in range(1, 10001) if v.enabled(u)]))"
    )
    for seed in ("1", "2"):
        out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                             check=True, env={"PYTHONHASHSEED": seed, "PATH": "/usr/bin:/bin"},
                             cwd=ROOT)
        assert json.loads(out.stdout) == enabled_users("25%")


@pytest.mark.parametrize("raw", ["maybe", "2", "25", "150%", "-5%", "%", "25.5%", "onn"])
def test_bad_value_names_the_flag(raw):
    with pytest.raises(ConfigError, match=rf"^USE_NOTIFICATION_CACHE={raw!r} is invalid"):
        load_flags({"USE_NOTIFICATION_CACHE": raw})


def test_shadow_only_where_declared():
    value = load_flags({"USE_ANALYTICS_SUMMARY": "shadow"})["USE_ANALYTICS_SUMMARY"]
    assert value.shadow and not value.enabled(1) and str(value) == "shadow"
    for name in ("USE_NOTIFICATION_CACHE", "USE_CLOUD_STORAGE", "LOG_QUERY_TIMES"):
        with pytest.raises(ConfigError, match=name):
            load_flags({name: "shadow"})


def test_bad_flag_stops_the_app(make_app):
    with pytest.raises(ConfigError, match="USE_CLOUD_STORAGE"):
        make_app(USE_CLOUD_STORAGE="sometimes")


def test_unknown_use_variable_is_reported_at_start(make_app, caplog, monkeypatch):
    monkeypatch.setenv("USE_NOTIFICATON_CACHE", "on")  # the typo an operator makes
    with caplog.at_level(logging.WARNING, logger="shared.flags"):
        app = make_app(USE_SUMMARY_CACHE="yes")
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("USE_NOTIFICATON_CACHE" in message for message in warned)
    assert any("USE_SUMMARY_CACHE" in message for message in warned)
    assert not app.config["FLAGS"]["USE_NOTIFICATION_CACHE"].enabled(1)


def test_known_flags_are_not_reported(make_app, caplog):
    with caplog.at_level(logging.WARNING, logger="shared.flags"):
        make_app(USE_NOTIFICATION_CACHE="on", USE_ANALYTICS_SUMMARY="shadow")
    assert not [r for r in caplog.records if r.name == "shared.flags"]


def test_flags_are_listed_at_health(make_app):
    app = make_app(USE_NOTIFICATION_CACHE="25%", USE_ANALYTICS_SUMMARY="shadow",
                   LOG_QUERY_TIMES="yes")
    flags = app.test_client().get("/health/").get_json()["flags"]
    assert flags == {
        "USE_ANALYTICS_SUMMARY": "shadow",
        "USE_NOTIFICATION_CACHE": "25%",
        "USE_CLOUD_STORAGE": "off",
        "USE_ASYNC_TASKS": "off",
        "LOG_QUERY_TIMES": "on",
    }

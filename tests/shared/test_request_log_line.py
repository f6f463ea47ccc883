"""The request log's direct write makes the very line the logging path makes."""

import io
import json
import logging

import pytest

from shared.observability import JsonFormatter, JsonLineHandler, log_request, request_log

FIELDS = {"service": "probe", "request_id": "r-1", "user": 5, "role": "student",
          "method": "GET", "route": "/api/probe/items", "path": "/api/probe/items",
          "status": 200, "duration_ms": 1.25, "queries": 2, "db_ms": 0.4, "other": object}


@pytest.fixture
def stream(monkeypatch):
    """Our JSON handler as the root's only one, at INFO, writing to a buffer."""
    buffer = io.StringIO()
    handler = JsonLineHandler(buffer)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", [handler])
    level = root.level
    root.setLevel(logging.INFO)  # setLevel, not setattr: loggers cache isEnabledFor
    yield buffer
    root.setLevel(level)


def test_direct_line_equals_the_formatted_record(stream):
    log_request(FIELDS)
    request_log.info("request", extra={"fields": FIELDS})
    direct, formatted = (json.loads(line) for line in stream.getvalue().splitlines())
    assert list(direct) == list(formatted)
    assert direct.pop("ts")[:19] == formatted.pop("ts")[:19]
    assert direct == formatted
    assert direct["level"] == "info" and direct["logger"] == "cohort.request"


def test_another_listener_gets_a_real_record(stream, caplog):
    logging.getLogger().addHandler(caplog.handler)
    log_request(FIELDS)
    (record,) = [r for r in caplog.records if r.name == "cohort.request"]
    assert record.fields == FIELDS
    assert json.loads(stream.getvalue())["request_id"] == "r-1"


def test_nothing_is_written_above_info(stream):
    logging.getLogger().setLevel(logging.WARNING)
    log_request(FIELDS)
    assert stream.getvalue() == ""

"""Every service's OpenAPI document, fuzzed by schemathesis through the real gateway: no 5xx
for any input, and every answer matches the document (status, content type, body schema)."""

from contextlib import ExitStack

import pytest
import redis
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from services import SERVICES
from shared.demo import DEMO_ADMIN_ID, mentor_of
from tests.stack.conftest import running_stack, stack_env, tokens
from tests.support.databases import migrate, temporary_database
from tests.support.servers import REDIS_URL, require_postgres, require_redis

pytestmark = [pytest.mark.stack, pytest.mark.postgres, pytest.mark.redis, pytest.mark.nginx]

EXAMPLES = 25  # per operation and generation mode: the suite's budget, not a search
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]
# Whoever calls: a student of cohort 1, their mentor, an admin (a service on /internal/).
PEOPLE = [tokens.user(1, cohort_id=1), tokens.user(mentor_of(1), "mentor", cohort_id=1),
          tokens.user(DEMO_ADMIN_ID, "admin")]


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    """Every registered service on its own migrated PostgreSQL database, with Redis."""
    require_postgres()
    require_redis()
    with ExitStack() as cleanup:
        urls = {}
        for name, info in SERVICES.items():
            url = cleanup.enter_context(
                temporary_database("postgresql", tmp_path_factory, f"fuzz_{name}"))
            migrate(info.create_app, url)
            urls[f"{info.env_prefix}DATABASE_URL"] = url
        # The rate limit answers are documented; examples spent on them test nothing else.
        env = stack_env(CACHE_URL=REDIS_URL, USE_NOTIFICATION_CACHE="on",
                        GATEWAY_RATE="10000r/s", GATEWAY_BURST="10000", **urls)
        yield cleanup.enter_context(running_stack(tmp_path_factory.mktemp("fuzz"), env))
    redis.Redis.from_url(REDIS_URL).flushdb()


def operations(stack, name: str):
    document = requests.get(f"{stack.base_url}/api/{name}/openapi.json", timeout=10).json()
    schema = schemathesis.openapi.from_dict(document)
    return [result.ok() for result in schema.get_all_operations()]


def fuzz(operation, mode: GenerationMode, base: str, callers: list[dict]) -> None:
    """Call one operation with generated cases and check every answer."""

    @given(case=operation.as_strategy(generation_mode=mode), caller=st.sampled_from(callers))
    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    def call(case, caller):
        case.call_and_validate(base_url=base, headers=caller, checks=CHECKS, excluded_checks=[])

    call()


@pytest.mark.parametrize("name", list(SERVICES))
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_every_operation_answers_as_its_document_says(stack, name, mode):
    found = operations(stack, name)
    assert found, f"{name} documents no operation"
    for operation in found:
        if mode == GenerationMode.NEGATIVE and not (operation.body or list(
                operation.iter_parameters())):
            continue  # nothing a client sends that could be wrong
        if operation.path.startswith("/internal/"):
            fuzz(operation, mode, stack.internal_url, [tokens.service])
        else:
            fuzz(operation, mode, stack.base_url, PEOPLE)

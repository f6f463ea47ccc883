"""One registry entry is all a service needs: a throw-away service added to the registry is
served by the stack through the rendered gateway, and by `cohort up`, with no other edit."""

import os
import subprocess
import sys

import pytest
import requests

from cohort.operations import build_apps, migrate_app
from services import SERVICES
from shared.config import ROOT
from tests.cohort.test_up import Output
from tests.gateway.support import assert_problem
from tests.stack.conftest import running_stack, stack_env, tokens
from tests.support import throwaway

pytestmark = [pytest.mark.stack, pytest.mark.nginx]


@pytest.fixture
def registered(monkeypatch, tmp_path):
    """The throw-away service in the registry, its database migrated as `cohort migrate` does."""
    monkeypatch.setitem(SERVICES, "throwaway", throwaway.INFO)
    url = f"sqlite:///{tmp_path / 'throwaway.db'}"
    monkeypatch.setenv("THROWAWAY_DATABASE_URL", url)
    migrate_app(build_apps(["throwaway"])["throwaway"])
    return url


def test_the_stack_and_the_gateway_serve_a_new_entry(registered, tmp_path):
    env = stack_env(THROWAWAY_DATABASE_URL=registered, CACHE_URL="null://")
    with running_stack(tmp_path / "stack", env, services=["throwaway"]) as stack:
        base, internal = stack.base_url, stack.internal_url
        answer = requests.get(f"{base}/api/throwaway/echoes", headers=tokens.user(3), timeout=10)
        assert answer.status_code == 200 and answer.json() == {"echoes": 0}
        added = requests.post(f"{internal}/internal/throwaway/echoes", json={"text": "hi"},
                              headers=tokens.service, timeout=10)
        assert added.status_code == 201 and added.json() == {"echoes": 1}
        assert_problem(requests.post(f"{base}/internal/throwaway/echoes", json={"text": "x"},
                                     headers=tokens.service, timeout=10), 404)

        ready = requests.get(f"{base}/health/throwaway/ready/", timeout=10).json()
        assert ready["checks"]["echo:responseTime"][0]["status"] == "pass"
        document = requests.get(f"{base}/api/throwaway/openapi.json", timeout=10).json()
        assert "/api/throwaway/echoes" in document["paths"]
        assert "throwaway" in requests.get(f"{base}/services.json", timeout=10).json()["services"]
        # The registry's body limit, enforced by nginx before the service sees the body.
        assert_problem(requests.post(f"{internal}/internal/throwaway/echoes",
                                     data=b"x" * (throwaway.INFO.max_body + 1),
                                     headers=tokens.service, timeout=10), 413)


def test_cohort_up_serves_a_new_entry(registered, tmp_path):
    launch = ("import sys, services; from tests.support import throwaway; "
              "services.SERVICES['throwaway'] = throwaway.INFO; "
              "from cohort.cli import main; sys.argv = ['cohort', *sys.argv[1:]]; main()")
    env = {**os.environ, "COHORT_VAR_DIR": str(tmp_path / "var"), "PYTHONUNBUFFERED": "1"}
    env.pop("THROWAWAY_DATABASE_URL")  # up migrates and seeds its own databases under var/
    process = subprocess.Popen(
        [sys.executable, "-c", launch, "up", "--topology", "embedded", "--port", "0",
         "--students", "3"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env=env, cwd=ROOT)
    output = Output(process)
    try:
        base = output.wait_for(r"is up at (http://\S+?)/? ").group(1)
        token = output.wait_for(r"export STUDENT_TOKEN=(\S+)").group(1)
        printed = output.wait_for(r"curl -s .*/api/throwaway/echoes").group(0)
        assert "$STUDENT_TOKEN" in printed
        answer = requests.get(f"{base}/api/throwaway/echoes",
                              headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert answer.json() == {"echoes": 3}  # its seed ran
    finally:
        process.terminate()
        process.wait(30)

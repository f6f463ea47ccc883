"""deploy/compose.yaml: it parses, health checks everywhere, ordered start, real commands."""

import pytest
import yaml

from gateway.render import settings as gateway_settings
from services import SERVICES
from shared.config import ROOT
from shared.flags import FLAGS
from tests.deploy.commands import check_flask, check_gunicorn_app, check_python_module, service_app


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "deploy" / "compose.yaml").read_text())


def one_shot(service: dict) -> bool:
    return service.get("restart") == "no"


def test_every_long_running_service_has_a_healthcheck(compose):
    for name, service in compose["services"].items():
        if one_shot(service):
            continue
        check = service.get("healthcheck")
        assert check and check["test"] and not check.get("disable"), name


def test_dependencies_wait_for_health_or_completion(compose):
    services = compose["services"]
    awaited_one_shots = set()
    for name, service in services.items():
        for target, rule in service.get("depends_on", {}).items():
            assert target in services, f"{name} depends on unknown {target}"
            if rule["condition"] == "service_healthy":
                assert "healthcheck" in services[target], f"{name} waits on {target}'s health"
            else:
                assert rule["condition"] == "service_completed_successfully", (name, target)
                assert one_shot(services[target]), target
                awaited_one_shots.add(target)
    # A one-shot nobody waits for would race the services it prepares.
    assert awaited_one_shots == {n for n, s in services.items() if one_shot(s)}


@pytest.mark.parametrize("name", list(SERVICES))
def test_each_service_runs_after_its_own_migration(compose, name):
    services = compose["services"]
    service = services[name]
    assert check_gunicorn_app(service["command"][-1]) == name
    assert service["depends_on"][f"migrate-{name}"]["condition"] == (
        "service_completed_successfully")
    check_flask(services[f"migrate-{name}"]["command"])
    assert services[f"migrate-{name}"]["command"][-2:] == ["db", "upgrade"]
    assert "upgrade" not in " ".join(service["command"])  # never migrate on start
    assert service["environment"]["DATABASE_URL"] == (
        services[f"migrate-{name}"]["environment"]["DATABASE_URL"])
    probe = service["healthcheck"]["test"][-1]
    path = probe.split(f":{SERVICES[name].port}", 1)[1].split("'", 1)[0]
    service_app(name).url_map.bind("localhost").match(path, method="GET")


def test_gateway_renders_then_serves(compose):
    services = compose["services"]
    render = services["gateway-config"]
    check_python_module(render["command"])
    known = {s.name for s in gateway_settings()}
    assert set(render["environment"]) <= known
    for name in SERVICES:
        assert render["environment"][f"{name.upper()}_UPSTREAM"] == f"{name}:{SERVICES[name].port}"
    gateway = services["gateway"]
    assert gateway["depends_on"]["gateway-config"]["condition"] == (
        "service_completed_successfully")
    assert "/health/gateway/" in gateway["healthcheck"]["test"][-1]
    assert any(v.endswith(":/gateway") for v in gateway["volumes"])


def test_flags_are_declared_ones(compose):
    for service in compose["services"].values():
        for variable in service.get("environment", {}):
            if variable.startswith("USE_") or variable == "LOG_QUERY_TIMES":
                assert variable in FLAGS, variable

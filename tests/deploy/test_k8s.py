"""deploy/k8s/: every manifest loads, probes name real health paths, flags are the declared ones."""

import pytest
import yaml

from gateway.render import settings as gateway_settings
from services import SERVICES
from shared.config import ROOT
from shared.flags import FLAGS, parse_flag
from tests.deploy.commands import check_flask, check_gunicorn_app, check_python_module, service_app

K8S = ROOT / "deploy" / "k8s"
SECRET_VARIABLES = ("JWT_SECRET", "SERVICE_TOKEN", "DATABASE_URL")


@pytest.fixture(scope="module")
def documents() -> list[dict]:
    docs = []
    for path in sorted(K8S.glob("*.yaml")):
        docs += [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]
    return docs


def find(documents, kind: str, name: str) -> dict:
    matches = [d for d in documents if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(matches) == 1, f"{kind}/{name}: {len(matches)} found"
    return matches[0]


def pod_spec(doc: dict) -> dict:
    if doc["kind"] == "CronJob":
        return doc["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return doc["spec"]["template"]["spec"]


def test_every_manifest_loads(documents):
    assert documents
    for doc in documents:
        assert doc["apiVersion"] and doc["kind"] and doc["metadata"]["name"], doc


def test_flags_config_map_is_exactly_the_declared_flags(documents):
    flags = find(documents, "ConfigMap", "cohort-flags")["data"]
    assert set(flags) == set(FLAGS)
    for name, value in flags.items():
        parse_flag(FLAGS[name], value)


@pytest.mark.parametrize("name", list(SERVICES))
def test_service_deployment(documents, name):
    deployment = find(documents, "Deployment", name)
    (container,) = pod_spec(deployment)["containers"]
    assert check_gunicorn_app(container["command"][-1]) == name
    assert "upgrade" not in " ".join(container["command"])  # never migrate on start
    env = {e["name"]: e for e in container["env"]}
    port = SERVICES[name].port
    assert env["GUNICORN_BIND"]["value"] == f"0.0.0.0:{port}"
    assert {p["name"]: p["containerPort"] for p in container["ports"]}["http"] == port
    for variable in SECRET_VARIABLES:
        assert "secretKeyRef" in env[variable]["valueFrom"], variable
    maps = {ref["configMapRef"]["name"] for ref in container["envFrom"]}
    assert {"cohort-config", "cohort-flags"} <= maps

    assert container["livenessProbe"]["httpGet"]["path"] == "/health/live/"
    assert container["readinessProbe"]["httpGet"]["path"] == "/health/ready/"
    urls = service_app(name).url_map.bind("localhost")
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        if probe in container:
            assert container[probe]["httpGet"]["port"] == "http"
            urls.match(container[probe]["httpGet"]["path"], method="GET")

    service = find(documents, "Service", name)
    assert service["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]
    assert service["spec"]["ports"][0]["port"] == port
    hpa = find(documents, "HorizontalPodAutoscaler", name)
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment",
                                             "name": name}
    assert hpa["spec"]["minReplicas"] >= 2


@pytest.mark.parametrize("name", list(SERVICES))
def test_migration_job(documents, name):
    job = find(documents, "Job", f"{name}-migrate")
    (container,) = pod_spec(job)["containers"]
    check_flask(container["command"])
    assert container["command"][-2:] == ["db", "upgrade"]
    assert pod_spec(job)["restartPolicy"] == "Never"


def test_cron_jobs_run_existing_commands(documents):
    crons = [d for d in documents if d["kind"] == "CronJob"]
    assert any("purge-notifications" in c["metadata"]["name"] or
               "purge-notifications" in pod_spec(c)["containers"][0]["command"] for c in crons)
    for cron in crons:
        assert cron["spec"]["concurrencyPolicy"] == "Forbid"
        assert len(cron["spec"]["schedule"].split()) == 5
        for container in pod_spec(cron)["containers"]:
            check_flask(container["command"])


def test_gateway(documents):
    spec = pod_spec(find(documents, "Deployment", "gateway"))
    (render,) = spec["initContainers"]
    check_python_module(render["command"])
    known = {s.name for s in gateway_settings()}
    env = {e["name"]: e["value"] for e in render["env"]}
    assert set(env) <= known
    for name, info in SERVICES.items():
        assert env[f"{name.upper()}_UPSTREAM"] == f"{name}:{info.port}"
    (nginx,) = spec["containers"]
    assert nginx["command"][-4:] == ["-p", "/gateway", "-c", "/gateway/nginx.conf"]
    for probe in ("livenessProbe", "readinessProbe"):
        assert nginx[probe]["httpGet"]["path"] in ("/health/gateway/live/",
                                                   "/health/gateway/ready/")
    internal = find(documents, "Service", "gateway-internal")
    config = find(documents, "ConfigMap", "cohort-config")["data"]
    assert config["SERVICES_URL"] == f"http://gateway-internal:{internal['spec']['ports'][0]['port']}"

"""The deploy files that list services are generated from the registry, and stay in step."""

import pytest
import yaml
from kubernetes_validate import validate

from cohort import deployfiles
from services import SERVICES, Cron
from tests.support import throwaway

KUBERNETES_VERSION = "1.30.0"


def test_committed_files_match_the_registry():
    assert deployfiles.stale() == [], "run `cohort deploy-files` and commit the result"


def manifests(files: dict) -> list[dict]:
    docs = []
    for path, text in files.items():
        if str(path).startswith("k8s/"):
            docs += [d for d in yaml.safe_load_all(text) if d]
    return docs


def test_every_manifest_is_valid_against_the_kubernetes_schemas():
    docs = manifests(deployfiles.render_all())
    assert {d["kind"] for d in docs} >= {"Deployment", "Service", "HorizontalPodAutoscaler",
                                         "Job", "CronJob", "ConfigMap"}
    for doc in docs:
        validate(doc, KUBERNETES_VERSION, strict=True)


def test_a_new_registry_entry_gets_every_deploy_file(monkeypatch, tmp_path):
    info = throwaway.INFO.__class__(**{**throwaway.INFO.__dict__,
                                       "crons": (Cron("tidy-echoes", "*/10 * * * *"),)})
    monkeypatch.setitem(SERVICES, info.name, info)
    files = deployfiles.render_all()

    docs = manifests(files)
    named = {(d["kind"], d["metadata"]["name"]) for d in docs}
    assert {("Deployment", "throwaway"), ("Service", "throwaway"), ("Job", "throwaway-migrate"),
            ("HorizontalPodAutoscaler", "throwaway"),
            ("CronJob", "throwaway-tidy-echoes")} <= named
    for doc in docs:
        validate(doc, KUBERNETES_VERSION, strict=True)
    compose = yaml.safe_load(files[deployfiles.Path("compose.yaml")])["services"]
    assert compose["throwaway"]["command"][-1] == "tests.support.throwaway:create_app()"
    assert "throwaway" in compose["databases"]["command"][-1]
    assert "throwaway: " in files[deployfiles.Path("Procfile")]
    assert "cohort@throwaway.service" in files[deployfiles.Path("systemd/cohort.target")]
    assert "OnCalendar=*-*-* *:00/10:00 UTC" in files[
        deployfiles.Path("systemd/cohort-throwaway-tidy-echoes.timer")]

    # Written out, the files of a service that left the registry are removed again.
    deployfiles.write(tmp_path)
    monkeypatch.delitem(SERVICES, "throwaway")
    _, removed = deployfiles.write(tmp_path)
    assert {p.name for p in removed} == {"throwaway.yaml", "cohort-throwaway-tidy-echoes.service",
                                         "cohort-throwaway-tidy-echoes.timer"}
    assert deployfiles.stale(tmp_path) == []


@pytest.mark.parametrize(("schedule", "calendar"), [
    ("15 3 * * *", "*-*-* 03:15:00"),
    ("*/5 * * * *", "*-*-* *:00/05:00"),
    ("0 */6 * * *", "*-*-* 00/06:00:00"),
    ("30 * * * *", "*-*-* *:30:00"),
])
def test_cron_schedules_become_on_calendar(schedule, calendar):
    assert deployfiles.on_calendar(schedule) == calendar


def test_a_schedule_systemd_cannot_say_the_same_way_is_refused():
    with pytest.raises(ValueError):
        deployfiles.on_calendar("0 3 * * 1")

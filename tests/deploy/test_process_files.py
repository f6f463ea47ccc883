"""The Procfile, the systemd units and the Dockerfile name commands and modules that exist."""

import json
import re
import sys
from pathlib import Path

import pytest

from services import SERVICES
from shared.config import ROOT
from tests.deploy.commands import (
    check_flask,
    check_gunicorn_app,
    check_python_module,
    split,
)

DEPLOY = ROOT / "deploy"
SYSTEMD = DEPLOY / "systemd"
VENV_BIN = "/opt/cohort/.venv/bin/"


def parse_unit(path: Path) -> dict[str, dict[str, list[str]]]:
    """A unit file's sections, each key with all its values (ExecStart may repeat)."""
    sections: dict[str, dict[str, list[str]]] = {}
    current = None
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), {})
            continue
        key, _, value = line.partition("=")
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def units() -> dict[str, dict]:
    return {p.name: parse_unit(p) for p in sorted(SYSTEMD.iterdir())}


def instances() -> list[str]:
    """The services cohort.target starts through the cohort@.service template."""
    wants = " ".join(units()["cohort.target"]["Unit"]["Wants"]).split()
    return [w.removeprefix("cohort@").removesuffix(".service") for w in wants
            if w.startswith("cohort@")]


def check_exec(argv: list[str], instance: str | None) -> None:
    """An ExecStart line of ours: its program is installed and its arguments name real things."""
    program = argv[0]
    if program.startswith(VENV_BIN):
        assert (Path(sys.executable).parent / program.removeprefix(VENV_BIN)).exists(), program
        argv = [program.removeprefix(VENV_BIN), *argv[1:]]
    else:
        assert program in ("/usr/sbin/nginx", "/bin/kill"), program
        return
    if instance is not None:
        argv = [a.replace("%i", instance) for a in argv]
    if argv[0] == "flask":
        check_flask(argv)
    elif argv[0] == "gunicorn":
        assert argv[argv.index("-c") + 1] == "/opt/cohort/deploy/gunicorn.conf.py"
        check_gunicorn_app(argv[-1])
    elif argv[0] == "python":
        check_python_module(argv)


def test_target_starts_every_service_and_the_gateway():
    assert sorted(instances()) == sorted(SERVICES)
    wants = " ".join(units()["cohort.target"]["Unit"]["Wants"]).split()
    for unit in wants:
        template = re.sub(r"@[^.]+\.", "@.", unit)
        assert (SYSTEMD / template).exists(), unit


@pytest.mark.parametrize("unit", sorted(p.name for p in SYSTEMD.iterdir()))
def test_unit_commands_exist(unit):
    sections = units()[unit]
    service = sections.get("Service", {})
    templated = "@." in unit
    for line in service.get("ExecStart", []) + service.get("ExecStartPre", []):
        for instance in (instances() if templated else [None]):
            check_exec(split(line), instance)
    if unit.endswith(".timer"):
        assert sections["Timer"]["OnCalendar"]
        assert (SYSTEMD / unit.replace(".timer", ".service")).exists()


def test_migrations_are_their_own_unit():
    for name, sections in units().items():
        for line in sections.get("Service", {}).get("ExecStart", []):
            if "db upgrade" in line:
                assert name == "cohort-migrate@.service"
                assert sections["Service"]["Type"] == ["oneshot"]


def test_gateway_units_render_into_the_directory_nginx_serves():
    render = units()["cohort-gateway-render.service"]["Service"]["ExecStart"]
    out = split(render[0])[split(render[0]).index("--out") + 1]
    nginx = split(units()["cohort-gateway.service"]["Service"]["ExecStart"][0])
    assert nginx[nginx.index("-p") + 1] == out
    assert nginx[nginx.index("-c") + 1] == f"{out}/nginx.conf"


def procfile() -> dict[str, list[str]]:
    entries = {}
    for line in (DEPLOY / "Procfile").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, command = line.partition(":")
            entries[name] = split(command)
    return entries


def test_procfile_runs_every_service_and_the_gateway():
    entries = procfile()
    assert set(entries) == {*SERVICES, "gateway"}
    for name, info in SERVICES.items():
        argv = entries[name]
        assert check_gunicorn_app(argv[-1]) == name
        assert argv[argv.index("-c") + 1] == "deploy/gunicorn.conf.py"
        assert f"GUNICORN_BIND=127.0.0.1:{info.port}" in argv
        assert (ROOT / "deploy" / "gunicorn.conf.py").exists()
    gateway = entries["gateway"]
    check_python_module(gateway)
    assert "nginx" in gateway and gateway[gateway.index("-c") + 1].endswith("/nginx.conf")


def test_dockerfile_is_non_root_python_311_with_postgres():
    text = (DEPLOY / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim", text, re.M)
    users = re.findall(r"^USER (\S+)", text, re.M)
    assert users and users[-1] not in ("root", "0")
    assert '".[postgres]"' in text
    for source in re.findall(r"^COPY (\S+) ", text, re.M):
        assert (ROOT / source).exists(), source
    cmd = re.search(r"^CMD (.+)$", text, re.M)[1]
    assert check_gunicorn_app(json.loads(cmd)[-1]) in SERVICES

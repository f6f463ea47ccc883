"""Checks that a command line in a deploy file names something that exists and parses."""

import importlib.util
import re
import shlex

import click
from flask_migrate.cli import db as migrate_group

from services import SERVICES

APP_SPEC = re.compile(r"^services\.(?P<name>[a-z_]+):create_app\(\)$")


def service_app(name: str):
    return SERVICES[name].create_app({"COHORT_ENV": "test", "DATABASE_URL": "sqlite://"})


def check_gunicorn_app(spec: str) -> str:
    """`services.X:create_app()` names a service; returns X."""
    match = APP_SPEC.match(spec)
    assert match, f"not a service app spec: {spec}"
    assert match["name"] in SERVICES, spec
    return match["name"]


def check_flask(argv: list[str]) -> None:
    """`flask --app services.X <command> [args]`: the command exists and takes these args."""
    assert argv[:2] == ["flask", "--app"], argv
    name = argv[2].removeprefix("services.")
    assert argv[2] == f"services.{name}" and name in SERVICES, argv
    command, *args = argv[3:]
    if command == "db":
        sub, *args = args
        found = migrate_group.commands.get(sub)
    else:
        found = service_app(name).cli.commands.get(command)
    assert found is not None, f"no command {command} in {argv}"
    with found.make_context(command, list(args)) as ctx:  # parses, does not run
        assert isinstance(ctx, click.Context)


def check_python_module(argv: list[str]) -> None:
    """`python -m package.module ...`: the module exists."""
    index = argv.index("-m")
    assert importlib.util.find_spec(argv[index + 1]) is not None, argv


def split(line: str) -> list[str]:
    return shlex.split(line)

"""The deploy files that list services, generated from the registry: `cohort deploy-files`.

Procfile, compose, the Kubernetes manifests and the systemd target and timers each repeat
every service; written by hand they drift from services/__init__.py. Here each is one
pattern applied to every registry entry, and a test checks the committed files match.
"""

from pathlib import Path

from services import SERVICES
from shared.config import ROOT

from .common import HEADER, cron_name
from .compose import compose
from .kubernetes import k8s_config, k8s_gateway, k8s_migrate, k8s_service
from .machine import on_calendar, procfile, target, timer_units

DEPLOY = ROOT / "deploy"
__all__ = ["DEPLOY", "Path", "on_calendar", "render_all", "stale", "write"]


def render_all() -> dict[Path, str]:
    """Every generated file: its path under deploy/ and its text."""
    files = {
        Path("Procfile"): procfile(),
        Path("compose.yaml"): compose(),
        Path("k8s/config.yaml"): k8s_config(),
        Path("k8s/gateway.yaml"): k8s_gateway(),
        Path("k8s/migrate.yaml"): k8s_migrate(),
        Path("systemd/cohort.target"): target(),
    }
    for info in SERVICES.values():
        files[Path(f"k8s/{info.name}.yaml")] = k8s_service(info)
        for cron in info.crons:
            service, timer = timer_units(info, cron)
            name = f"systemd/cohort-{cron_name(info, cron)}"
            files[Path(f"{name}.service")] = service
            files[Path(f"{name}.timer")] = timer
    return files


def generated(directory: Path = DEPLOY) -> list[Path]:
    """The files under `directory` a previous run wrote (they start with HEADER)."""
    return [p for p in directory.rglob("*") if p.is_file() and p.read_text(
        errors="replace").startswith(HEADER)]


def write(directory: Path = DEPLOY) -> tuple[list[Path], list[Path]]:
    """Write every file; remove generated ones no service needs any more. (written, removed)"""
    files = render_all()
    removed = [p for p in generated(directory) if p.relative_to(directory) not in files]
    for path in removed:
        path.unlink()
    for relative, text in files.items():
        path = directory / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return [directory / p for p in files], removed


def stale(directory: Path = DEPLOY) -> list[str]:
    """What differs between the files on disk and what the registry makes (empty: in step)."""
    files = render_all()
    problems = [str(p) for p, text in files.items()
                if not (directory / p).exists() or (directory / p).read_text() != text]
    problems += [str(p.relative_to(directory)) for p in generated(directory)
                 if p.relative_to(directory) not in files]
    return problems

"""deploy/gunicorn.conf.py: it loads, reads the environment, and gunicorn accepts it."""

import multiprocessing
import os
import runpy
import subprocess
import sys
from types import SimpleNamespace

from gunicorn.config import KNOWN_SETTINGS

from shared.config import ROOT

CONF = ROOT / "deploy" / "gunicorn.conf.py"


def load(monkeypatch, **env) -> dict:
    for name in ("WEB_CONCURRENCY", "GUNICORN_WORKER_CLASS", "PROMETHEUS_MULTIPROC_DIR",
                 "GUNICORN_WORKERS"):
        # Set first so monkeypatch restores the variable the config file itself may set.
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(CONF))


def test_workers_from_web_concurrency(monkeypatch):
    assert load(monkeypatch, WEB_CONCURRENCY="7")["workers"] == 7


def test_workers_default_to_cpu_count(monkeypatch):
    assert load(monkeypatch)["workers"] == 2 * multiprocessing.cpu_count() + 1


def test_defaults(monkeypatch):
    conf = load(monkeypatch)
    assert conf["worker_class"] == "sync"
    assert conf["graceful_timeout"] > 0 and conf["timeout"] > 0 and conf["keepalive"] > 0
    assert conf["access_log_format"].startswith("{")


def test_every_setting_is_one_gunicorn_knows(monkeypatch):
    known = {setting.name for setting in KNOWN_SETTINGS}
    conf = load(monkeypatch)
    names = {k for k, v in conf.items()
             if not k.startswith("_") and k.islower() and not isinstance(v, type(os))}
    assert names - {"multiprocessing", "os", "tempfile"} <= known


def test_metrics_directory_is_made_fresh_or_kept(monkeypatch, tmp_path):
    load(monkeypatch)
    made = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    assert os.path.isdir(made) and not os.listdir(made)
    given = tmp_path / "metrics"
    load(monkeypatch, PROMETHEUS_MULTIPROC_DIR=str(given))
    assert os.environ["PROMETHEUS_MULTIPROC_DIR"] == str(given) and given.is_dir()


def test_child_exit_drops_the_dead_workers_live_gauges(monkeypatch, tmp_path):
    conf = load(monkeypatch, PROMETHEUS_MULTIPROC_DIR=str(tmp_path))
    dead = tmp_path / "gauge_livesum_4242.db"
    dead.write_bytes(b"")
    alive = tmp_path / "gauge_livesum_4343.db"
    alive.write_bytes(b"")
    conf["child_exit"](None, SimpleNamespace(pid=4242))
    assert not dead.exists() and alive.exists()


def test_gunicorn_accepts_the_config_and_the_app(tmp_path):
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "COHORT_ENV": "test",
           "DATABASE_URL": "sqlite://", "CACHE_URL": "null://"}
    result = subprocess.run(
        [sys.executable, "-m", "gunicorn", "--check-config", "-c", str(CONF),
         "services.notifications:create_app()"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_workers_are_announced_to_the_services(monkeypatch):
    load(monkeypatch, WEB_CONCURRENCY="3")
    assert os.environ["GUNICORN_WORKERS"] == "3"

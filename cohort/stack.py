"""The full topology on one machine: one gunicorn per service, and nginx in front of them."""

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping
from pathlib import Path

import requests

from gateway.render import env_options, render
from services import SERVICES
from shared.config import ROOT

GUNICORN_CONF = ROOT / "deploy" / "gunicorn.conf.py"
STOP_GRACE_SECONDS = 30.0  # above gunicorn's graceful timeout (20s by default)
NGINX = "nginx"


class StackError(RuntimeError):
    """A process of the stack could not start or did not become ready."""


def nginx_binary() -> str:
    """The nginx executable, on PATH or where Debian and source builds put it."""
    found = shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(p, os.X_OK)), None)
    if found is None:
        raise StackError("nginx is not installed (not on PATH, /usr/sbin or /usr/local/sbin)")
    return found


def _terminate(process: subprocess.Popen, grace: float, how: int = signal.SIGTERM) -> None:
    """A graceful stop (`how`), then SIGKILL to the whole process group after `grace`; always
    reaped."""
    if process.poll() is None:
        process.send_signal(how)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(grace)
    # Each process leads its own group: this also takes any worker its master left behind.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


class Stack:
    """Starts, stops and watches the gunicorns and nginx; each logs to a file in workdir."""

    def __init__(self, workdir: Path, env: Mapping[str, str] | None = None, *, port: int = 8000,
                 internal_port: int = 8100, service_ports: Mapping[str, int] | None = None,
                 workers: int | None = None, services: Iterable[str] | None = None,
                 apps: Mapping[str, str] | None = None, stop_grace: float = STOP_GRACE_SECONDS):
        self.workdir = Path(workdir).resolve()
        self.env = dict(env or {})
        self.port, self.internal_port = port, internal_port
        self.services = list(SERVICES) if services is None else list(services)
        unknown = set(self.services) - set(SERVICES) | set(service_ports or {}) - set(SERVICES)
        if unknown:
            raise ValueError(f"unknown services: {', '.join(sorted(unknown))}")
        self.service_ports = {n: (service_ports or {}).get(n, s.port) for n, s in SERVICES.items()}
        # The WSGI app gunicorn serves for each service; another one may stand in (a baseline).
        self.apps = {n: s.wsgi for n, s in SERVICES.items()} | dict(apps or {})
        self.workers = workers
        self.stop_grace = stop_grace
        self._processes: dict[str, subprocess.Popen] = {}

    @property
    def base_url(self) -> str:
        listen = {**os.environ, **self.env}.get("GATEWAY_LISTEN", "")
        host = "127.0.0.1" if listen in ("", "0.0.0.0", "::", "*") else listen
        return f"http://{f'[{host}]' if ':' in host else host}:{self.port}"

    @property
    def internal_url(self) -> str:
        return f"http://127.0.0.1:{self.internal_port}"

    @property
    def gateway_dir(self) -> Path:
        return self.workdir / "gateway"

    @property
    def pids(self) -> dict[str, int]:
        """The running processes: service names and "nginx" to their pids."""
        return {n: p.pid for n, p in self._processes.items() if p.poll() is None}

    def log_path(self, name: str) -> Path:
        """Where the stdout and stderr of a service (or "nginx") go."""
        return self.workdir / "logs" / f"{name}.log"

    def service_env(self, name: str) -> dict[str, str]:
        """The environment of one service's gunicorn."""
        env = {**os.environ, **self.env}
        env["SERVICES_URL"] = self.env.get("SERVICES_URL", self.internal_url)
        database = env.get(f"{name.upper()}_DATABASE_URL")
        if database:
            env["DATABASE_URL"] = database
        if self.workers:
            env["WEB_CONCURRENCY"] = str(self.workers)
        metrics = self.workdir / "prometheus" / name
        shutil.rmtree(metrics, ignore_errors=True)
        metrics.mkdir(parents=True)
        env["PROMETHEUS_MULTIPROC_DIR"] = str(metrics)
        env["PYTHONUNBUFFERED"] = "1"  # log lines reach the file as they happen
        return env

    def start(self) -> None:
        """Render the gateway, start every service, then nginx; all or nothing."""
        nginx = nginx_binary()
        options = {**env_options({**os.environ, **self.env}),
                   "port": self.port, "internal_port": self.internal_port,
                   "upstreams": {n: f"127.0.0.1:{p}" for n, p in self.service_ports.items()}}
        conf = render(self.gateway_dir, **options)
        try:
            for name in self.services:
                self.start_service(name)
            self._spawn(NGINX, [nginx, "-p", str(self.gateway_dir), "-c", str(conf)],
                        {**os.environ, **self.env})
        except BaseException:
            self.stop()
            raise

    def start_service(self, name: str) -> None:
        """Start one service's gunicorn (again); nginx picks it up on the next request."""
        if name not in self.services:
            raise ValueError(f"{name} is not a service of this stack")
        if name in self.pids:
            return
        self._spawn(name, [
            sys.executable, "-m", "gunicorn", "-c", str(GUNICORN_CONF),
            "--bind", f"127.0.0.1:{self.service_ports[name]}", self.apps[name],
        ], self.service_env(name))

    def stop_service(self, name: str) -> None:
        """Stop one service's gunicorn gracefully (SIGTERM: it finishes the requests it has,
        within its graceful timeout); nginx keeps running and answers for it.

        For "nginx", SIGQUIT, as the systemd unit does: it stops accepting, finishes every
        request in flight (waiting for the services' answers), then exits. SIGTERM would
        drop them.
        """
        process = self._processes.pop(name, None)
        if process is not None:
            _terminate(process, self.stop_grace,
                       signal.SIGQUIT if name == NGINX else signal.SIGTERM)

    def stop(self) -> None:
        """Stop without losing a request in flight: nginx first, gracefully (no new
        requests; those in flight still reach the services and get their answers), then
        each service, gracefully, once nothing can reach it any more."""
        for name in [NGINX, *reversed(list(self._processes))]:
            self.stop_service(name)

    def _spawn(self, name: str, args: list[str], env: dict[str, str]) -> None:
        log = self.log_path(name)
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("ab") as out:
            self._processes[name] = subprocess.Popen(
                args, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                cwd=ROOT, env=env, start_new_session=True)

    def _check_alive(self) -> None:
        for name, process in self._processes.items():
            if process.poll() is not None:
                raise StackError(f"{name} exited with {process.returncode}; "
                                 f"its log ({self.log_path(name)}) ends:\n{self.log_tail(name)}")

    def log_tail(self, name: str, lines: int = 20) -> str:
        path = self.log_path(name)
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def wait_ready(self, timeout: float = 30) -> None:
        """Wait until the gateway and every running service's /health/live/ answer 200."""
        urls = [f"{self.base_url}/health/gateway/live/"] + [
            f"{self.base_url}/health/{name}/live/" for name in self.services
            if name in self._processes]
        deadline = time.monotonic() + timeout
        with requests.Session() as session:
            while urls:
                self._check_alive()
                try:
                    if session.get(urls[0], timeout=2).status_code == 200:
                        urls.pop(0)
                        continue
                except requests.RequestException:
                    pass
                if time.monotonic() > deadline:
                    raise StackError(f"{urls[0]} did not answer 200 within {timeout}s")
                time.sleep(0.1)

    def wait(self) -> str:
        """Block until one of the processes exits; return its name."""
        while True:
            for name, process in self._processes.items():
                if process.poll() is not None:
                    return name
            time.sleep(0.5)

    def __enter__(self) -> "Stack":
        self.start()
        try:
            self.wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

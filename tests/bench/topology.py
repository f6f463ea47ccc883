"""The stacks the benchmark drives: the real one, and the baseline behind the same gateway."""

import sys
from pathlib import Path

from gateway.stack import GUNICORN_CONF, Stack

BASELINE_APP = "tests.bench.baseline:create_app()"


class BaselineStack(Stack):
    """The gateway and gunicorn settings of the real stack, with the bare Flask app serving
    the notifications upstream: the same URL, nginx config and gunicorn config, no service."""

    def __init__(self, workdir: Path, env=None, **kwargs):
        super().__init__(workdir, env, services=["notifications"], **kwargs)

    def start_service(self, name: str) -> None:
        if name in self.pids:
            return
        self._spawn(name, [
            sys.executable, "-m", "gunicorn", "-c", str(GUNICORN_CONF),
            "--bind", f"127.0.0.1:{self.service_ports[name]}", BASELINE_APP,
        ], self.service_env(name))


def gateway_env(rate: str = "1000000r/s", burst: int = 100_000) -> dict[str, str]:
    """The gateway's per-client rate limit, raised: all the load comes from one address."""
    return {"GATEWAY_RATE": rate, "GATEWAY_BURST": str(burst)}

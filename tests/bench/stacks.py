"""The three stacks a run drives, and what the benchmark asks of them."""

import secrets
import shutil
import time
from pathlib import Path

import redis
import requests
from prometheus_client.parser import text_string_to_metric_families

from cohort.stack import Stack
from tests.bench import wrk

STACKS = ("on", "off", "baseline")  # cache on, cache off, the bare Flask app
BASELINE_APP = "tests.bench.baseline:create_app()"


def gateway_env(rate: str = "1000000r/s", burst: int = 100_000) -> dict[str, str]:
    """The gateway's per-client rate limit, raised: all the load comes from one address."""
    return {"GATEWAY_RATE": rate, "GATEWAY_BURST": str(burst)}


def service_env(options, cache: str, secret: str) -> dict[str, str]:
    """The environment of a stack: production settings on the benchmark's servers."""
    return {
        "COHORT_ENV": "production",
        "DATABASE_URL": options.database_url,
        "CACHE_URL": options.redis_url,
        "JWT_SECRET": secret,
        "SERVICE_TOKEN": secrets.token_hex(16),
        "USE_NOTIFICATION_CACHE": cache,
        # Longer than a run, so the cache-on rows measure hits (a write still replaces them).
        "NOTIFICATION_CACHE_TTL": "600",
        **gateway_env(),
        **options.service_env,
    }


def make_stack(kind: str, options, secret: str) -> Stack:
    """One of STACKS on its three ports, logging under the run's directory."""
    workdir = options.out / f"{options.name}-stack" / kind
    shutil.rmtree(workdir, ignore_errors=True)
    port, internal, service = options.ports[3 * STACKS.index(kind):][:3]
    env = service_env(options, "on" if kind == "on" else "off", secret)
    # The baseline: the same URL, nginx config and gunicorn config, the bare app upstream.
    apps = {"notifications": BASELINE_APP} if kind == "baseline" else None
    return Stack(workdir, env, port=port, internal_port=internal,
                 service_ports={"notifications": service}, services=["notifications"], apps=apps)


def gunicorn_settings(stack: Stack) -> str:
    """The worker class and count the service's gunicorn reported at start."""
    text = stack.log_path("notifications").read_text(errors="replace")
    worker = next((line.rsplit(": ", 1)[1] for line in text.splitlines()
                   if "Using worker:" in line), "?")
    return f"{worker} workers x {text.count('Booting worker')}"


def warm_cache(stack: Stack, options, users_file: Path, count: int) -> None:
    """Sweep the users until the cache holds counts for nearly all of them (bounded)."""
    client = redis.Redis.from_url(options.redis_url)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        wrk.run(stack.base_url, "sweep", users_file, duration=2, connections=options.connections,
                threads=options.wrk_threads)
        if len(client.keys("notifications:c:*")) >= 0.99 * count:
            break
    client.close()


def cache_lookups(stack: Stack) -> dict[str, float]:
    """The notifications service's unread-count cache lookups by result, from /metrics."""
    text = requests.get(f"{stack.internal_url}/metrics/notifications", timeout=10).text
    found: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = sample.labels
            if sample.name == "cache_lookups_total" and labels.get("cache") == "unread_counts":
                found[labels["result"]] = found.get(labels["result"], 0) + sample.value
    return found

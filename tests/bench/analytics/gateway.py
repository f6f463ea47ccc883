"""The dashboards through the real gateway (nginx + gunicorn), each beside the bare-Flask
baseline measured right before it, with wrk playing request files."""

import secrets
import shutil
from pathlib import Path

import requests

from cohort.stack import Stack
from shared.auth import mint_token
from tests.bench import wrk
from tests.bench.stacks import BASELINE_APP, gateway_env

TOKEN_TTL = 24 * 3600


def requests_file(path: Path, lines: list[tuple[str, str]]) -> Path:
    """load.lua's request lines: GET, the path, the bearer token."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"GET\t{url}\tAuthorization: Bearer {token}\t\n"
                            for url, token in lines))
    return path


def dashboard_files(out: Path, scale, secret: str, count: int) -> dict[str, Path]:
    """A file per dashboard: `count` students (their own token), mentors, cohorts (a mentor
    of the cohort), spread over the data."""
    config = {"JWT_SECRET": secret}
    step = max(1, scale.students // count)
    students = list(range(1, scale.students + 1, step))[:count]
    mentors = sorted({scale.mentor_of(s) for s in students})
    cohorts = sorted({(s - 1) // 25 + 1 for s in students})
    return {
        "student": requests_file(out / "student.txt", [
            (f"/api/analytics/students/{s}/dashboard",
             mint_token(config, s, "student", (s - 1) // 25 + 1, TOKEN_TTL)) for s in students]),
        "mentor": requests_file(out / "mentor.txt", [
            (f"/api/analytics/mentors/{m}/dashboard", mint_token(config, m, "mentor", None,
                                                                  TOKEN_TTL)) for m in mentors]),
        "cohort": requests_file(out / "cohort.txt", [
            (f"/api/analytics/cohorts/{c}/dashboard",
             mint_token(config, 900_000 + c, "mentor", c, TOKEN_TTL)) for c in cohorts]),
    }


def stacks(options, secret: str) -> dict[str, Stack]:
    """The analytics service (summary path) and the baseline on their own ports."""
    env = {"COHORT_ENV": "production", "DATABASE_URL": options.database_url,
           "CACHE_URL": options.redis_url, "JWT_SECRET": secret,
           "SERVICE_TOKEN": secrets.token_hex(16), "USE_ANALYTICS_SUMMARY": "on",
           **gateway_env(), **options.service_env}
    made = {}
    for index, kind in enumerate(("summary", "baseline")):
        workdir = options.out / f"{options.name}-stack" / kind
        shutil.rmtree(workdir, ignore_errors=True)
        port, internal, service = options.ports[3 * index:3 * index + 3]
        made[kind] = Stack(workdir, env, port=port, internal_port=internal,
                           service_ports={"analytics": service}, services=["analytics"],
                           apps={"analytics": BASELINE_APP} if kind == "baseline" else None)
    return made


def check(stack: Stack, file: Path, expect_source: str | None) -> None:
    _, path, header, _ = file.read_text().splitlines()[0].split("\t")
    name, _, value = header.partition(": ")
    answer = requests.get(stack.base_url + path, headers={name: value}, timeout=30)
    if answer.status_code != 200:
        raise RuntimeError(f"{path}: {answer.status_code} {answer.text[:300]}")
    if expect_source and answer.json().get("source") != expect_source:
        raise RuntimeError(f"{path} was not answered from the {expect_source}: {answer.text[:300]}")


def measure(stack: Stack, file: Path, options) -> dict:
    run = {"connections": options.connections, "threads": options.wrk_threads}
    if options.warmup:
        wrk.run(stack.base_url, "requests", file, duration=options.warmup, **run)
    return wrk.run(stack.base_url, "requests", file, duration=options.duration, **run).as_dict()


def dashboards(running: dict[str, Stack], files: dict[str, Path], options, log) -> list[dict]:
    """Each dashboard right after the baseline at the same settings; ratio to that run."""
    rows = []
    for name, file in files.items():
        check(running["summary"], file, "summary")
        base = measure(running["baseline"], file, options)
        row = measure(running["summary"], file, options)
        row.update(name=name, baseline_rps=base["rps"],
                   ratio=round(row["rps"] / base["rps"], 3) if base["rps"] else None)
        log(f"  {name} dashboard: {row['rps']:,.0f} req/s, {row['ratio']} of the baseline's "
            f"{base['rps']:,.0f}; p50 {row['p50_ms']:.1f} ms, p99 {row['p99_ms']:.1f} ms, "
            f"{row['errors']} errors")
        rows.append(row)
    return rows

"""The benchmark's table: printed, and written as markdown and JSON."""

import json
import os
import platform
import subprocess
from pathlib import Path

COLUMNS = ("scenario", "conns", "req/s", "p50 ms", "p99 ms", "errors", "vs baseline",
           "baseline req/s")
CPU_GROUPS = ("gunicorn", "nginx", "postgres", "redis", "wrk", "other")


def machine() -> dict:
    """What the figures were measured on."""
    model = next((line.split(":", 1)[1].strip() for line in
                  Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor())
    memory = subprocess.run(["free", "-h"], capture_output=True, text=True).stdout.strip()
    return {"nproc": os.cpu_count(), "cpu": model, "free": memory,
            "python": platform.python_version(), "kernel": platform.release()}


def rows(results: list[dict]) -> list[tuple]:
    """Table cells: each row's ratio is to the baseline run measured just before it."""
    table = []
    for r in results:
        errors = str(r["errors"]) + (f" ({r['socket_errors']} socket)"
                                     if r["socket_errors"] else "")
        paired = r.get("baseline_rps")
        table.append((r["label"], str(r["connections"]), f"{r['rps']:,.0f}",
                      f"{r['p50_ms']:.2f}", f"{r['p99_ms']:.2f}", errors,
                      f"{r['ratio']:.2f}", f"{paired:,.0f}" if paired else "-"))
    return table


def cpu_cells(results: list[dict]) -> list[str]:
    """Per row: CPU cores each part of the machine used while it was measured."""
    return [f"| {r['label']} | " + " | ".join(f"{r['cores'].get(g, 0):.2f}" for g in CPU_GROUPS)
            + " |" for r in results]


def text_table(results: list[dict]) -> str:
    """A fixed-width table for the terminal."""
    table = [COLUMNS, *rows(results)]
    widths = [max(len(row[i]) for row in table) for i in range(len(COLUMNS))]
    lines = ["  ".join(cell.ljust(w) if i == 0 else cell.rjust(w)
                       for i, (cell, w) in enumerate(zip(row, widths, strict=True)))
             for row in table]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def markdown(report: dict) -> str:
    """The whole report as markdown: table, data, plan, machine, command."""
    table = [f"| {' | '.join(COLUMNS)} |", "|" + "---|" * len(COLUMNS)]
    table += [f"| {' | '.join(row)} |" for row in rows(report["results"])]
    data, m = report["data"], report["machine"]
    settings = report["settings"]
    cpu = [f"| row | {' | '.join(CPU_GROUPS)} |", "|" + "---|" * (len(CPU_GROUPS) + 1),
           *cpu_cells(report["results"])]
    parts = [
        f"# Benchmark: {data['students']:,} students, {data['notifications']:,} notifications",
        "", "\n".join(table), "",
        f"Each row: wrk with {settings['wrk_threads']} threads for {settings['duration']:g} s "
        f"({settings['high_duration']:g} s at {settings['high_connections']} connections) "
        f"after a {settings['warmup']:g} s warm-up, right after a baseline run at the same "
        "settings; \"vs baseline\" divides by that run, and the baseline row is the "
        "median of those runs. Errors are non-2xx/3xx answers plus socket errors. "
        "Cache hits among the cache-on polls: "
        f"{report.get('cache_hit_ratio', '-')}.",
        "", "## Each endpoint in-process: CPU and round trips a request", "",
        inprocess_table(report.get("endpoints", [])), "",
        "The service called as a WSGI app in one process on the loaded database and Redis, "
        "each behind a proxy that counts round trips on the wire; the CPU is the service's "
        "own, with no client, server or gateway.",
        "", "## CPU cores used while each row ran", "", "\n".join(cpu), "",
        "\"other\" is the rest of the machine: the kernel's share of loopback networking, "
        "the benchmark itself, and anything else running.",
        "", "## Data", "",
        f"{data['notifications']:,} notifications for {data['users']:,} users "
        f"({data['unread']:,} unread, {data['users_with_unread']:,} users with unread); "
        f"loaded, indexed and analysed in {data['load_seconds']:.1f} s; "
        f"{report['settings']['users']:,} users with their own tokens in the load.",
        "", "## Plan of the unread-count query", "", "```", report["plan"], "```",
        "", "## Machine", "", f"{m['nproc']} cores, {m['cpu']}, Python {m['python']}, "
        f"kernel {m['kernel']}", "", "```", m["free"], "```",
        "", "## Settings", "", f"gunicorn: {report['settings'].get('gunicorn', '?')}", "", "```",
        *(f"{k}={v}" for k, v in report["settings"]["environment"].items()), "```",
        "", "## Command", "", f"```\n{report['command']}\n```", "",
    ]
    return "\n".join(parts)


def inprocess_table(rows: list[dict]) -> str:
    """Markdown: each endpoint's CPU, statements and round trips a request."""
    lines = ["| endpoint | CPU µs a request | statements | PostgreSQL round trips | "
             "Redis round trips |", "|---|---|---|---|---|"]
    lines += [f"| {r['name']} | {r['cpu_us']:,} | {r['statements']:g} | {r['postgres']:g} | "
              f"{r['redis']:g} |" for r in rows]
    return "\n".join(lines)


def write(report: dict, directory: Path, name: str) -> tuple[Path, Path]:
    """var/bench/<name>.md and .json."""
    directory.mkdir(parents=True, exist_ok=True)
    md, js = directory / f"{name}.md", directory / f"{name}.json"
    md.write_text(markdown(report))
    js.write_text(json.dumps(report, indent=2) + "\n")
    return md, js

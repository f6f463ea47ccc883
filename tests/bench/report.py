"""The benchmark's table: printed, and written as markdown and JSON."""

import json
import os
import platform
import subprocess
from pathlib import Path

COLUMNS = ("scenario", "conns", "req/s", "p50 ms", "p99 ms", "errors", "vs baseline")


def machine() -> dict:
    """What the figures were measured on."""
    model = next((line.split(":", 1)[1].strip() for line in
                  Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor())
    memory = subprocess.run(["free", "-h"], capture_output=True, text=True).stdout.strip()
    return {"nproc": os.cpu_count(), "cpu": model, "free": memory,
            "python": platform.python_version(), "kernel": platform.release()}


def rows(results: list[dict]) -> list[tuple]:
    baseline = next((r["rps"] for r in results if r["name"] == "baseline"), None)
    table = []
    for r in results:
        ratio = f"{r['rps'] / baseline:.2f}" if baseline else "-"
        table.append((r["label"], str(r["connections"]), f"{r['rps']:,.0f}",
                      f"{r['p50_ms']:.2f}", f"{r['p99_ms']:.2f}",
                      f"{r['errors']}" + (f" ({r['socket_errors']} socket)"
                                          if r["socket_errors"] else ""), ratio))
    return table


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
    parts = [
        f"# Benchmark: {data['students']:,} students, {data['notifications']:,} notifications",
        "", "\n".join(table), "",
        f"Each row: wrk, {report['settings']['wrk_threads']} threads, "
        f"{report['settings']['duration']:g} s after a warm-up; errors are non-2xx/3xx answers "
        "plus socket errors. Cache hits while the cache-on rows ran: "
        f"{report.get('cache_hit_ratio', '-')}.",
        "", "## Data", "",
        f"{data['notifications']:,} notifications for {data['users']:,} users "
        f"({data['unread']:,} unread, {data['users_with_unread']:,} users with unread); "
        f"loaded, indexed and analysed in {data['load_seconds']:.1f} s; "
        f"{report['settings']['users']:,} users with their own tokens in the load.",
        "", "## Plan of the unread-count query", "", "```", report["plan"], "```",
        "", "## Machine", "", f"{m['nproc']} cores, {m['cpu']}, Python {m['python']}, "
        f"kernel {m['kernel']}", "", "```", m["free"], "```",
        "", "## Settings", "", "```",
        *(f"{k}={v}" for k, v in report["settings"]["environment"].items()), "```",
        "", "## Command", "", f"```\n{report['command']}\n```", "",
    ]
    return "\n".join(parts)


def write(report: dict, directory: Path, name: str) -> tuple[Path, Path]:
    """var/bench/<name>.md and .json."""
    directory.mkdir(parents=True, exist_ok=True)
    md, js = directory / f"{name}.md", directory / f"{name}.json"
    md.write_text(markdown(report))
    js.write_text(json.dumps(report, indent=2) + "\n")
    return md, js

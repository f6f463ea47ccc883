"""The storage benchmark: `python -m tests.bench.storage [--quick]`.

In one run, through the real gateway (nginx and gunicorn with the deployed settings) on
PostgreSQL: a large download sent by nginx for the service (X-Accel-Redirect) beside nginx
sending the same file as a plain static file (a location this run adds to its own nginx);
a large upload streamed through the service beside `cp` of the same file on the same disk,
with the gunicorn workers' memory sampled all along; the metadata routes beside the bare
Flask baseline (wrk); and, in this process, each route's CPU time and PostgreSQL round trips.
The report goes to OUT/storage-<name>.md and .json.
"""

import argparse
import io
import json
import os
import secrets
import shutil
import signal
import statistics
import sys
import time
from pathlib import Path

import psycopg
from flask_migrate import upgrade

from cohort.stack import Stack
from services.storage import create_app
from services.storage.avatars import avatar_png
from services.storage.seed import seed_demo
from shared.auth import mint_token
from shared.config import VAR_DIR
from shared.demo import cohort_of
from tests.bench import inprocess, report, wrk
from tests.bench.dataset import drop_database, recreate_database
from tests.bench.files import PeakMemory, copy_seconds, curl_upload, make_file
from tests.bench.inprocess import WARMUP, Call, proxied
from tests.bench.stacks import BASELINE_APP, gateway_env
from tests.support.servers import POSTGRES_URL

MB = 1 << 20
STATIC = "/_bench_static/"
FULL = {"upload_mb": 500, "download_mb": 100, "duration": 10, "students": 1000, "repeat": 300}
QUICK = {"upload_mb": 50, "download_mb": 20, "duration": 2, "students": 100, "repeat": 30}


def log(message: str) -> None:
    print(message, flush=True)


def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m tests.bench.storage", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="small files, short runs")
    for name, default in FULL.items():
        p.add_argument(f"--{name.replace('_', '-')}", type=int,
                       help=f"default {default} (--quick: {QUICK[name]})")
    p.add_argument("--connections", type=int, default=32, help="wrk connections, metadata")
    p.add_argument("--download-connections", type=int, default=4, help="wrk connections, files")
    p.add_argument("--database-url", default=POSTGRES_URL.rsplit("/", 1)[0]
                   + "/cohort_bench_storage", help="PostgreSQL database to recreate and drop")
    p.add_argument("--redis-url", default="redis://127.0.0.1:6379/12")
    p.add_argument("--port", type=int, default=18900, help="first of six loopback ports")
    p.add_argument("--out", type=Path, default=VAR_DIR / "bench")
    args = p.parse_args(argv)
    for name, default in FULL.items():
        if getattr(args, name) is None:
            setattr(args, name, QUICK[name] if args.quick else default)
    args.name = "quick" if args.quick else f"upload-{args.upload_mb}mb"
    args.command = " ".join(["python", "-m", "tests.bench.storage", *argv])
    return args


def stack_env(args, secret: str, files: Path) -> dict[str, str]:
    limit = (args.upload_mb + 2) * MB
    return {"COHORT_ENV": "production", "STORAGE_DATABASE_URL": args.database_url,
            "CACHE_URL": args.redis_url, "JWT_SECRET": secret,
            "SERVICE_TOKEN": secrets.token_hex(16), "STORAGE_DIR": str(files),
            "STORAGE_SUBMISSION_MAX_BYTES": str(limit), "STORAGE_MAX_BODY_BYTES": str(limit + MB),
            "STORAGE_QUOTA_BYTES": str(1 << 40), "LOG_LEVEL": "WARNING", **gateway_env()}


def add_static_location(stack: Stack, files: Path) -> None:
    """The comparison: nginx sending the same directory as plain static files."""
    conf = stack.gateway_dir / "nginx.conf"
    text = conf.read_text()
    block = f'        location ^~ {STATIC} {{\n            alias "{files}/";\n        }}\n\n'
    conf.write_text(text.replace("        location / {", block + "        location / {", 1))
    os.kill(stack.pids["nginx"], signal.SIGHUP)
    time.sleep(1)


def requests_file(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n")
    return path


def measure(base: str, lines_path: Path, args, connections: int) -> dict:
    result = wrk.run(base, "requests", lines_path, duration=args.duration,
                     connections=connections, threads=min(2, connections))
    return result.as_dict()


def run(args) -> dict:
    out = args.out.resolve()
    work = out / f"storage-{args.name}"
    shutil.rmtree(work, ignore_errors=True)
    files = work / "files"
    files.mkdir(parents=True)
    secret = secrets.token_urlsafe(32)
    recreate_database(args.database_url)
    config = {"DATABASE_URL": args.database_url, "STORAGE_DIR": str(files), "JWT_SECRET": secret,
              "CACHE_URL": "null://", "LOG_LEVEL": "WARNING"}
    app = create_app(config)
    with app.app_context():
        upgrade()
        seed_demo(args.students)
        app.extensions["sqlalchemy"].engine.dispose()

    def token(user: int) -> str:
        return mint_token({"JWT_SECRET": secret}, user, "student", cohort_of(user), 7200)

    ports = getattr(args, "ports", None) or list(range(args.port, args.port + 6))
    env = stack_env(args, secret, files)
    results: dict = {"command": args.command, "machine": report.machine()}
    try:
        with Stack(work / "stack", env, port=ports[0], internal_port=ports[1],
                   service_ports={"storage": ports[2]}, services=["storage"]) as stack, \
                Stack(work / "baseline", env, port=ports[3], internal_port=ports[4],
                      service_ports={"storage": ports[5]}, services=["storage"],
                      apps={"storage": BASELINE_APP}) as baseline:
            add_static_location(stack, files)
            results["download"] = download(stack, args, work, files, token)
            results["upload"] = upload(stack, args, work, files, token)
            results["metadata"] = metadata(stack, baseline, args, work, token)
        results["in_process"] = in_process(config, args, _auth(token(1)))
    finally:
        drop_database(args.database_url)
        shutil.rmtree(work, ignore_errors=True)
    write(results, out, args.name)
    return results


def in_process(config: dict, args, owner: dict) -> list[dict]:
    """Every endpoint in this process (tests/bench/inprocess.py): CPU, statements and
    PostgreSQL round trips a request, as the owner of avatar 1."""
    png = avatar_png(1)
    with proxied(args.database_url, None) as (database, via, _, _):
        app = create_app({**config, "DATABASE_URL": via})
        client = app.test_client()
        count = args.repeat + WARMUP
        doomed, announced = [], []

        def upload(i: int) -> dict:
            return {"path": "/api/storage/files", "method": "POST", "headers": owner,
                    "data": {"purpose": "submission", "file": (io.BytesIO(png), "work.png")}}

        def announce(i: int) -> dict:
            return {"path": "/api/storage/uploads", "method": "POST", "headers": owner,
                    "json": {"name": "work.png", "size": len(png), "purpose": "submission"}}

        def uploaded():
            doomed[:] = [client.open(**upload(i)).json["id"] for i in range(count)]

        def sent():
            announced.clear()
            for i in range(count):
                target = client.open(**announce(i)).json
                form = {**target["fields"], "file": (io.BytesIO(png), "work.png")}
                client.post(target["url"], data=form, content_type="multipart/form-data")
                announced.append(target["file_id"])

        avatar = f"/api/storage/files/{_avatar(1)}"
        calls = [
            Call("metadata", lambda i: {"path": avatar, "headers": owner}),
            Call("list (20)", lambda i: {"path": "/api/storage/files?limit=20",
                                         "headers": owner}),
            Call("content", lambda i: {"path": f"{avatar}/content", "headers": owner}),
            Call(f"upload, {len(png):,} bytes (multipart)", upload, expect=201),
            Call("delete", lambda i: {"path": f"/api/storage/files/{doomed[i]}",
                                      "method": "DELETE", "headers": owner},
                 expect=204, before=uploaded),
            Call("direct upload, announce", announce, expect=201),
            Call("direct upload, complete", lambda i: {
                "path": f"/api/storage/uploads/{announced[i]}/complete", "method": "POST",
                "headers": owner}, before=sent),
        ]
        try:
            return inprocess.measure(app, calls, database, None, repeat=args.repeat)
        finally:
            with app.app_context():
                app.extensions["sqlalchemy"].engine.dispose()


def _auth(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def _avatar(student: int) -> int:
    return student  # seeded into an empty table in student order: avatar ids are the students'


def download(stack, args, work: Path, files: Path, token) -> dict:
    """The same big file sent by nginx for the service, and as a static file, in turns."""
    big = make_file(work / "download.pdf", args.download_mb * MB)
    status, body, _ = curl_upload(f"{stack.base_url}/api/storage/files", token(1), big)
    if status != 201:
        raise RuntimeError(f"the download file did not upload: {status} {body[:300]}")
    stored = json.loads(body)
    key = key_of(args.database_url, stored["id"])
    accel = requests_file(work / "accel.txt", [
        f"GET\t{stored['download_url']}\tAuthorization: Bearer {token(1)}\t"])
    static = requests_file(work / "static.txt", [f"GET\t{STATIC}{key}\t\t"])
    runs = {"accel": [], "static": []}
    files_of = {"static": static, "accel": accel}
    for lines in files_of.values():  # warm up: the file in the page cache, the workers busy
        wrk.run(stack.base_url, "requests", lines, duration=1, connections=2, threads=1)
    # A-B-B-A: a machine getting busier or quieter during the run favours neither.
    for kind in ("static", "accel", "accel", "static"):
        row = measure(stack.base_url, files_of[kind], args, args.download_connections)
        row["mb_per_s"] = round(row["rps"] * args.download_mb, 1)
        runs[kind].append(row)
        log(f"  download {kind}: {row['mb_per_s']:,.0f} MB/s, {row['errors']} errors")
    accel_mb = sum(r["mb_per_s"] for r in runs["accel"])
    static_mb = sum(r["mb_per_s"] for r in runs["static"])
    return {"size_mb": args.download_mb, "runs": runs,
            "ratio": round(accel_mb / static_mb, 3) if static_mb else None}


def key_of(database_url: str, file_id: int) -> str:
    """The stored key of a file, as the service names it to nginx."""
    with psycopg.connect(database_url) as conn:
        return conn.execute("SELECT key FROM files WHERE id = %s", (file_id,)).fetchone()[0]


def upload(stack, args, work: Path, files: Path, token) -> dict:
    """One big streamed upload, its workers' memory sampled; cp of the same file beside it."""
    big = make_file(work / "upload.pdf", args.upload_mb * MB)
    # The best of three: the disk is shared, and the first copy may still read from it.
    copy = {kind: min(copy_seconds(big, files.parent / "copy.pdf", sync=sync) for _ in range(3))
            for kind, sync in (("cp", False), ("cp_sync", True))}
    with PeakMemory(stack.pids["storage"]) as memory:
        status, body, seconds = curl_upload(f"{stack.base_url}/api/storage/files", token(2), big)
    if status != 201:
        raise RuntimeError(f"the upload failed: {status} {body[:300]}")
    row = {"size_mb": args.upload_mb, "seconds": round(seconds, 3),
           "mb_per_s": round(args.upload_mb / seconds, 1),
           "cp_mb_per_s": round(args.upload_mb / copy["cp"], 1),
           "cp_sync_mb_per_s": round(args.upload_mb / copy["cp_sync"], 1),
           "worker_rss_growth_mb": round(memory.growth / MB, 1),
           "worker_peak_rss_mb": round(memory.worker_peak / MB, 1)}
    log(f"  upload: {row['mb_per_s']} MB/s (cp {row['cp_mb_per_s']}, cp+sync "
        f"{row['cp_sync_mb_per_s']}), worker RSS +{row['worker_rss_growth_mb']} MB")
    return row


def metadata(stack, baseline, args, work: Path, token) -> list[dict]:
    """Metadata and list beside the baseline, each right after it."""
    students = range(1, args.students + 1)
    kinds = {
        "metadata": [f"GET\t/api/storage/files/{_avatar(s)}\tAuthorization: Bearer {token(s)}\t"
                     for s in students],
        "list": [f"GET\t/api/storage/files?limit=20\tAuthorization: Bearer {token(s)}\t"
                 for s in students],
    }
    rows = []
    for name, lines in kinds.items():
        path = requests_file(work / f"{name}.txt", lines)
        base = measure(baseline.base_url, path, args, args.connections)
        row = measure(stack.base_url, path, args, args.connections)
        row.update(name=name, baseline_rps=base["rps"],
                   ratio=round(row["rps"] / base["rps"], 3) if base["rps"] else None)
        log(f"  {name}: {row['rps']:,.0f} req/s ({row['ratio']} of the baseline's "
            f"{base['rps']:,.0f}), p99 {row['p99_ms']:.2f} ms, {row['errors']} errors")
        rows.append(row)
    return rows


def write(results: dict, out: Path, name: str) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / f"storage-{name}.json").write_text(json.dumps(results, indent=2) + "\n")
    d, u = results["download"], results["upload"]
    lines = [
        f"# Storage benchmark ({name})", "",
        "| what | figure |", "|---|---|",
        f"| {d['size_mb']} MB download, X-Accel-Redirect | "
        f"{statistics.mean(r['mb_per_s'] for r in d['runs']['accel']):,.0f} MB/s |",
        f"| same file, nginx static | "
        f"{statistics.mean(r['mb_per_s'] for r in d['runs']['static']):,.0f} MB/s |",
        f"| X-Accel / static | {d['ratio']} |",
        f"| {u['size_mb']} MB upload, streamed | {u['mb_per_s']} MB/s ({u['seconds']} s) |",
        f"| cp / cp + sync, same disk | {u['cp_mb_per_s']} / {u['cp_sync_mb_per_s']} MB/s |",
        f"| worker RSS growth during the upload | {u['worker_rss_growth_mb']} MB "
        f"(peak {u['worker_peak_rss_mb']} MB) |",
        *(f"| {r['name']}: req/s, ratio to baseline, p99 | {r['rps']:,.0f}, {r['ratio']}, "
          f"{r['p99_ms']:.2f} ms |" for r in results["metadata"]),
        "", report.inprocess_table(results["in_process"]),
        "", f"```\n{results['command']}\n```", "",
    ]
    (out / f"storage-{name}.md").write_text("\n".join(lines))
    log("\n".join(lines))


def main(argv: list[str] | None = None) -> int:
    run(parse(sys.argv[1:] if argv is None else argv))
    return 0


if __name__ == "__main__":
    sys.exit(main())

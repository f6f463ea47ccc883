"""Gunicorn settings for every service (`gunicorn -c deploy/gunicorn.conf.py APP`).

Each value comes from the environment so one file serves a laptop, a VM and a pod.
"""

import multiprocessing
import os
import tempfile


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    return int(raw) if raw else default


workers = _int("WEB_CONCURRENCY", 2 * multiprocessing.cpu_count() + 1)
# The services refuse a per-process cache when several workers would each hold one.
os.environ["GUNICORN_WORKERS"] = str(workers)
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "sync")
threads = _int("GUNICORN_THREADS", 1)
if os.environ.get("GUNICORN_BIND"):  # otherwise --bind on the command line
    bind = os.environ["GUNICORN_BIND"].split(",")
timeout = _int("GUNICORN_TIMEOUT", 30)
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 20)
# nginx's upstream keepalive_timeout (4s) is shorter, so nginx closes idle connections first.
keepalive = _int("GUNICORN_KEEPALIVE", 5)
max_requests = _int("GUNICORN_MAX_REQUESTS", 0)
max_requests_jitter = _int("GUNICORN_MAX_REQUESTS_JITTER", 0)
backlog = _int("GUNICORN_BACKLOG", 2048)
# gunicorn's control socket defaults to one path per user ($HOME/.gunicorn/gunicorn.ctl), so
# the masters of several services would take it from each other: only where a path is given.
if os.environ.get("GUNICORN_CONTROL_SOCKET"):
    control_socket = os.environ["GUNICORN_CONTROL_SOCKET"]
else:
    control_socket_disable = True

# The services already log one JSON line per request (shared/observability.py); gunicorn's
# access log is for requests that never reach Flask. GUNICORN_ACCESS_LOG=- sends it to stdout.
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
access_log_format = (
    '{"ts":"%(t)s","logger":"gunicorn.access","request_id":"%({x-request-id}i)s",'
    '"remote":"%(h)s","method":"%(m)s","path":"%(U)s","query":"%(q)s","status":%(s)s,'
    '"bytes":"%(B)s","duration_us":%(D)s,"user_agent":"%(a)s"}'
)

# Workers write their metrics to files here and /metrics adds them up; a fresh directory
# per master, so samples of a previous run never leak in. It must be set before anything
# imports prometheus_client, which picks its storage at import.
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="cohort-prometheus-")
os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)


def child_exit(server, worker):
    """Drop a dead worker's live gauges from the multiprocess metrics."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def post_worker_init(worker):
    """gunicorn's own error answers (a request it cannot parse: a line or header too long,
    a bad header) are problem JSON like every other answer, not its HTML page."""
    import json
    import re
    import uuid

    from gunicorn import util

    seen = {}
    handle_error = worker.handle_error

    def remember_request(req, client, addr, exc):
        seen["request"] = req or getattr(exc, "req", None)
        try:
            handle_error(req, client, addr, exc)
        finally:
            seen.pop("request", None)

    def write_problem(sock, status, reason, detail):
        request = seen.get("request")
        path = getattr(request, "path", None) or ""
        rid = next((value for name, value in getattr(request, "headers", None) or ()
                    if name == "X-REQUEST-ID"), "")
        body = json.dumps({
            "type": "about:blank", "title": reason, "status": status,
            "detail": detail or reason,
            "instance": path if re.fullmatch(r"[\x21-\x7e]{0,2000}", path) else "",
            "request_id": rid if re.fullmatch(r"[A-Za-z0-9._:-]{1,128}", rid) else
            uuid.uuid4().hex}).encode()
        head = (f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\n"
                "Content-Type: application/problem+json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n").encode("latin-1")
        util.write_nonblock(sock, head + body)

    worker.handle_error = remember_request
    util.write_error = write_problem

"""The nginx blocks the template repeats: upstreams, per-service locations, problem pages."""

import json
from collections.abc import Iterable

from shared.errors import PROBLEMS

# nginx's own code for a header (or all of them) too large; clients see it as a 400.
HEADER_TOO_LARGE = {494: ("Request Header Fields Too Large",
                          "A request header (or all of them) is larger than the gateway "
                          "reads (8 KB each).")}
SENT_AS = {494: 400}


def problem_pages() -> str:
    """An error_page per status, answered by an internal location with problem JSON.

    A regular URI, not a named location: nginx cannot redirect a request whose line it could
    not parse (GET /%00) to a named location, and answered those with its own HTML 500.
    """
    blocks = []
    for status, (title, detail) in {**PROBLEMS, **HEADER_TOO_LARGE}.items():
        if status in (401, 415):  # the services' own answers, never nginx's
            continue
        sent = SENT_AS.get(status, status)
        body = json.dumps({"type": "about:blank", "title": title, "status": sent,
                           "detail": detail, "instance": "$cohort_problem_instance",
                           "request_id": "$cohort_request_id"})
        assert "'" not in body and "\\" not in body, "the body goes inside an nginx '...' string"
        retry = '            add_header Retry-After "1" always;\n' if status in (429, 503) else ""
        blocks.append(
            f"        error_page {status} /_problem/{status};\n"
            f"        location = /_problem/{status} {{\n"
            "            internal;\n"
            "            types { }\n"
            "            default_type application/problem+json;\n"
            "            add_header X-Request-ID $cohort_request_id always;\n"
            '            add_header Cache-Control "no-store" always;\n'
            f"{retry}"
            f"            return {sent} '{body}';\n"
            "        }\n")
    return "\n".join(blocks)


GATEWAY_HEALTH = """\
        location ~ ^/health/gateway(/|/live/?|/ready/?)?$ {
            types { }
            default_type application/health+json;
            add_header X-Request-ID $cohort_request_id always;
            add_header Cache-Control "no-store" always;
            return 200 '{"status":"pass","serviceId":"gateway","description":"nginx gateway",\
"version":"$nginx_version","time":"$time_iso8601","checks":{}}';
        }
"""


def location(match: str, upstream: str, *directives: str) -> str:
    lines = "".join(f"            {d};\n" for d in (*directives, f"proxy_pass {upstream}"))
    return f"        location {match} {{\n{lines}        }}\n"


def service_locations(name: str, max_body: int, stream: bool, internal: bool) -> str:
    """A service's /api/ and /health/ routes; on the internal listener also /internal/.

    `max_body` (bytes) is the registry's limit; `stream` passes request bodies through as
    they arrive instead of buffering them whole first (uploads).
    """
    up = f"http://cohort_{name}"
    body = [f"client_max_body_size {max_body}"]
    if stream:
        body.append("proxy_request_buffering off")
    blocks = [
        location(f"= /api/{name}", up, *body),
        location(f"^~ /api/{name}/", up, *body),
        location(f"= /health/{name}", f"{up}/health/"),
        location(f"^~ /health/{name}/", f"{up}/health/"),
    ]
    if internal:
        blocks += [
            location(f"= /internal/{name}", up, *body),
            location(f"^~ /internal/{name}/", up, *body),
            location(f"= /metrics/{name}", f"{up}/metrics"),
        ]
    return "".join(blocks)


def served_files(location: str, directory: str) -> str:
    """The internal location where nginx sends a service's files on its behalf.

    The service checks who asks and answers `X-Accel-Redirect: <location><path>`; nginx then
    sends <directory>/<path> itself (sendfile, Range requests) with the Content-Type,
    Content-Disposition and Cache-Control the service set. `internal`: a client asking for
    the location directly gets 404.
    """
    return (f"        location ^~ {location} {{\n"
            "            internal;\n"
            f'            alias "{directory.rstrip("/")}/";\n'
            "            gzip off;  # a Range is of the bytes as stored\n"
            "            add_header X-Content-Type-Options nosniff always;\n"
            "            add_header X-Request-ID $cohort_request_id always;\n"
            "        }\n")


def upstream(name: str, address: str) -> str:
    """A service's upstream with a pool of keepalive connections."""
    return (f"    upstream cohort_{name} {{\n"
            f"        server {address};\n"
            "        keepalive 32;\n"
            # Shorter than gunicorn's keepalive, so nginx never reuses a closing connection.
            "        keepalive_timeout 4s;\n"
            "        keepalive_requests 10000;\n"
            "    }\n")


def real_ip(networks: Iterable[str]) -> str:
    """Behind a load balancer, limit and log the client it forwards for, not the balancer."""
    lines = [f"    set_real_ip_from {network};" for network in networks]
    if lines:
        lines += ["    real_ip_header X-Forwarded-For;", "    real_ip_recursive on;"]
    return "\n".join(lines)

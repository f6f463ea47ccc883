"""Render the gateway's nginx.conf from its template, from arguments or the environment."""

import argparse
import ipaddress
import json
import os
import pwd
import re
import shutil
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from string import Template

from gateway import blocks
from services import SERVICES
from shared.config import ConfigError, Setting, load_settings, number, text
from shared.observability import VALID_REQUEST_ID

HERE = Path(__file__).resolve().parent
TEMPLATE = HERE / "nginx.conf.template"
STATIC_ROOT = HERE / "static"
TEMP_DIRS = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
DEFAULT_RATE, DEFAULT_BURST = "50r/s", 100

class _Template(Template):
    delimiter = "@@"  # nginx owns `$`


def _host_port(raw: str) -> str:
    host, sep, port = raw.rpartition(":")
    if raw.startswith("unix:/") or (sep and host and port.isdigit() and 0 < int(port) < 65536):
        return raw
    raise ValueError("expected host:port or unix:/path")


def _rate(raw: str) -> str:
    if not re.fullmatch(r"[1-9]\d*r/[sm]", raw):
        raise ValueError("expected a rate like 50r/s or 600r/m")
    return raw


def _duration(raw: str) -> str:
    if not re.fullmatch(r"\d+(ms|s|m)?", raw):
        raise ValueError("expected an nginx time like 2s or 500ms")
    return raw


def _networks(raw: str) -> tuple[str, ...]:
    networks = tuple(n.strip() for n in raw.split(",") if n.strip())
    for network in networks:
        ipaddress.ip_network(network, strict=False)
    return networks


def _directory(raw: str) -> str:
    """An absolute path nginx can take inside double quotes, as it is."""
    if not raw.startswith("/") or any(c in raw for c in '"\\$') or not raw.isprintable():
        raise ValueError("expected an absolute path without quotes, backslashes or $")
    return raw


PORT = number(int, 1, 65535)
BODY_BYTES = number(int, 1024, 1 << 40)


def settings() -> list[Setting]:
    """The environment variables the renderer reads, with their defaults."""
    return [
        Setting("GATEWAY_PORT", PORT, 8000, "public listener port"),
        Setting("GATEWAY_LISTEN", text, "127.0.0.1", "public listener address (0.0.0.0: all)"),
        Setting("GATEWAY_INTERNAL_PORT", PORT, 8100, "internal listener port (service calls)"),
        Setting("GATEWAY_INTERNAL_LISTEN", text, "127.0.0.1", "internal listener address"),
        Setting("GATEWAY_RATE", _rate, DEFAULT_RATE, "sustained /api/ requests per client IP"),
        Setting("GATEWAY_BURST", number(int, 0, 100_000), DEFAULT_BURST,
                "requests a client may send above the rate before it gets 429"),
        Setting("GATEWAY_CONNECT_TIMEOUT", _duration, "2s", "time to connect to a service"),
        Setting("GATEWAY_READ_TIMEOUT", _duration, "30s", "time a service may take to answer"),
        Setting("GATEWAY_WORKER_CONNECTIONS", number(int, 64, 1 << 20), 4096,
                "connections per nginx worker (a proxied request takes two)"),
        Setting("GATEWAY_REAL_IP_FROM", _networks, (),
                "comma-separated proxies (CIDR) whose X-Forwarded-For names the real client"),
        Setting("GATEWAY_STATIC_ROOT", text, "", "directory served at / (default gateway/static)"),
        Setting("GATEWAY_USER", text, "", "user nginx workers run as when started by root"),
        Setting("GATEWAY_ACCESS_LOG", text, "", "access log path (default OUT/access.log)"),
        Setting("GATEWAY_ERROR_LOG", text, "", "error log path or stderr (default OUT/error.log)"),
        *(Setting(f"{info.env_prefix}UPSTREAM", _host_port, f"127.0.0.1:{info.port}",
                  f"address of the {name} service") for name, info in SERVICES.items()),
        # The variable the service reads for its own limit: one value for both.
        *(Setting(f"{info.env_prefix}MAX_BODY_BYTES", BODY_BYTES, info.max_body,
                  f"largest body of a request to the {name} service")
          for name, info in SERVICES.items()),
        # The directory a service has nginx send files from: the service's own variable.
        *(_files_setting(info) for info in SERVICES.values() if info.files),
    ]


def _files_setting(info) -> Setting:
    return Setting(info.files.setting, _directory, info.files.default_directory,
                   f"directory of the files nginx sends for the {info.name} service")


def _files_dirs(environ: Mapping[str, str]) -> dict[str, str]:
    """Each service's directory of served files, read as the service reads it (its
    prefixed variable first), so both always name the same one."""
    return {name: load_settings([_files_setting(info)], environ, info.env_prefix)[
        info.files.setting] for name, info in SERVICES.items() if info.files}


def env_options(environ: Mapping[str, str] | None = None) -> dict:
    """render()'s keyword arguments from the environment; ConfigError names a bad variable."""
    environ = os.environ if environ is None else environ
    values = load_settings(settings(), environ)
    return {
        "port": values["GATEWAY_PORT"],
        "listen": values["GATEWAY_LISTEN"],
        "internal_port": values["GATEWAY_INTERNAL_PORT"],
        "internal_listen": values["GATEWAY_INTERNAL_LISTEN"],
        "rate": values["GATEWAY_RATE"],
        "burst": values["GATEWAY_BURST"],
        "connect_timeout": values["GATEWAY_CONNECT_TIMEOUT"],
        "read_timeout": values["GATEWAY_READ_TIMEOUT"],
        "worker_connections": values["GATEWAY_WORKER_CONNECTIONS"],
        "real_ip_from": values["GATEWAY_REAL_IP_FROM"],
        "static_root": values["GATEWAY_STATIC_ROOT"] or None,
        "user": values["GATEWAY_USER"] or None,
        "access_log": values["GATEWAY_ACCESS_LOG"] or None,
        "error_log": values["GATEWAY_ERROR_LOG"] or None,
        "upstreams": {n: values[f"{s.env_prefix}UPSTREAM"] for n, s in SERVICES.items()},
        "max_bodies": {n: values[f"{s.env_prefix}MAX_BODY_BYTES"] for n, s in SERVICES.items()},
        "files_dirs": _files_dirs(environ),
    }


def _address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _default_user(user: str | None) -> str:
    """Started by root, nginx would hand its workers to `nobody`, who cannot write out_dir."""
    if user:
        return f"user {user};"
    if os.geteuid() == 0:
        return f"user {pwd.getpwuid(0).pw_name};"
    return ""


def render(out_dir: Path, *, port: int = 8000, internal_port: int = 8100,
           listen: str = "127.0.0.1", internal_listen: str = "127.0.0.1",
           upstreams: Mapping[str, str] | None = None,
           max_bodies: Mapping[str, int] | None = None,
           files_dirs: Mapping[str, str] | None = None, static_root: Path | str | None = None,
           rate: str = DEFAULT_RATE, burst: int = DEFAULT_BURST, connect_timeout: str = "2s",
           read_timeout: str = "30s", worker_connections: int = 4096, user: str | None = None,
           access_log: str | None = None, error_log: str | None = None,
           real_ip_from: Iterable[str] = (), copy_static: bool = False) -> Path:
    """Write out_dir/nginx.conf (and its temp directories); return the config's path."""
    out_dir = Path(out_dir).resolve()
    upstreams, real_ip_from = dict(upstreams or {}), tuple(real_ip_from)
    max_bodies = {n: s.max_body for n, s in SERVICES.items()} | dict(max_bodies or {})
    files_dirs = {n: s.files.default_directory for n, s in SERVICES.items() if s.files} | dict(
        files_dirs or {})
    unknown = (set(upstreams) | set(max_bodies) | set(files_dirs)) - set(SERVICES)
    if unknown:
        raise ValueError(f"unknown services: {', '.join(sorted(unknown))}")
    checks = [("rate", rate, _rate), ("connect_timeout", connect_timeout, _duration),
              ("read_timeout", read_timeout, _duration), ("port", str(port), PORT),
              ("internal_port", str(internal_port), PORT),
              *((f"upstreams[{n}]", a, _host_port) for n, a in upstreams.items()),
              *((f"max_bodies[{n}]", str(b), BODY_BYTES) for n, b in max_bodies.items()),
              *((f"files_dirs[{n}]", d, _directory) for n, d in files_dirs.items()),
              *(("real_ip_from", n, _networks) for n in real_ip_from)]
    for name, value, check in checks:
        try:
            check(value)
        except ValueError as exc:
            raise ValueError(f"{name}={value!r} is invalid: {exc}") from None
    for sub in TEMP_DIRS:
        (out_dir / "tmp" / sub).mkdir(parents=True, exist_ok=True)
    static = Path(static_root or STATIC_ROOT).resolve()
    if copy_static:
        shutil.copytree(static, out_dir / "static", dirs_exist_ok=True)
        static = out_dir / "static"
    addresses = {n: upstreams.get(n, f"127.0.0.1:{s.port}") for n, s in SERVICES.items()}
    conf = _Template(TEMPLATE.read_text()).substitute(
        out_dir=out_dir,
        user_directive=_default_user(user),
        real_ip=blocks.real_ip(real_ip_from),
        rlimit_nofile=2 * worker_connections + 64,
        worker_connections=worker_connections,
        error_log=error_log or out_dir / "error.log",
        access_log=access_log or out_dir / "access.log",
        request_id_pattern=VALID_REQUEST_ID.pattern,
        rate=rate,
        # nginx refuses burst=0; without a burst every request over the rate is refused.
        burst=f" burst={int(burst)} nodelay" if burst else "",
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        upstreams="".join(blocks.upstream(n, a) for n, a in addresses.items()),
        public_listen=_address(listen, port),
        internal_listen=_address(internal_listen, internal_port),
        problem_pages=blocks.problem_pages(),
        gateway_health=blocks.GATEWAY_HEALTH,
        services_json=json.dumps({"services": list(SERVICES)}),
        public_services=_services(max_bodies, files_dirs, internal=False),
        internal_services=_services(max_bodies, files_dirs, internal=True),
        static_root=static,
    )
    path = out_dir / "nginx.conf"
    path.write_text(conf)
    return path


def _services(max_bodies: Mapping[str, int], files_dirs: Mapping[str, str],
              internal: bool) -> str:
    """Every service's locations on one listener, with the files nginx sends for it."""
    return "".join(
        blocks.service_locations(n, max_bodies[n], s.stream_bodies, internal=internal)
        + (blocks.served_files(s.files.location, files_dirs[n]) if s.files else "")
        for n, s in SERVICES.items())


def main(argv: list[str] | None = None) -> int:
    """`python -m gateway.render --out DIR`: render from the environment, print the path."""
    parser = argparse.ArgumentParser(prog="python -m gateway.render", description=__doc__)
    parser.add_argument("--out", required=True, type=Path, help="directory to render into")
    parser.add_argument("--copy-static", action="store_true",
                        help="copy the static files into OUT/static and serve them from there")
    args = parser.parse_args(argv)
    try:
        path = render(args.out, **env_options(), copy_static=args.copy_static)
    except (ConfigError, ValueError) as exc:
        print(f"gateway.render: {exc}", file=sys.stderr)
        return 2
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())

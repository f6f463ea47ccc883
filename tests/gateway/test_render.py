"""The rendered nginx.conf: nginx accepts it, and the renderer reads its environment."""

import os
import subprocess
import sys

import pytest

from gateway.render import env_options, render
from services import SERVICES
from shared.config import ROOT, ConfigError
from tests.support.servers import require_nginx


def nginx_test(conf) -> subprocess.CompletedProcess:
    binary = require_nginx()
    out_dir = conf.parent
    return subprocess.run([binary, "-t", "-p", str(out_dir), "-c", str(conf)],
                          capture_output=True, text=True, timeout=30)


def clean_env(**extra) -> dict[str, str]:
    """The environment without a developer's GATEWAY_* or *_UPSTREAM variables."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("GATEWAY_") and not k.endswith("_UPSTREAM")}
    return {**env, **extra}


def test_default_config_passes_nginx_t(tmp_path):
    conf = render(tmp_path / "gw")
    result = nginx_test(conf)
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr


def test_custom_config_passes_nginx_t_and_keeps_everything_in_out_dir(tmp_path):
    out = tmp_path / "gw"
    conf = render(out, port=18080, internal_port=18180, listen="127.0.0.1",
                  upstreams={"notifications": "127.0.0.1:18081"}, rate="5r/m", burst=3,
                  real_ip_from=["10.0.0.0/8"])
    text = conf.read_text()
    result = nginx_test(conf)
    assert result.returncode == 0, result.stderr
    assert "listen 127.0.0.1:18080;" in text
    assert "listen 127.0.0.1:18180;" in text
    assert "server 127.0.0.1:18081;" in text
    assert "rate=5r/m" in text and "burst=3 nodelay" in text
    assert "set_real_ip_from 10.0.0.0/8;" in text
    for directive in ("pid", "error_log", "client_body_temp_path", "proxy_temp_path",
                      "fastcgi_temp_path", "uwsgi_temp_path", "scgi_temp_path"):
        line = next(x for x in text.splitlines() if x.strip().startswith(directive + " "))
        assert str(out.resolve()) in line, line
    for sub in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        assert (out / "tmp" / sub).is_dir()


def test_every_service_is_routed_with_its_body_limit(tmp_path):
    text = render(tmp_path / "gw").read_text()
    public, internal = text.split("# Internal listener")
    for name, info in SERVICES.items():
        for location in (f"location ^~ /api/{name}/ {{", f"location = /api/{name} {{",
                         f"location ^~ /health/{name}/ {{"):
            assert location in public and location in internal
        block = public.split(f"location ^~ /api/{name}/ {{", 1)[1].split("}", 1)[0]
        assert f"client_max_body_size {info.max_body};" in block
        # Internal APIs only on the internal listener.
        assert f"/internal/{name}/" in internal and f"/internal/{name}/" not in public
        assert f"upstream cohort_{name} {{" in text
    assert "limit_req zone=api" in public and "limit_req zone=api" not in internal


SERVED = {name: info.files for name, info in SERVICES.items() if info.files}


def test_served_files_get_an_internal_location_on_both_listeners(tmp_path):
    directories = {name: f"/srv/{name} files" for name in SERVED}
    conf = render(tmp_path / "gw", files_dirs=directories)
    assert nginx_test(conf).returncode == 0
    public, internal = conf.read_text().split("# Internal listener")
    for name, files in SERVED.items():
        for listener in (public, internal):
            block = listener.split(f"location ^~ {files.location} {{", 1)[1].split("}", 1)[0]
            assert "internal;" in block
            assert f'alias "/srv/{name} files/";' in block
            assert "add_header X-Content-Type-Options nosniff always;" in block
    with pytest.raises(ValueError, match="files_dirs"):
        render(tmp_path / "gw", files_dirs={name: "relative" for name in SERVED})


def test_the_files_directory_is_read_as_the_service_reads_it():
    for name, files in SERVED.items():
        prefixed = SERVICES[name].env_prefix + files.setting
        assert env_options({})["files_dirs"][name] == files.default_directory
        assert env_options({files.setting: "/srv/a"})["files_dirs"][name] == "/srv/a"
        both = env_options({files.setting: "/srv/a", prefixed: "/srv/b"})
        assert both["files_dirs"][name] == "/srv/b"
        for bad in ("relative/dir", '/with"quote', "/with$variable", "/new\nline"):
            with pytest.raises(ConfigError, match=files.setting):
                env_options({files.setting: bad})


def test_copy_static_serves_a_copy(tmp_path):
    out = tmp_path / "gw"
    text = render(out, copy_static=True).read_text()
    assert (out / "static" / "index.html").is_file()
    assert f"root {out.resolve() / 'static'};" in text


def test_bad_arguments_are_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown services"):
        render(tmp_path, upstreams={"nope": "127.0.0.1:1"})
    with pytest.raises(ValueError, match="rate='fast'"):
        render(tmp_path, rate="fast")
    with pytest.raises(ValueError, match=r"upstreams\[notifications\]"):
        render(tmp_path, upstreams={"notifications": "no-port"})


def test_env_options_defaults():
    options = env_options({})
    assert options["port"] == 8000 and options["internal_port"] == 8100
    assert options["listen"] == "127.0.0.1" and options["internal_listen"] == "127.0.0.1"
    assert options["upstreams"] == {n: f"127.0.0.1:{s.port}" for n, s in SERVICES.items()}
    assert options["static_root"] is None and options["real_ip_from"] == ()


def test_env_options_reads_every_variable():
    options = env_options({
        "GATEWAY_PORT": "9000", "GATEWAY_INTERNAL_PORT": "9100", "GATEWAY_LISTEN": "0.0.0.0",
        "GATEWAY_RATE": "10r/s", "GATEWAY_BURST": "7", "NOTIFICATIONS_UPSTREAM": "svc:8001",
        "GATEWAY_REAL_IP_FROM": "10.0.0.0/8, 172.16.0.0/12", "GATEWAY_STATIC_ROOT": "/srv/spa",
    })
    assert (options["port"], options["internal_port"], options["listen"]) == (9000, 9100,
                                                                             "0.0.0.0")
    assert (options["rate"], options["burst"]) == ("10r/s", 7)
    assert options["upstreams"]["notifications"] == "svc:8001"
    assert options["real_ip_from"] == ("10.0.0.0/8", "172.16.0.0/12")
    assert options["static_root"] == "/srv/spa"


@pytest.mark.parametrize(("name", "value"), [
    ("GATEWAY_PORT", "eighty"), ("GATEWAY_PORT", "70000"), ("GATEWAY_RATE", "5"),
    ("GATEWAY_BURST", "-1"), ("NOTIFICATIONS_UPSTREAM", "localhost"),
    ("GATEWAY_REAL_IP_FROM", "not-a-network"), ("GATEWAY_READ_TIMEOUT", "soon"),
])
def test_a_bad_variable_is_named(name, value):
    with pytest.raises(ConfigError, match=name):
        env_options({name: value})


def test_cli_renders_from_the_environment(tmp_path):
    out = tmp_path / "gw"
    result = subprocess.run(
        [sys.executable, "-m", "gateway.render", "--out", str(out)], cwd=ROOT,
        env=clean_env(GATEWAY_PORT="18555", NOTIFICATIONS_UPSTREAM="127.0.0.1:18556"),
        capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(out.resolve() / "nginx.conf")
    text = (out / "nginx.conf").read_text()
    assert "listen 127.0.0.1:18555;" in text and "server 127.0.0.1:18556;" in text


def test_cli_names_a_bad_variable(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "gateway.render", "--out", str(tmp_path)], cwd=ROOT,
        env=clean_env(GATEWAY_INTERNAL_PORT="0"), capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "GATEWAY_INTERNAL_PORT" in result.stderr
    assert not (tmp_path / "nginx.conf").exists()

"""Configuration: embedded defaults, validation naming the variable, production rules."""

import subprocess
import sys

import pytest

from shared.config import DEV_JWT_SECRET, ROOT, ConfigError, common_settings, load_settings
from tests.shared import service_app
from tests.support.servers import closed_port

PRODUCTION = {
    "COHORT_ENV": "production",
    "DATABASE_URL": "postgresql://cohort@127.0.0.1:5432/cohort",
    "CACHE_URL": "redis://127.0.0.1:6379/0",
    "SERVICE_TOKEN": "a-real-service-token",
    "JWT_SECRET": "a-real-jwt-secret",
}


def test_defaults_are_the_embedded_ones():
    values = load_settings(common_settings("probe"), {})
    assert values["COHORT_ENV"] == "development"
    assert values["DATABASE_URL"].startswith("sqlite:///")
    assert values["DATABASE_URL"].endswith("/var/probe.db")
    assert values["CACHE_URL"] == "memory://"
    assert values["CACHE_SOCKET_TIMEOUT"] == 0.1
    assert values["HTTP_RETRIES"] == 2
    assert values["MAX_BODY_BYTES"] == 1 << 20
    assert values["JWT_PUBLIC_KEY"] == ""


def test_app_without_environment_runs_on_the_embedded_defaults():
    app = service_app.create_app()
    assert app.config["DATABASE_URL"].endswith("probe.db")
    assert app.extensions["cohort.cache"].kind == "memory"
    assert app.config["MAX_CONTENT_LENGTH"] == app.config["MAX_BODY_BYTES"]


@pytest.mark.parametrize(("name", "raw"), [
    ("CACHE_SOCKET_TIMEOUT", "abc"),
    ("CACHE_SOCKET_TIMEOUT", "0"),
    ("CACHE_SOCKET_TIMEOUT", "nan"),
    ("HTTP_READ_TIMEOUT", "NaN"),
    ("HTTP_CONNECT_TIMEOUT", "inf"),
    ("DATABASE_URL", "mysql://x"),
    ("DATABASE_URL", "not a url"),
    ("CACHE_URL", "memcached://127.0.0.1:11211"),
    ("HTTP_RETRIES", "99"),
    ("HTTP_RETRIES", "1.5"),
    ("MAX_BODY_BYTES", "-1"),
    ("LOG_LEVEL", "LOUD"),
    ("COHORT_ENV", "staging"),
    ("JWT_PUBLIC_KEY", "/no/such/key.pem"),
    ("JWT_PUBLIC_KEY", "-----BEGIN PUBLIC KEY-----\nZ2FyYmFnZQ==\n-----END PUBLIC KEY-----\n"),
])
def test_bad_value_raises_config_error_naming_the_variable(name, raw):
    with pytest.raises(ConfigError, match=rf"^{name}\b.* is invalid"):
        load_settings(common_settings("probe"), {name: raw})


def test_bad_environment_variable_stops_the_app(monkeypatch):
    monkeypatch.setenv("HTTP_RETRIES", "99")
    with pytest.raises(ConfigError, match="HTTP_RETRIES"):
        service_app.create_app()


@pytest.mark.filterwarnings("ignore:Flask-Caching")
def test_string_overrides_are_validated_like_the_environment():
    with pytest.raises(ConfigError, match="CACHE_SOCKET_TIMEOUT"):
        service_app.create_app({"CACHE_SOCKET_TIMEOUT": "abc"})
    app = service_app.create_app({"HTTP_RETRIES": "4", "CACHE_URL": "null://"})
    assert app.config["HTTP_RETRIES"] == 4
    assert app.extensions["cohort.cache"].kind == "null"


def test_service_settings_are_validated_too():
    from services.notifications import create_app

    with pytest.raises(ConfigError, match="NOTIFICATION_CACHE_TTL"):
        create_app({"NOTIFICATION_CACHE_TTL": "0"})


def test_production_with_everything_set_starts():
    values = load_settings(common_settings("probe"), PRODUCTION)
    assert values["DATABASE_URL"] == PRODUCTION["DATABASE_URL"]


@pytest.mark.parametrize("missing", ["DATABASE_URL", "SERVICE_TOKEN"])
def test_production_requires_its_settings(missing):
    environ = {k: v for k, v in PRODUCTION.items() if k != missing}
    with pytest.raises(ConfigError, match=f"^{missing} is required in production"):
        load_settings(common_settings("probe"), environ)


@pytest.mark.parametrize("cache_url", ["memory://", None])
def test_production_refuses_a_per_process_cache(cache_url):
    environ = {**PRODUCTION, "CACHE_URL": cache_url} if cache_url else {
        k: v for k, v in PRODUCTION.items() if k != "CACHE_URL"}
    with pytest.raises(ConfigError, match=r"^CACHE_URL=memory://"):
        load_settings(common_settings("probe"), environ)
    assert load_settings(common_settings("probe"), {**PRODUCTION, "CACHE_URL": "null://"})


def test_several_gunicorn_workers_refuse_a_per_process_cache():
    with pytest.raises(ConfigError, match=r"^CACHE_URL=memory://.*several workers"):
        load_settings(common_settings("probe"), {"GUNICORN_WORKERS": "3"})
    for environ in ({"GUNICORN_WORKERS": "1"}, {"GUNICORN_WORKERS": "3", "CACHE_URL": "null://"}):
        assert load_settings(common_settings("probe"), environ)


def test_production_requires_a_jwt_secret_or_public_key():
    environ = {k: v for k, v in PRODUCTION.items() if k != "JWT_SECRET"}
    with pytest.raises(ConfigError, match="JWT_SECRET"):
        load_settings(common_settings("probe"), environ)
    with pytest.raises(ConfigError, match="JWT_SECRET"):
        load_settings(common_settings("probe"), {**environ, "JWT_SECRET": DEV_JWT_SECRET})


def test_production_accepts_a_public_key_instead_of_a_secret(rsa_keys):
    environ = {k: v for k, v in PRODUCTION.items() if k != "JWT_SECRET"}
    values = load_settings(common_settings("probe"), {**environ, "JWT_PUBLIC_KEY": rsa_keys[1]})
    assert "BEGIN PUBLIC KEY" in values["JWT_PUBLIC_KEY"]


def test_public_key_may_be_a_file_path(rsa_keys, tmp_path):
    path = tmp_path / "jwt.pub"
    path.write_text(rsa_keys[1])
    values = load_settings(common_settings("probe"), {"JWT_PUBLIC_KEY": str(path)})
    assert values["JWT_PUBLIC_KEY"] == rsa_keys[1]


def test_public_key_must_be_a_public_key(rsa_keys, tmp_path):
    """The usual slip, the private key where the public one goes, stops the start."""
    with pytest.raises(ConfigError, match=r"^JWT_PUBLIC_KEY is invalid") as caught:
        load_settings(common_settings("probe"), {"JWT_PUBLIC_KEY": rsa_keys[0]})
    assert "PRIVATE" not in str(caught.value)
    path = tmp_path / "garbled.pem"
    path.write_text("-----BEGIN PUBLIC KEY-----\nnot base64\n-----END PUBLIC KEY-----\n")
    with pytest.raises(ConfigError, match=r"^JWT_PUBLIC_KEY is invalid"):
        load_settings(common_settings("probe"), {"JWT_PUBLIC_KEY": str(path)})


@pytest.mark.parametrize(("name", "raw"), [
    ("DATABASE_URL", "mysql://cohort:hunter2@db/cohort"),
    ("CACHE_URL", "memcached://:hunter2@cache:11211"),
])
def test_errors_do_not_echo_passwords(name, raw):
    with pytest.raises(ConfigError, match=rf"^{name} is invalid") as caught:
        load_settings(common_settings("probe"), {name: raw})
    assert "hunter2" not in str(caught.value)


def test_errors_show_the_bad_value_when_it_is_no_secret():
    with pytest.raises(ConfigError, match=r"^HTTP_RETRIES='99' is invalid"):
        load_settings(common_settings("probe"), {"HTTP_RETRIES": "99"})


def test_production_without_database_url_stops_a_real_start(tmp_path):
    """gunicorn, started as an operator would, exits and names the missing variable."""
    env = {"PATH": "/usr/bin:/bin", "COHORT_ENV": "production", "SERVICE_TOKEN": "t",
           "JWT_SECRET": "s", "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-m", "gunicorn", "--workers", "1",
         "--bind", f"127.0.0.1:{closed_port()}", "tests.shared.service_app:create_app()"],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode != 0
    assert "DATABASE_URL is required in production" in result.stderr


@pytest.mark.parametrize("name", ["USE_NOTIFICATION_CACHE", "CACHE_RETRY_AFTER"])
def test_overrides_of_settings_and_flags_must_be_strings(name):
    with pytest.raises(TypeError, match=f"^{name} is read like the environment"):
        service_app.create_app({name: True})

"""`cohort mint-token`, `migrate` and `seed`, through click's runner on real databases."""

from datetime import timedelta
from pathlib import Path

import jwt
import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import create_engine, func, inspect, select

from cohort.cli import cohort
from cohort.operations import build_apps, seed_apps
from services import SERVICES
from services.notifications.models import Notification
from shared.auth import TokenVerifier
from shared.config import common_settings, load_settings
from shared.db import sqlalchemy_url, utcnow
from shared.demo import DEMO_ADMIN_ID
from tests.support.databases import temporary_database

SECRET = "a-test-secret-long-enough-for-hs256-keys"


def invoke(*args, env=None):
    result = CliRunner().invoke(cohort, list(args), env=env)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result


# --- mint-token -------------------------------------------------------------------------

def test_mint_token_is_signed_with_the_environments_secret():
    result = invoke("mint-token", "--user", "7", "--role", "mentor", "--cohort", "3",
                    "--ttl", "120", env={"JWT_SECRET": SECRET})
    assert result.exit_code == 0, result.output
    token = result.output.strip()
    claims = jwt.decode(token, SECRET, algorithms=["HS256"])
    assert (claims["sub"], claims["role"], claims["cohort_id"]) == ("7", "mentor", 3)
    assert claims["exp"] - claims["iat"] == 120

    config = load_settings(common_settings("any"), {"JWT_SECRET": SECRET})
    principal = TokenVerifier(config).principal(token)
    assert (principal.user_id, principal.role, principal.cohort_id) == (7, "mentor", 3)
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(token, SECRET + "-other", algorithms=["HS256"])


def test_mint_token_verbose_goes_to_stderr():
    result = CliRunner().invoke(cohort, ["mint-token", "--user", "1", "--role", "admin",
                                         "--verbose"])
    assert result.exit_code == 0
    assert "role admin" in result.stderr
    assert result.stdout.count(".") == 2  # only the token on stdout


def test_mint_token_with_an_rs256_key(tmp_path):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = tmp_path / "private.pem"
    private.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                          serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()

    refused = invoke("mint-token", "--user", "1", "--role", "student",
                     env={"JWT_PUBLIC_KEY": public})
    assert refused.exit_code == 1
    assert "--private-key" in refused.output

    result = invoke("mint-token", "--user", "1", "--role", "student",
                    "--private-key", str(private), env={"JWT_PUBLIC_KEY": public})
    assert result.exit_code == 0, result.output
    assert jwt.decode(result.output.strip(), public, algorithms=["RS256"])["sub"] == "1"


@pytest.mark.parametrize("args", [["--role", "student"], ["--user", "1", "--role", "owner"],
                                  ["--user", "0", "--role", "student"]])
def test_mint_token_refuses_bad_arguments(args):
    result = invoke("mint-token", *args)
    assert result.exit_code == 2


def test_mint_token_names_a_bad_setting():
    result = invoke("mint-token", "--user", "1", "--role", "student",
                    env={"COHORT_ENV": "production"})
    assert result.exit_code == 1
    assert "required in production" in result.output


# --- migrate and seed, on each backend ------------------------------------------------

@pytest.fixture
def database(backend, tmp_path_factory):
    """An empty database of the backend, given to every service's commands (each keeps its
    own tables and version table in it), and a directory for the files a service keeps."""
    with temporary_database(backend, tmp_path_factory, "cli") as url:
        engine = create_engine(sqlalchemy_url(url))
        files = tmp_path_factory.mktemp("files")
        env = {**{f"{name.upper()}_DATABASE_URL": url for name in SERVICES},
               **{info.files.setting: str(files / name) for name, info in SERVICES.items()
                  if info.files}}
        yield url, env, engine
        engine.dispose()


def lines(result) -> list[str]:
    """The command's output lines: each service reports on its own line."""
    return result.output.strip().splitlines()


def row_count(engine, *where) -> int:
    with engine.connect() as conn:
        return conn.scalar(select(func.count()).select_from(Notification).where(*where))


def test_migrate_dry_run_then_migrate_twice(database):
    url, env, engine = database
    dry = invoke("migrate", "--dry-run", env=env)
    assert dry.exit_code == 0, dry.output
    assert "notifications: would upgrade empty -> 0002" in dry.output
    if url.startswith("sqlite"):
        assert not Path(engine.url.database).exists()
    else:
        assert not inspect(engine).get_table_names()

    first = invoke("migrate", "--verbose", env=env)
    assert "notifications: upgraded empty -> 0002" in first.output
    tables = set(inspect(engine).get_table_names())
    assert {"notifications", "alembic_version_notifications"} <= tables
    second = invoke("migrate", env=env)
    assert second.exit_code == 0
    assert "notifications: up to date (0002)" in second.output


def test_seed_counts_idempotence_dry_run_and_reset(database):
    _, env, engine = database
    assert invoke("migrate", env=env).exit_code == 0
    args = ["seed", "--students", "40", "--notifications-per-student", "3"]

    dry = invoke(*args, "--dry-run", env=env)
    assert "notifications: would create 123" in dry.output  # 40 students and the admin
    assert row_count(engine) == 0

    first = invoke(*args, "--verbose", env=env)
    assert "notifications: created 123" in first.output, first.output
    assert row_count(engine) == 123
    again = invoke(*args, env=env)
    assert "notifications: created 0" in again.output
    assert "notifications: would create 0" in lines(invoke(*args, "--dry-run", env=env))
    assert row_count(engine) == 123

    reset_dry = invoke(*args, "--reset", "--dry-run", env=env)
    assert "would create 123, would delete 123" in reset_dry.output
    assert row_count(engine) == 123
    reset = invoke("seed", "--students", "10", "--notifications-per-student", "2", "--reset",
                   env=env)
    assert "created 22, deleted 123" in reset.output
    assert row_count(engine) == 22


def test_seeded_notifications_look_real(database):
    _, env, engine = database
    invoke("migrate", env=env)
    invoke("seed", "--students", "30", "--notifications-per-student", "6", env=env)
    with engine.connect() as conn:
        users = conn.scalars(select(Notification.user_id).distinct()).all()
        unread_users = conn.scalars(select(Notification.user_id).distinct()
                                    .where(Notification.read_at.is_(None))).all()
        kinds = set(conn.scalars(select(Notification.kind).distinct()))
        categories = set(conn.scalars(select(Notification.category).distinct()))
        oldest = conn.scalar(select(func.min(Notification.created_at)))
        read = row_count(engine, Notification.read_at.is_not(None))
        bad_read = row_count(engine, Notification.read_at < Notification.created_at)
    assert sorted(users) == [*range(1, 31), DEMO_ADMIN_ID]
    assert sorted(unread_users) == sorted(users)  # the newest of each is unread
    assert kinds == {"dashboard", "profile"}
    assert {"review", "streak", "season", "system"} <= categories
    assert 0 < read < 31 * 6
    assert bad_read == 0
    assert oldest >= utcnow() - timedelta(days=30, minutes=5)


def test_the_flask_command_seeds_the_same_way(database):
    url, env, engine = database
    invoke("migrate", env=env)
    app = build_apps(["notifications"], DATABASE_URL=url)["notifications"]
    runner = app.test_cli_runner()
    dry = runner.invoke(args=["seed-demo", "--students", "5", "--per-student", "2", "--dry-run"])
    assert dry.output.strip() == "notifications: would create 12"
    assert row_count(engine) == 0
    result = runner.invoke(args=["seed-demo", "--students", "5", "--per-student", "2"])
    assert result.output.strip() == "notifications: created 12"
    assert runner.invoke(args=["seed-demo", "--students", "5", "--per-student", "2"]
                         ).output.strip() == "notifications: created 0"
    with app.app_context():
        app.extensions["sqlalchemy"].engine.dispose()


def test_up_seeds_only_an_empty_database(database, capsys):
    _, env, engine = database
    invoke("migrate", env=env)
    apps = build_apps(**env)
    with engine.begin() as conn:
        conn.execute(Notification.__table__.insert(), {
            "user_id": 5, "kind": "profile", "category": "system", "title": "A real one",
            "body": "", "link": "", "created_at": utcnow()})
    seed_apps(apps, 10, only_empty=True)
    assert "notifications: has data already; not seeded" in capsys.readouterr().out
    assert row_count(engine) == 1
    for app in apps.values():
        with app.app_context():
            app.extensions["sqlalchemy"].engine.dispose()

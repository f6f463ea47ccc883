"""A throw-away service for the tests that show one registry entry is all a service needs.

It is built as a real one is (app factory, its own table and migrations, an api and an
internal blueprint, a seed), so adding it to the registry must bring it up everywhere.
"""

from pathlib import Path

from flask import Blueprint, Flask
from marshmallow import fields, validate
from sqlalchemy import String, func, insert, select
from sqlalchemy.orm import Mapped, mapped_column

from services import Check, ServiceInfo
from shared.api import ResponseSchema, body, responds
from shared.app import create_service_app
from shared.auth import service_required, user_required
from shared.db import BigId, make_db, register_db
from shared.schemas import BodySchema, Text

INFO = ServiceInfo(
    "throwaway", 8009, max_body=4096, module=__name__,
    checks=(Check("echo", f"{__name__}:always_ready", required=False),),
    try_lines=("curl -s {student} {base}/api/throwaway/echoes",),
)
db = make_db()


class Echo(db.Model):
    __tablename__ = "echoes"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    text: Mapped[str] = mapped_column(String(100), nullable=False)


class NewEcho(BodySchema):
    text = Text(required=True, validate=validate.Length(1, 100))


class EchoCount(ResponseSchema):
    echoes = fields.Integer(required=True)


api = Blueprint("throwaway", __name__, url_prefix="/api/throwaway")
internal = Blueprint("throwaway_internal", __name__, url_prefix="/internal/throwaway")


@api.get("/echoes")
@user_required
@responds(200, EchoCount)
def count():
    """How many echoes there are."""
    return _count()


@internal.post("/echoes")
@service_required
@body(NewEcho)
@responds(201, EchoCount)
def add(body):
    """Store an echo."""
    db.session.execute(insert(Echo).values(text=body["text"]))
    db.session.commit()
    return _count(), 201


def _count() -> dict:
    return {"echoes": db.session.scalar(select(func.count()).select_from(Echo))}


def always_ready() -> None:
    """A readiness check that passes."""


def create_app(config=None) -> Flask:
    app = create_service_app(INFO, __name__, (), config)
    register_db(app, db, str(Path(__file__).parent / "migrations"))
    app.register_blueprint(api)
    app.register_blueprint(internal)
    return app

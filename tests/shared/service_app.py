"""A small service built on shared/ the way a real one is, for the shared package's tests.

gunicorn loads it too (`tests.shared.service_app:create_app()`), configured from the
environment like any service.
"""

import os
import time
from pathlib import Path

from flask import Blueprint, Flask, current_app, request
from marshmallow import Schema, fields, validate
from sqlalchemy import String, func, select
from sqlalchemy.orm import Mapped, mapped_column
from werkzeug.exceptions import TooManyRequests

from services import ServiceInfo
from shared.app import create_service_app
from shared.auth import current_principal, roles_required, service_required, user_required
from shared.coherent import cache_state_table, register_coherent_cache
from shared.config import Setting, text
from shared.db import BigId, make_db, register_db
from shared.http import service_client
from shared.metrics import count_cache
from shared.pagination import decode_cursor
from shared.web import json_body

NAME = "probe"
INFO = ServiceInfo(NAME, 8099, module=__name__, seeded=False)
CURSOR_SECRET = "probe-cursor-secret"

db = make_db()


class Item(db.Model):
    __tablename__ = "items"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(50))


class NewItem(Schema):
    name = fields.String(required=True, validate=validate.Length(1, 50))
    size = fields.Integer(validate=validate.Range(0, 10))


cache_state = cache_state_table(db.metadata, NAME)


api = Blueprint("items", __name__, url_prefix="/api/probe")
internal = Blueprint("items_internal", __name__, url_prefix="/internal/probe")


@api.get("/items")
@user_required
def list_items():
    names = db.session.scalars(select(Item.name).order_by(Item.id)).all()
    return {"items": names, "count": db.session.scalar(select(func.count(Item.id)))}


@api.post("/items")
@user_required
def add_item():
    item = Item(name=json_body(NewItem())["name"])
    db.session.add(item)
    db.session.commit()
    return {"id": item.id}, 201


@api.get("/me")
@user_required
def me():
    p = current_principal()
    return {"user_id": p.user_id, "role": p.role, "cohort_id": p.cohort_id}


@api.get("/staff")
@roles_required("mentor", "admin")
def staff():
    return {"ok": True}


@api.get("/limited")
def limited():
    raise TooManyRequests(retry_after=7)


@api.get("/boom")
def boom():
    raise RuntimeError("database password is hunter2")


@api.get("/cursor")
def cursor():
    return {"values": decode_cursor(request.args.get("cursor", ""), CURSOR_SECRET, 2)}


@api.get("/relay")
def relay():
    """Calls the upstream through the service client, and says what came back."""
    answer = service_client().get("/echo")
    return {"status": answer.status_code, "upstream": answer.json()}


@api.get("/cached/<key>")
def cached(key: str):
    cache = current_app.extensions["cohort.cache"]
    (value,) = cache.get_many(key)
    count_cache(current_app.name, "probe", "miss" if value is None else "hit")
    if value is None:
        cache.set(key, "stored", 30)
    return {"value": value}


@api.get("/coherent/<key>")
def coherent_get(key: str):
    """The item count, through the coherent cache under `key`."""
    cache = current_app.extensions["cohort.coherent"]
    looked = cache.lookup(key)
    if looked.value is not None:
        return {"count": looked.value, "cached": True}
    count = cache.fill(key, looked, lambda: db.session.scalar(select(func.count(Item.id))), 30)
    return {"count": count, "cached": False}


@api.post("/coherent/<key>")
def coherent_add(key: str):
    """Add an item, then invalidate `key`, as a write of a real service does."""
    db.session.add(Item(name="x"))
    db.session.commit()
    current_app.extensions["cohort.coherent"].invalidate([key])
    return {"count": db.session.scalar(select(func.count(Item.id)))}, 201


@api.get("/wait")
def wait():
    """Holds its worker until told to go (gunicorn tests pin other requests elsewhere)."""
    flag_dir = Path(current_app.config["PROBE_FLAG_DIR"])
    (flag_dir / f"waiting-{os.getpid()}").touch()
    deadline = time.monotonic() + 30
    while not (flag_dir / "go").exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    return {"pid": os.getpid()}


@internal.get("/ping")
@service_required
def internal_ping():
    return {"ok": True}


SETTINGS = [Setting("PROBE_FLAG_DIR", text, "", "folder of the /wait route's marker files")]


def create_app(config=None) -> Flask:
    app = create_service_app(INFO, __name__, SETTINGS, config)
    register_db(app, db, str(Path(__file__).parent / "migrations"))
    register_coherent_cache(app, db, cache_state)
    app.register_blueprint(api)
    app.register_blueprint(internal)
    return app

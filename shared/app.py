"""The parts of an app factory that every service shares."""

import os
from collections.abc import Iterable, Mapping

from flask import Flask
from werkzeug.exceptions import NotFound
from werkzeug.routing import IntegerConverter, ValidationError

from shared.api import register_openapi
from shared.auth import register_auth
from shared.cache import register_cache
from shared.config import Setting, common_settings, load_settings
from shared.errors import register_error_handlers
from shared.flags import FLAGS, load_flags
from shared.health import register_health
from shared.http import register_http_client
from shared.metrics import register_metrics
from shared.observability import configure_logging, register_observability
from shared.schemas import MAX_ID

VERSION = "0.1.0"


class BoundedIntConverter(IntegerConverter):
    """`<int:name>` limited to what a bigint holds: a larger number is a 404 instead of
    reaching the database as an out-of-range value.

    It is a 404 whatever the method: werkzeug would answer 405 when another method's rule
    matched the path before this converter refused the value.
    """

    def __init__(self, map, **kwargs):
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, **kwargs)

    def to_python(self, value: str) -> int:
        try:
            return super().to_python(value)
        except ValidationError:
            raise NotFound() from None


class IdConverter(BoundedIntConverter):
    """`<id:name>`: a positive id that fits a bigint."""

    regex = r"[1-9][0-9]*"

    def __init__(self, map, **kwargs):
        super().__init__(map, min=1, **kwargs)


def configure(app: Flask, info, settings: Iterable[Setting], overrides: Mapping | None) -> None:
    """Defaults, then the environment, then `overrides` (tests): all validated the same way.

    A string override is read exactly like an environment variable; any other value is put
    into the config as it is, except for a declared setting or flag, which must be a string
    (a `True` would otherwise skip the validation and leave the flag as it was).
    """
    overrides = dict(overrides or {})
    settings = [*common_settings(info.name, info.max_body), *settings]
    declared = {s.name for s in settings} | set(FLAGS)
    for name, value in overrides.items():
        if name in declared and not isinstance(value, str):
            raise TypeError(f"{name} is read like the environment: give it as a string")
    strings = {k: v for k, v in overrides.items() if isinstance(v, str)}
    # An override names the setting itself: it wins over a prefixed environment variable too.
    environ = {k: v for k, v in os.environ.items()
               if k.removeprefix(info.env_prefix) not in strings} | strings
    app.config.update(load_settings(settings, environ, info.env_prefix))
    app.config["FLAGS"] = load_flags(environ)
    app.config["VERSION"] = VERSION
    app.config["MAX_CONTENT_LENGTH"] = app.config["MAX_BODY_BYTES"]
    app.config.update({k: v for k, v in overrides.items() if not isinstance(v, str)})


def create_service_app(info, import_name: str, settings: Iterable[Setting] = (),
                       config: Mapping | None = None) -> Flask:
    """A Flask app for the registry entry `info`: config, logging, errors, auth, cache,
    health (with the entry's readiness checks), metrics and the OpenAPI document."""
    app = Flask(import_name, static_folder=None)
    app.name = info.name
    app.json.sort_keys = False
    app.url_map.strict_slashes = False  # /x and /x/ both answer; a redirect would drop a POST
    app.url_map.converters.update(id=IdConverter, int=BoundedIntConverter)
    configure(app, info, settings, config)
    configure_logging(app.config["LOG_LEVEL"])
    register_error_handlers(app)
    register_observability(app)
    register_auth(app)
    register_cache(app)
    register_http_client(app)
    register_health(app, info.checks)
    register_metrics(app)
    register_openapi(app)
    return app

"""HTTP routes of the gamification service: parse, call the service, dump."""

from flask import Blueprint

api = Blueprint("gamification", __name__, url_prefix="/api/gamification")
internal = Blueprint("gamification_internal", __name__, url_prefix="/internal/gamification")

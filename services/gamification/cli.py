"""Operator commands of the gamification service (cron-ready)."""

from flask import Flask


def register_commands(app: Flask) -> None:
    pass

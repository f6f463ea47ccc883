"""The services of Cohort Scale, and where each listens in the full topology."""

import importlib
from dataclasses import dataclass


@dataclass(frozen=True)
class ServiceInfo:
    name: str
    port: int
    max_body: str = "1m"  # the gateway's body limit for this service's routes

    @property
    def module(self) -> str:
        return f"services.{self.name}"

    def create_app(self, config=None):
        return importlib.import_module(self.module).create_app(config)


SERVICES = {s.name: s for s in (ServiceInfo("notifications", 8001),)}

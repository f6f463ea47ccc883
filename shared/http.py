"""The client services use to call each other: timeouts, safe retries, token, request id."""

import requests
from flask import Flask, current_app, g, has_request_context
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from shared.observability import REQUEST_ID_HEADER


class ServiceClient:
    """A pooled session to SERVICES_URL; retries only idempotent methods, with backoff."""

    def __init__(self, config: dict):
        self.base_url = config["SERVICES_URL"].rstrip("/")
        self.timeout = (config["HTTP_CONNECT_TIMEOUT"], config["HTTP_READ_TIMEOUT"])
        retry = Retry(
            total=config["HTTP_RETRIES"], backoff_factor=0.1,
            status_forcelist=(502, 503, 504),
            allowed_methods=frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"}),
            # urllib3 would sleep as long as Retry-After says (up to six hours), far past
            # the read timeout, holding the caller's request: our short backoff applies.
            raise_on_status=False, respect_retry_after_header=False,
        )
        self.session = self._session(config, retry)
        # urllib3 retries a failed connection whatever the method: a caller bounded by one
        # timeout (behind a breaker) uses this session, which never tries twice.
        self.once = self._session(config, Retry(total=0, raise_on_status=False))

    @staticmethod
    def _session(config: dict, retry: Retry) -> requests.Session:
        session = requests.Session()
        session.mount("http://", HTTPAdapter(max_retries=retry, pool_maxsize=20))
        session.mount("https://", HTTPAdapter(max_retries=retry, pool_maxsize=20))
        session.headers["Authorization"] = f"Bearer {config['SERVICE_TOKEN']}"
        return session

    def request(self, method: str, path: str, *, retry: bool = True,
                **kwargs) -> requests.Response:
        """`retry=False`: one attempt, connection errors included."""
        headers = kwargs.pop("headers", {})
        if has_request_context() and "request_id" in g:
            headers.setdefault(REQUEST_ID_HEADER, g.request_id)
        kwargs.setdefault("timeout", self.timeout)
        session = self.session if retry else self.once
        return session.request(method, self.base_url + path, headers=headers, **kwargs)

    def get(self, path: str, **kwargs) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs) -> requests.Response:
        return self.request("POST", path, **kwargs)


def register_http_client(app: Flask) -> None:
    app.extensions["cohort.http"] = ServiceClient(app.config)


def service_client() -> ServiceClient:
    return current_app.extensions["cohort.http"]

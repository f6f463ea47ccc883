"""JWT bearer auth for people, a shared token for services, and token minting."""

import hmac
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache, wraps

import jwt
from flask import Flask, current_app, g, request

from shared.errors import Problem

ROLES = ("student", "mentor", "admin")
SERVICE = "service"
LEEWAY_SECONDS = 30
TOKEN_CACHE_SIZE = 32768


def unauthorized(detail: str) -> Problem:
    return Problem(401, detail, headers={"WWW-Authenticate": "Bearer"})


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: a user id and role from the token's claims, or a service."""

    user_id: int | None
    role: str
    cohort_id: int | None = None
    expires_at: float = float("inf")

    @property
    def is_service(self) -> bool:
        return self.role == SERVICE


class TokenVerifier:
    """Verifies bearer tokens; a verified token is remembered until it expires."""

    def __init__(self, config: dict):
        if config["JWT_PUBLIC_KEY"]:
            self.key, self.algorithms = config["JWT_PUBLIC_KEY"], ["RS256"]
        else:
            self.key, self.algorithms = config["JWT_SECRET"], ["HS256"]
        self.service_token = config["SERVICE_TOKEN"].encode()
        # Signature checks cost more than the rest of a cached poll: verify each token once.
        # Room for the tokens of every user active in a poll interval (~500 bytes each).
        self._decode = lru_cache(maxsize=TOKEN_CACHE_SIZE)(self._decode_uncached)

    def principal(self, token: str) -> Principal:
        if hmac.compare_digest(token.encode(), self.service_token):
            return Principal(None, SERVICE)
        principal = self._decode(token)
        if principal.expires_at + LEEWAY_SECONDS < time.time():
            raise unauthorized("The token has expired.")
        return principal

    def user(self, token: str) -> Principal | None:
        """The signed-in user the token names; None for a service or any invalid token."""
        try:
            principal = self.principal(token)
        except Problem:
            return None
        return None if principal.is_service else principal

    def _decode_uncached(self, token: str) -> Principal:
        try:
            claims = jwt.decode(
                token, self.key, algorithms=self.algorithms, leeway=LEEWAY_SECONDS,
                options={"require": ["sub", "role", "exp"]},
            )
        except jwt.PyJWTError as exc:
            raise unauthorized(f"The token is not valid: {exc}.") from None
        role, sub, cohort = claims["role"], str(claims["sub"]), claims.get("cohort_id")
        if role not in ROLES:
            raise unauthorized(f"The token's role {role!r} is unknown.")
        if not _is_id(sub) or (cohort is not None and not _is_id(str(cohort))):
            raise unauthorized("The token's sub and cohort_id must be numeric ids.")
        return Principal(int(sub), role, None if cohort is None else int(cohort), claims["exp"])


def _is_id(value: str) -> bool:
    # ASCII only: str.isdigit() also takes "²", which int() then refuses.
    return value.isascii() and value.isdigit()


def register_auth(app: Flask) -> None:
    app.extensions["cohort.auth"] = TokenVerifier(app.config)


def bearer_token(header: str) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, or None."""
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        return None
    return token.strip()


def current_principal() -> Principal:
    """The caller of this request, verified once and kept on `g`."""
    principal = g.get("principal")
    if principal is None:
        token = bearer_token(request.headers.get("Authorization", ""))
        if token is None:
            raise unauthorized("Send an Authorization: Bearer <token> header.")
        principal = g.principal = current_app.extensions["cohort.auth"].principal(token)
    return principal


def _requires(check: Callable[[Principal], bool], detail: str):
    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not check(current_principal()):
                raise Problem(403, detail, title="Forbidden")
            return view(*args, **kwargs)

        return wrapped

    return decorator


user_required = _requires(lambda p: not p.is_service, "This endpoint is for signed-in users.")
service_required = _requires(lambda p: p.is_service, "This endpoint is for services only.")


def roles_required(*roles: str):
    return _requires(lambda p: p.role in roles, f"This needs one of the roles {', '.join(roles)}.")


def mint_token(config: dict, user_id: int, role: str, cohort_id: int | None = None,
               ttl: int = 3600, private_key: str | None = None) -> str:
    """A signed user token: HS256 with JWT_SECRET, or RS256 with `private_key`."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    now = int(time.time())
    claims = {"sub": str(user_id), "role": role, "iat": now, "exp": now + ttl}
    if cohort_id is not None:
        claims["cohort_id"] = cohort_id
    if private_key:
        return jwt.encode(claims, private_key, algorithm="RS256")
    return jwt.encode(claims, config["JWT_SECRET"], algorithm="HS256")

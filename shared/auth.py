"""JWT bearer auth for people, a shared token for services, and token minting."""

import hmac
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache, wraps

import jwt
from flask import Flask, current_app, g, request

from shared.api import describe
from shared.errors import Problem
from shared.schemas import MAX_ID

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
            raise unauthorized(_token_error(exc)) from None
        except Exception:  # a header or payload no JSON parser should meet (deep nesting)
            raise unauthorized(BAD_TOKEN) from None
        role, sub, cohort, exp = (claims["role"], claims["sub"], claims.get("cohort_id"),
                                  claims["exp"])
        if role not in ROLES:
            raise unauthorized(f"The token's role must be one of {', '.join(ROLES)}.")
        if not _is_id(sub) or (cohort is not None and not _is_id(str(cohort))):
            raise unauthorized("The token's sub must be a numeric user id as a string "
                               "(\"42\"), and its cohort_id a positive integer.")
        if isinstance(exp, bool) or not isinstance(exp, int | float):
            raise unauthorized("The token's exp must be a number (seconds since 1970).")
        return Principal(int(sub), role, None if cohort is None else int(cohort), exp)


BAD_TOKEN = "The token is not a valid JWT; mint a new one."


def _token_error(exc: jwt.PyJWTError) -> str:
    """What is wrong with a token, in words a client developer can act on."""
    if isinstance(exc, jwt.ExpiredSignatureError):
        return "The token has expired."
    if isinstance(exc, jwt.InvalidSignatureError):
        return "The token's signature does not match this service's key."
    if isinstance(exc, jwt.InvalidAlgorithmError):
        return "The token is signed with an algorithm this service does not accept."
    if isinstance(exc, jwt.MissingRequiredClaimError):
        return f"The token has no {exc.claim} claim."
    if isinstance(exc, jwt.ImmatureSignatureError):
        return "The token is not valid yet (its iat or nbf is in the future)."
    if isinstance(exc, jwt.exceptions.InvalidSubjectError):
        return "The token's sub must be a numeric user id as a string (\"42\")."
    if isinstance(exc, jwt.DecodeError) and "claim" in str(exc):
        return f"The token's claims are malformed: {exc}"
    return BAD_TOKEN


def _is_id(value: object) -> bool:
    """A positive id that fits a bigint, as a string of ASCII digits ("²" is a digit too)."""
    return (isinstance(value, str) and value.isascii() and value.isdigit()
            and 0 < int(value) <= MAX_ID)


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


def _requires(check: Callable[[Principal], bool], detail: str, auth: str):
    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not check(current_principal()):
                raise Problem(403, detail, title="Forbidden")
            return view(*args, **kwargs)

        return describe(wrapped, auth=auth)

    return decorator


user_required = _requires(lambda p: not p.is_service, "This endpoint is for signed-in users.",
                          "user")
service_required = _requires(lambda p: p.is_service, "This endpoint is for services only.",
                             "service")


def roles_required(*roles: str):
    return _requires(lambda p: p.role in roles,
                     f"This needs one of the roles {', '.join(roles)}.", "user")


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

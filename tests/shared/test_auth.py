"""Bearer auth: HS256 and RS256 user tokens, the service token, roles."""

import base64
import hashlib
import hmac
import json
import time

import jwt
import pytest

from shared.auth import mint_token
from shared.config import DEV_JWT_SECRET

PROBLEM_JSON = "application/problem+json"
OTHER_SECRET = "another-secret-long-enough-for-hs256-keys"


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def claims(**overrides) -> dict:
    now = int(time.time())
    return {"sub": "7", "role": "student", "iat": now, "exp": now + 600, **overrides}


def hs256_by_hand(payload: dict, key: bytes) -> str:
    """An HS256 token signed with any key (PyJWT refuses a PEM key as an HMAC secret)."""
    def part(raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    header = part(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    signing_input = f"{header}.{part(json.dumps(payload).encode())}"
    signature = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{part(signature)}"


def refused(response, status: int = 401) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM_JSON
    if status == 401:
        assert response.headers["WWW-Authenticate"] == "Bearer"
    return response.get_json(force=True)


def test_hs256_token_identifies_the_user(app, tokens):
    response = app.test_client().get("/api/probe/me", headers=tokens.user(7, "mentor",
                                                                           cohort_id=3))
    assert response.status_code == 200
    assert response.get_json() == {"user_id": 7, "role": "mentor", "cohort_id": 3}


@pytest.mark.parametrize("headers", [
    {},
    {"Authorization": ""},
    {"Authorization": "Bearer"},
    {"Authorization": "Bearer "},
    {"Authorization": "Basic dXNlcjpwYXNz"},
])
def test_no_token_is_401(app, headers):
    refused(app.test_client().get("/api/probe/me", headers=headers))


@pytest.mark.parametrize("token", [
    "garbage",
    "a.b.c",
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiI3In0",
    "é",
])
def test_garbled_token_is_401(app, token):
    refused(app.test_client().get("/api/probe/me", headers=bearer(token)))


def test_wrong_signature_is_401(app):
    token = jwt.encode(claims(), OTHER_SECRET, algorithm="HS256")
    assert "signature does not match" in refused(app.test_client().get("/api/probe/me",
                                                        headers=bearer(token)))["detail"]


def test_unsigned_token_is_401(app):
    token = jwt.encode(claims(), None, algorithm="none")
    refused(app.test_client().get("/api/probe/me", headers=bearer(token)))


def test_expired_token_is_401(app):
    token = mint_token(app.config, 7, "student", ttl=-120)
    refused(app.test_client().get("/api/probe/me", headers=bearer(token)))


def test_clock_skew_leeway_is_thirty_seconds(app):
    client = app.test_client()
    recent = jwt.encode(claims(exp=int(time.time()) - 20), DEV_JWT_SECRET, algorithm="HS256")
    assert client.get("/api/probe/me", headers=bearer(recent)).status_code == 200
    old = jwt.encode(claims(exp=int(time.time()) - 40), DEV_JWT_SECRET, algorithm="HS256")
    refused(client.get("/api/probe/me", headers=bearer(old)))


@pytest.mark.parametrize(("bad", "detail"), [
    ({"role": "teacher"}, "role"),
    ({"role": "service"}, "role"),
    ({"sub": "abc"}, "numeric"),
    ({"sub": "-1"}, "numeric"),
    ({"sub": "²"}, "numeric"),
    ({"sub": "٣"}, "numeric"),
    ({"sub": ""}, "numeric"),
    ({"cohort_id": "¹"}, "numeric"),
    ({"cohort_id": "x"}, "numeric"),
])
def test_bad_claims_are_401(app, bad, detail):
    token = jwt.encode(claims(**bad), DEV_JWT_SECRET, algorithm="HS256")
    body = refused(app.test_client().get("/api/probe/me", headers=bearer(token)))
    assert detail in body["detail"]


@pytest.mark.parametrize("missing", ["sub", "role", "exp"])
def test_missing_claim_is_401(app, missing):
    body = claims()
    del body[missing]
    token = jwt.encode(body, DEV_JWT_SECRET, algorithm="HS256")
    refused(app.test_client().get("/api/probe/me", headers=bearer(token)))


def test_mint_token_refuses_unknown_roles(app):
    with pytest.raises(ValueError, match="role"):
        mint_token(app.config, 1, "teacher")


def test_rs256_with_a_public_key(make_app, rsa_keys):
    private, public = rsa_keys
    app = make_app(JWT_PUBLIC_KEY=public)
    client = app.test_client()
    token = mint_token(app.config, 9, "admin", private_key=private)
    assert jwt.get_unverified_header(token)["alg"] == "RS256"
    response = client.get("/api/probe/me", headers=bearer(token))
    assert response.status_code == 200
    assert response.get_json()["user_id"] == 9
    # With RS256 configured, an HS256 token (even one signed with the secret) is refused,
    # and so is one that signs with the public key as an HMAC secret.
    refused(client.get("/api/probe/me", headers=bearer(mint_token(app.config, 9, "admin"))))
    forged = hs256_by_hand(claims(role="admin"), public.encode())
    refused(client.get("/api/probe/me", headers=bearer(forged)))


def test_hand_signed_token_is_accepted_with_the_right_secret(app):
    """The forging helper above makes real tokens: only the key makes them refused."""
    token = hs256_by_hand(claims(), DEV_JWT_SECRET.encode())
    assert app.test_client().get("/api/probe/me", headers=bearer(token)).status_code == 200


def test_rs256_token_from_another_key_is_refused(make_app, rsa_keys):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    other = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()).decode()
    app = make_app(JWT_PUBLIC_KEY=rsa_keys[1])
    token = mint_token(app.config, 9, "admin", private_key=other)
    refused(app.test_client().get("/api/probe/me", headers=bearer(token)))


def test_rs256_token_is_refused_where_hs256_is_configured(app, rsa_keys):
    token = mint_token(app.config, 9, "admin", private_key=rsa_keys[0])
    refused(app.test_client().get("/api/probe/me", headers=bearer(token)))


def test_service_token_only_on_service_routes(app, tokens):
    client = app.test_client()
    assert client.get("/internal/probe/ping", headers=tokens.service).status_code == 200
    refused(client.get("/api/probe/me", headers=tokens.service), 403)
    refused(client.get("/internal/probe/ping",
                       headers=bearer(app.config["SERVICE_TOKEN"] + "x")), 401)


@pytest.mark.parametrize("role", ["student", "mentor", "admin"])
def test_users_are_forbidden_on_service_routes(app, tokens, role):
    body = refused(app.test_client().get("/internal/probe/ping",
                                         headers=tokens.user(1, role)), 403)
    assert body["title"] == "Forbidden"


def test_internal_route_without_token_is_401(app):
    refused(app.test_client().get("/internal/probe/ping"))


@pytest.mark.parametrize(("role", "status"), [("student", 403), ("mentor", 200),
                                              ("admin", 200)])
def test_roles_required(app, tokens, role, status):
    response = app.test_client().get("/api/probe/staff", headers=tokens.user(1, role))
    assert response.status_code == status
    if status == 403:
        assert "mentor, admin" in refused(response, 403)["detail"]


def test_configured_secrets_are_used(make_app):
    app = make_app(JWT_SECRET=OTHER_SECRET, SERVICE_TOKEN="another-token")
    client = app.test_client()
    assert client.get("/internal/probe/ping", headers=bearer("another-token")).status_code == 200
    refused(client.get("/internal/probe/ping", headers=bearer("cohort-dev-service-token")))
    dev_token = jwt.encode(claims(), DEV_JWT_SECRET, algorithm="HS256")
    refused(client.get("/api/probe/me", headers=bearer(dev_token)))
    good = bearer(mint_token(app.config, 7, "student"))
    assert client.get("/api/probe/me", headers=good).status_code == 200

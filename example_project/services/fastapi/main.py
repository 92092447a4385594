"""A FastAPI service in the NextAuth mesh: ``GET /whoami`` for any holder of a valid session token.

The token is the one NextAuth (with HS256 jwt hooks) or the Django service issues; every
service verifies it with the same shared secret and the same rules:
HS256 only, ``exp`` required, ``sub`` a non-empty string, 15 s leeway, ``iss`` / ``aud``
exactly as configured (when ``NEXTAUTH_ISSUER`` / ``NEXTAUTH_AUDIENCE`` are set),
``NEXTAUTH_SECRET`` signs, ``NEXTAUTH_SECRET_PREVIOUS`` still verifies during a rotation.

Or, with ``NEXTAUTH_JWKS_URL`` instead of a secret (the mesh's asymmetric mode): tokens signed by
the issuer's private key (EdDSA, ES256 or RS256), verified with its JWKS through PyJWT's
``PyJWKClient``. The algorithm is the key's, not the token's; an unknown ``kid`` refetches the
JWKS at most once per 30 s. This service then holds nothing that could mint a token.

Run: ``NEXTAUTH_SECRET=... uvicorn main:app --port 8002``
or   ``NEXTAUTH_JWKS_URL=http://127.0.0.1:8000/.well-known/jwks.json uvicorn main:app --port 8002``
"""

from __future__ import annotations

import base64
import json
import os
import threading
import time
from typing import Annotated, Any

import jwt
from fastapi import Depends, FastAPI, Header, Request
from fastapi.responses import JSONResponse

SECRET = os.environ.get("NEXTAUTH_SECRET", "")
PREVIOUS = os.environ.get("NEXTAUTH_SECRET_PREVIOUS", "")
SECRETS = [s for s in (SECRET, PREVIOUS) if s]  # the current one first
JWKS_URL = os.environ.get("NEXTAUTH_JWKS_URL", "")
ASYMMETRIC = ("EdDSA", "ES256", "RS256")
PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}
if JWKS_URL and SECRETS:
    raise SystemExit("Set NEXTAUTH_SECRET or NEXTAUTH_JWKS_URL, not both")
if not JWKS_URL and (not SECRET or any(len(s.encode()) < 32 for s in SECRETS)):
    raise SystemExit("NEXTAUTH_SECRET (and NEXTAUTH_SECRET_PREVIOUS, if set): at least 32 bytes")
ISSUER = os.environ.get("NEXTAUTH_ISSUER") or None
AUDIENCE = os.environ.get("NEXTAUTH_AUDIENCE") or None
LEEWAY = 15

app = FastAPI(title="whoami (FastAPI)")


class Unauthorized(Exception):
    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


@app.exception_handler(Unauthorized)
async def unauthorized(request: Request, exc: Unauthorized) -> JSONResponse:
    challenge = 'Bearer realm="api"'
    if exc.code != "token_missing":
        challenge += ', error="invalid_token"'
    return JSONResponse(
        {"detail": exc.detail, "code": exc.code},
        status_code=401,
        headers={"WWW-Authenticate": challenge, "Cache-Control": "no-store"},
    )


def refusal(error: jwt.InvalidTokenError) -> Unauthorized:
    """The error codes the Django service uses, for PyJWT's errors."""
    if isinstance(error, jwt.ExpiredSignatureError):
        return Unauthorized("token_expired", "Token has expired.")
    if isinstance(error, jwt.ImmatureSignatureError):
        return Unauthorized("token_not_yet_valid", "Token is not valid yet.")
    if isinstance(error, jwt.InvalidAlgorithmError):
        return Unauthorized("token_unsupported", "Token algorithm is not accepted.")
    if isinstance(error, jwt.InvalidSignatureError):
        return Unauthorized("token_invalid", "Token signature is invalid.")
    if isinstance(error, jwt.DecodeError):
        return Unauthorized("token_malformed", "Token is malformed.")
    return Unauthorized("token_claims_invalid", "Token claims are invalid.")


class JWKS:
    """The issuer's keys through PyJWT's ``PyJWKClient``, cached, with every fetch rate-limited.

    ``PyJWKClient`` alone refetches the whole set for every unknown ``kid``: a flood of random
    ones would make this service hammer the issuer. Here the set is kept for 5 minutes, and a
    fetch (an unknown ``kid``, an expired set, a failed attempt) happens at most once per 30 s.
    """

    TTL = 300
    REFRESH_INTERVAL = 30

    def __init__(self, url: str) -> None:
        self.client = jwt.PyJWKClient(url, cache_jwk_set=False, cache_keys=False, timeout=5)
        self.lock = threading.Lock()
        self.keys: list[jwt.PyJWK] | None = None
        self.fetched_at = float("-inf")
        self.last_attempt = float("-inf")

    def _matching(self, kid: str) -> list[jwt.PyJWK]:
        return [k for k in self.keys or [] if k.key_id == kid]

    def key_for(self, kid: Any) -> jwt.PyJWK:
        if not isinstance(kid, str):
            raise Unauthorized("token_unsupported", "Token algorithm is not accepted.")
        with self.lock:
            now = time.monotonic()
            stale = now - self.fetched_at >= self.TTL
            if (
                stale or not self._matching(kid)
            ) and now - self.last_attempt >= self.REFRESH_INTERVAL:
                self.last_attempt = now
                try:
                    data = self.client.fetch_data()
                    entries = data.get("keys") if isinstance(data, dict) else None
                    # A set publishing private or symmetric key material is not trusted at all.
                    if not isinstance(entries, list) or any(
                        not isinstance(e, dict) or PRIVATE_MEMBERS & e.keys() for e in entries
                    ):
                        raise jwt.PyJWKSetError("unacceptable JWK Set")
                    self.keys = jwt.PyJWKSet.from_dict(data).keys
                    self.fetched_at = now
                except (jwt.PyJWKClientError, jwt.PyJWKSetError):
                    pass  # keep the previous keys, if any
            match = self._matching(kid)
            if self.keys is None:
                raise Unauthorized("keys_unavailable", "Token verification keys are unavailable.")
        if not match:
            raise Unauthorized("token_invalid", "Token signature is invalid.")
        return match[0]


JWKS_CLIENT = JWKS(JWKS_URL) if JWKS_URL else None


def verify_asymmetric(token: str, client: JWKS) -> dict[str, Any]:
    try:
        header = jwt.get_unverified_header(token)
    except jwt.InvalidTokenError as error:
        raise refusal(error) from None
    if header.get("alg") not in ASYMMETRIC:
        raise Unauthorized("token_unsupported", "Token algorithm is not accepted.")
    key = client.key_for(header.get("kid"))
    if header["alg"] != key.algorithm_name:  # the key's algorithm, never the token's choice
        raise Unauthorized("token_invalid", "Token signature is invalid.")
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key.key,
            algorithms=[key.algorithm_name],
            options={"require": ["exp", "sub"], "verify_aud": AUDIENCE is not None},
            leeway=LEEWAY,
            issuer=ISSUER,
            audience=AUDIENCE,
        )
    except jwt.InvalidTokenError as error:
        raise refusal(error) from None
    if not isinstance(claims.get("sub"), str) or not claims["sub"]:
        raise Unauthorized("token_claims_invalid", "Token claims are invalid.")
    return claims


def is_jwe(token: str) -> bool:
    """A compact JWE (five parts, a JSON header): NextAuth's encrypted default, not read here.

    Django answers ``token_unsupported`` for a format it does not accept; so does this service,
    instead of PyJWT's "not enough segments" (``token_malformed``) for a well-formed token.
    """
    parts = token.split(".")
    if len(parts) != 5 or "" in (parts[0], parts[2], parts[3], parts[4]):
        return False
    try:
        header = json.loads(base64.urlsafe_b64decode(parts[0] + "=" * (-len(parts[0]) % 4)))
    except ValueError:  # binascii.Error and json.JSONDecodeError (and UnicodeDecodeError) alike
        return False
    return isinstance(header, dict)


def verify(token: str) -> dict[str, Any]:
    if is_jwe(token):
        raise Unauthorized(
            "token_unsupported", "Token format is not accepted: this service reads JWS, not JWE."
        )
    if JWKS_CLIENT is not None:
        return verify_asymmetric(token, JWKS_CLIENT)
    for index, secret in enumerate(SECRETS):
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                secret,
                algorithms=["HS256"],  # pinned: never "none", never what the header asks for
                options={"require": ["exp", "sub"], "verify_aud": AUDIENCE is not None},
                leeway=LEEWAY,
                issuer=ISSUER,
                audience=AUDIENCE,
            )
        except jwt.InvalidSignatureError as error:
            # Only a wrong signature means "try the previous secret"; anything else is final.
            if index == len(SECRETS) - 1:
                raise refusal(error) from None
        except jwt.InvalidTokenError as error:
            raise refusal(error) from None
        else:
            if not isinstance(claims.get("sub"), str) or not claims["sub"]:
                raise Unauthorized("token_claims_invalid", "Token claims are invalid.")
            return claims
    raise AssertionError("unreachable: SECRETS is not empty")


def require_token(authorization: Annotated[str | None, Header()] = None) -> dict[str, Any]:
    """Dependency: ``Authorization: Bearer <token>`` verified, or a 401."""
    scheme, _, token = (authorization or "").strip().partition(" ")
    if scheme.lower() != "bearer":
        raise Unauthorized("token_missing", "Authentication credentials were not provided.")
    token = token.strip()
    if not token or " " in token:
        raise Unauthorized("token_malformed", "Token is malformed.")
    return verify(token)


@app.get("/healthz")
def healthz() -> dict[str, bool]:
    return {"ok": True}


@app.get("/whoami")
def whoami(claims: Annotated[dict[str, Any], Depends(require_token)]) -> dict[str, Any]:
    return {
        "service": "fastapi",
        "sub": claims["sub"],
        "email": claims.get("email"),
        "role": claims.get("role"),
    }

"""Claims: validate a decoded payload against the policy, and build the payload a token signs.

``exp`` is required; ``nbf``, ``iat``, ``auth_time``, ``iss`` and ``aud`` are checked when
present or configured, within ``NEXTAUTH_LEEWAY`` (``auth_time`` no later than ``iat`` either);
``sub`` must name a subject.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from typing import Any

from django_nextauth_jwt.exceptions import TokenClaimsInvalid, TokenExpired, TokenNotYetValid
from django_nextauth_jwt.policy import Policy, policy

__all__ = ["Claims", "build_payload", "validate_claims", "validated"]

Claims = dict[str, Any]

_MAX_TIMESTAMP = 253_402_300_799  # 9999-12-31T23:59:59Z


def _int_claim(payload: Mapping[str, Any], name: str, *, required: bool = False) -> int | None:
    value = payload.get(name)
    if value is None:
        if required or name in payload:
            raise TokenClaimsInvalid()
        return None
    # bool is an int in Python; floats, strings, NaN and Infinity are refused, and
    # so are times past year 9999, which no date type can show.
    if type(value) is not int or abs(value) > _MAX_TIMESTAMP:
        raise TokenClaimsInvalid()
    return value


def validate_claims(
    payload: Mapping[str, Any], *, now: int | None = None, pol: Policy | None = None
) -> Claims:
    """Check ``exp`` (required), ``nbf``, ``iat``, ``auth_time``, ``sub``, ``iss`` and ``aud``.

    Returns a copy of the claims with ``id`` set to ``sub``, the shape the
    seed's ``JWTAuth.verify`` returned.
    """
    return validated(dict(payload), now=now, pol=pol or policy())


def validated(payload: dict[str, Any], *, now: int | None, pol: Policy) -> Claims:
    """:func:`validate_claims` in place, for a payload the caller has just decoded."""
    now = int(time.time()) if now is None else now
    leeway = pol.leeway
    # exp inline (this runs on every request): what _int_claim(required=True) refuses.
    exp = payload.get("exp")
    if type(exp) is not int or exp > _MAX_TIMESTAMP or exp < -_MAX_TIMESTAMP:
        raise TokenClaimsInvalid()
    if exp <= now - leeway:
        raise TokenExpired()
    if "nbf" in payload:
        nbf = _int_claim(payload, "nbf")
        if nbf is not None and nbf > now + leeway:
            raise TokenNotYetValid()
    iat = _int_claim(payload, "iat")
    if iat is not None and iat > now + leeway:
        raise TokenNotYetValid()
    # When the person signed in: sign-out-everywhere compares it with its cut-off. A future
    # one (an issuer's clock running ahead, or 10**15) would outlive every cut-off, and one
    # later than iat claims a sign-in after the token was issued: neither is a real sign-in.
    auth_time = _int_claim(payload, "auth_time")
    if auth_time is not None:
        if auth_time > now + leeway:
            raise TokenNotYetValid()
        if iat is not None and auth_time > iat:
            raise TokenClaimsInvalid()
    sub = payload.get("sub")
    # A real session names its subject. Old NextAuth OAuth check cookies
    # ({"value", "provider"}) decrypt with the session key but carry no sub.
    if not isinstance(sub, str) or not sub:
        raise TokenClaimsInvalid()
    issuer = pol.issuer
    if issuer is not None and payload.get("iss") != issuer:
        raise TokenClaimsInvalid()
    audience = pol.audience
    if audience is not None:
        aud = payload.get("aud")
        if isinstance(aud, list):
            if audience not in aud or not all(isinstance(a, str) for a in aud):
                raise TokenClaimsInvalid()
        elif aud != audience:
            raise TokenClaimsInvalid()
    payload["id"] = sub
    return payload


def build_payload(claims: Mapping[str, Any], *, max_age: int | None = None) -> Claims:
    """The payload ``create`` signs: ``sub`` from ``id``, then ``iat``, ``exp``, ``jti``.

    ``sid`` (the session) and ``auth_time`` (when it was signed into) are kept from
    ``claims`` when present (re-encoding a session keeps them) and added otherwise.

    ``iss`` and ``aud`` are set from settings when configured.
    """
    payload = {k: v for k, v in claims.items() if k != "id"}
    user_id = claims.get("id", claims.get("sub"))
    if "id" in claims and "sub" in claims and str(claims["sub"]) != str(claims["id"]):
        raise ValueError("claims 'id' and 'sub' disagree")
    if user_id is None or user_id == "" or isinstance(user_id, bool):
        raise ValueError("claims need an 'id' (or 'sub')")
    payload["sub"] = str(user_id)
    pol = policy()
    now = int(time.time())
    lifetime = pol.max_age if max_age is None else max_age
    # Like NextAuth's encode: iat, exp and jti are always set here.
    payload["iat"] = now
    payload["exp"] = now + int(lifetime)
    payload["jti"] = str(uuid.uuid4())
    # The session and when it was signed into: kept when re-encoding the same session (a
    # refresh), new otherwise. Sign-out revokes the sid, sign-out-everywhere compares auth_time.
    sid = claims.get("sid")
    if not isinstance(sid, str) or not sid:
        payload["sid"] = str(uuid.uuid4())
    auth_time = claims.get("auth_time")
    # One later than now (a caller's clock ahead of this one) would make this very token
    # refused (auth_time after iat): now instead, the earlier and so the stricter of the two.
    payload["auth_time"] = min(auth_time, now) if type(auth_time) is int else now
    if pol.issuer is not None:
        payload["iss"] = pol.issuer
    if pol.audience is not None:
        payload["aud"] = pol.audience
    return payload

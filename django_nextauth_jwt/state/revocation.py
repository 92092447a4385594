"""The deny-list: revoked sessions, revoked tokens and per-user cut-offs, in the state store.

Three kinds of entry, all in :mod:`~django_nextauth_jwt.state.store` (never in Django's cache):

* a **session** (``sid``): sign-out of a token that carries a ``sid`` refuses every copy of
  that session, the ones NextAuth re-encodes on refresh included;
* a **token**: a token without ``sid`` is revoked by its ``jti``, or when it has none by what
  its signer signed (a JWS's signing input, so that no second signature of it escapes; a JWE's
  whole text);
* a **user cut-off** ("sign out everywhere"): every token of that ``sub`` authenticated at or
  before the cut-off is refused; in database user mode an **account cut-off**, written for the
  Django user (its primary key) and checked once a token is resolved to that user, whichever
  ``sub`` the token carries. The time compared is ``auth_time`` (set at sign-in and kept
  across NextAuth's refreshes by the documented ``jwt`` callback), else ``iat``; a token with
  neither is refused while a cut-off stands.

Session entries and cut-offs last ``NEXTAUTH_SESSION_MAX_LIFETIME`` plus twice the leeway from
when they are written: no copy of a session valid then, however often NextAuth refreshed it,
is accepted later (:mod:`~django_nextauth_jwt.lifetime`). Token entries last until that token's
``exp``, or its session's end when sooner.

Keys: in Redis (shared by processes, and by releases during a rolling deploy) a fixed-size,
stable digest of what they name, ``sid:<hex>``, ``jti:<hex>``, ``user:<hex>``. In the embedded
store, whose keys never leave the process, what they name as it is when it is short
(``sid=<sub> NUL <sid>``, ``jti=jti:<jti>``, ``user=<sub>``): no hash per new session.

A check is one call, :func:`is_revoked` (one store read), and every write goes through
:func:`write`. With Redis, the read is answered by this process's local view of the deny-list
(:mod:`~django_nextauth_jwt.state.localview`, no round trip) while it is live, else by one ``MGET``.
When the store cannot be read, verification refuses tokens (``revocation_unavailable``)
unless ``NEXTAUTH_REVOCATION_FAIL_OPEN`` is set.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from django_nextauth_jwt import lifetime
from django_nextauth_jwt.exceptions import RevocationUnavailable, TokenRevoked
from django_nextauth_jwt.policy import Policy, policy
from django_nextauth_jwt.state import store

__all__ = [
    "account_key",
    "check",
    "check_account",
    "is_revoked",
    "revoke",
    "revoke_account",
    "revoke_user",
    "write",
]

logger = logging.getLogger(__name__)


#: A fresh SHA-256 state, copied per digest: on Python 3.11, ``hashlib.sha256()`` looks its
#: OpenSSL implementation up again on every call, which in a whole request (caches cold) costs
#: a few microseconds more than the copy.
_SHA256 = hashlib.sha256()


def _digest(name: str) -> str:
    """A fixed-size, backend-safe key for ``name``: 128 bits of SHA-256 in hex."""
    state = _SHA256.copy()
    state.update(name.encode("utf-8", "surrogatepass"))
    # The first 16 bytes in hex: hexdigest()[:32] without writing the other 32 characters.
    return state.digest()[:16].hex()


#: Digests of the subjects, sessions and ``jti`` values seen lately (most requests come from a
#: session seen moments ago): a pure memo of :func:`_digest`, bounded, emptied when full. A
#: whole token is never kept here. Small: a larger memo is a working set that pushes the
#: request's own out of the CPU caches (4096 measured about 1 us dearer per new session).
_DIGESTS: dict[str, str] = {}
_DIGESTS_MAX = 256


def _remembered(name: str) -> str:
    found = _DIGESTS.get(name)
    if found is None:
        found = _digest(name)
        if len(_DIGESTS) >= _DIGESTS_MAX:
            _DIGESTS.clear()
        _DIGESTS[name] = found
    return found


#: The longest name the embedded store keys by as it is; a longer one goes by its digest there
#: too, so that an entry stays small whatever a token's issuer put in ``sub`` or ``sid``.
RAW_KEY_MAX = 128


def _key(kind: str, name: str, raw: bool) -> str:
    """The key of ``name``: ``kind=name`` when ``raw`` and short, else ``kind:`` and its digest.

    The two forms never meet: ``=`` is in no digest, and one store uses one of them.
    """
    if raw and len(name) <= RAW_KEY_MAX:
        return f"{kind}={name}"
    return f"{kind}:{_remembered(name)}"


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def session_key(claims: Mapping[str, Any]) -> str | None:
    """The key of the token's session in the configured store, or ``None`` without a ``sid``.

    Namespaced by ``sub``: a ``sid`` another issuer chose cannot name someone else's session.
    """
    sid = _text(claims.get("sid"))
    if sid is None:
        return None
    return _key("sid", f"{claims.get('sub')}\x00{sid}", store.current().in_process)


def token_key(claims: Mapping[str, Any], token: str) -> str:
    """The key of the token itself in the configured store: its ``jti``, else what was signed.

    Without a ``jti``, a JWS is named by its signing input (header and payload as received),
    not by its text: a second signature of the same input (ES256's ``(r, n - s)``, which
    verifies as well) is the same token, revoked with it. A JWE is named by its whole text:
    none of its segments can be spelled twice, and only the secret's holder encrypts again.
    """
    return _token_key(claims, token, store.current().in_process)


def _token_key(claims: Mapping[str, Any], token: str, raw: bool) -> str:
    jti = _text(claims.get("jti"))
    if jti:
        return _key("jti", f"jti:{jti}", raw)
    # Never a key as it is, nor kept in the memo: its digest, in every store. A JWS has
    # two dots (the codec refuses a token of any other shape before it gets here).
    if token.count(".") == 2:
        return "jti:" + _digest(f"signed:{token[: token.rindex('.')]}")
    return "jti:" + _digest(f"token:{token}")


def user_key(sub: str) -> str:
    """The key of a user's cut-off in the configured store."""
    return _key("user", sub, store.current().in_process)


def account_key(pk: Any) -> str:
    """The key of a database user's cut-off (by primary key) in the configured store."""
    return _key("account", str(pk), store.current().in_process)


def is_revoked(claims: Mapping[str, Any], token: str, *, known: bool = False) -> bool:
    """True when the verified ``token`` (with its ``claims``) is denied; one store read.

    Two keys, the ones :func:`revoke` and :func:`revoke_user` write for this token: its
    session's when it carries a ``sid`` (else its own), and its user's cut-off. Raises the
    store's own error when it cannot be read. With ``known``, only what this process holds
    is read (:func:`_known`), and nothing raises.
    """
    held = store.current()
    raw = held.in_process
    sub = str(claims.get("sub"))
    sid = claims.get("sid")
    if isinstance(sid, str) and sid:
        own = _key("sid", f"{sub}\x00{sid}", raw)
    else:
        own = _token_key(claims, token, raw)
    keys = (own, _key("user", sub, raw))
    revoked, cutoff = _known(keys) if known else held.get_many(keys)
    if revoked is not None:
        return True
    return cutoff is not None and _cut_off(claims, cutoff)  # no call for the usual None


def write(key: str, value: int, ttl: int, *, bounded: bool = True) -> None:
    """The one write to the deny-list (see :meth:`store.Store.put_max`)."""
    store.current().put_max(key, value, ttl, bounded=bounded)


def _session_ttl(pol: Policy) -> int:
    # Not NEXTAUTH_MAX_AGE from now: a copy refreshed every hour outlives any exp.
    return lifetime.deny_ttl(pol)


def revoke(claims: Mapping[str, Any], token: str, *, pol: Policy | None = None) -> None:
    """Deny the verified ``token``: its whole session when it has a ``sid``, else itself.

    When the embedded store is full, the user's cut-off is written instead (it refuses this
    session and every other one of the user's): never fewer revocations, only more. Errors
    of a networked store propagate: the caller decides what a sign-out that could not revoke
    should answer.
    """
    pol = pol or policy()
    session = session_key(claims)
    try:
        if session is not None:
            if type(claims.get("auth_time")) is not int:
                # Its copies are measured from their own iat, which a refresh renews.
                logger.warning(
                    "signed out of a session whose token has no auth_time: copies refreshed "
                    "after now are not bounded by NEXTAUTH_SESSION_MAX_LIFETIME and are "
                    "accepted again once this entry expires; keep auth_time in the jwt callback"
                )
            ttl = lifetime.token_ttl(claims, pol, int(time.time()))
            write(session, 1, max(_session_ttl(pol), ttl))
        else:
            write(token_key(claims, token), 1, lifetime.token_ttl(claims, pol, int(time.time())))
    except store.StoreFull:
        logger.warning("revocation store full: signing the user out everywhere instead")
        revoke_user(str(claims.get("sub")), pol=pol)


def revoke_user(sub: str, *, at: int | None = None, pol: Policy | None = None) -> int:
    """Refuse every token of ``sub`` authenticated at or before ``at`` (default: now).

    Returns the cut-off written. A cut-off never moves back: a later one wins.
    """
    if not isinstance(sub, str) or not sub:
        raise ValueError("sub must be a non-empty string")
    pol = pol or policy()
    cutoff = int(time.time()) if at is None else int(at)
    write(user_key(sub), cutoff, _session_ttl(pol), bounded=False)
    return cutoff


def revoke_account(pk: Any, *, at: int | None = None, pol: Policy | None = None) -> int:
    """Database mode: refuse every token resolved to the user ``pk``, authenticated until ``at``.

    Whatever ``sub`` those tokens carry (a provider's account id, another issuer's id): the
    cut-off is the person's, checked by :func:`check_account` once a token names the row.
    Returns the cut-off written; a later one wins.
    """
    if pk is None or isinstance(pk, bool) or str(pk) == "":
        raise ValueError("pk must name a saved user")
    pol = pol or policy()
    cutoff = int(time.time()) if at is None else int(at)
    write(account_key(pk), cutoff, _session_ttl(pol), bounded=False)
    return cutoff


def check_account(pk: Any, claims: Mapping[str, Any], pol: Policy) -> None:
    """Raise ``TokenRevoked`` when the user ``pk`` was cut off after ``claims`` signed in.

    One store read (the local view or the embedded table: no round trip while it is live);
    ``RevocationUnavailable`` when the store cannot be read and the policy fails closed.
    """
    if not pol.revocation:
        return
    keys = (account_key(pk),)
    try:
        cutoff = store.current().get_many(keys)[0]
    except ImproperlyConfigured:
        raise
    except Exception as exc:  # every store backend fails in its own way
        _unreadable(exc, pol)
        cutoff = _known(keys)[0]
    if _cut_off(claims, cutoff):
        raise TokenRevoked()


def check(claims: Mapping[str, Any], token: str, pol: Policy) -> None:
    """Raise ``TokenRevoked`` for a denied token; ``RevocationUnavailable`` if unknowable."""
    if not pol.revocation:
        return
    try:
        revoked = is_revoked(claims, token)
    except ImproperlyConfigured:
        raise
    except Exception as exc:  # every store backend fails in its own way
        _unreadable(exc, pol)
        revoked = is_revoked(claims, token, known=True)
    if revoked:
        raise TokenRevoked()


def _unreadable(exc: Exception, pol: Policy) -> None:
    """The deny-list could not be read: ``RevocationUnavailable``, unless the policy fails open.

    Failing open, the caller then goes by :func:`_known`: it accepts what it cannot check,
    never what this process knows to be revoked.
    """
    logger.warning("revocation store unavailable: %s", type(exc).__name__)
    if not pol.revocation_fail_open:
        raise RevocationUnavailable() from exc


def _known(keys: tuple[str, ...]) -> list[int | None]:
    """What this process holds for ``keys`` whatever its freshness: its local view of Redis's
    deny-list (a revocation is never unlearned before it expires), else nothing."""
    view = getattr(store.current(), "view", None)
    if view is None:
        return [None] * len(keys)
    found: list[int | None] = view.peek(keys)
    return found


def _cut_off(claims: Mapping[str, Any], cutoff: int | None) -> bool:
    """Whether a cut-off refuses the token of ``claims``: signed into at or before it, or never.

    The same second as the cut-off counts as before it: refusing is the safe side.
    """
    if cutoff is None:
        return False
    at = lifetime.started(claims)
    return at is None or at <= cutoff

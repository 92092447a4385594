"""The absolute session lifetime: when a session began, when it ends, how long to remember it.

NextAuth's JWT session slides: every read of the session re-encodes the token with a fresh
``exp`` (``session.maxAge`` from now), so ``exp`` alone never ends a session that someone keeps
using, a stolen cookie included. ``NEXTAUTH_SESSION_MAX_LIFETIME`` ends it at a fixed moment:

* a session began at ``auth_time`` (set at sign-in and kept across refreshes by the documented
  ``jwt`` callback), else at the token's ``iat``: the earliest time the token proves;
* it is refused (``session_too_old``) once ``start + lifetime`` has passed, beyond the leeway,
  whatever its ``exp``;
* so no copy of a session, however often it was refreshed, is accepted later than
  ``lifetime + 2 x leeway`` after anything that was done while it was valid (the start may lie
  up to a leeway ahead of the clock that checked it, and the end is a leeway late): that is how
  long every deny-list entry lasts (:func:`deny_ttl`).

What no lifetime can bound, and what happens then:

* a token without ``auth_time`` whose ``iat`` NextAuth renews on each refresh (a ``jwt``
  callback that does not keep ``auth_time``) is measured from each copy's ``iat``: each copy
  is bounded, the chain of refreshes is not (sign-out logs a warning naming the fix). The
  package's ``jwt`` callbacks always keep ``auth_time``;
* a token with neither claim proves no start: it lives until its ``exp`` as before, its own
  revocation lasts until that ``exp`` (:func:`token_ttl`), and a cut-off refuses it while the
  cut-off stands. The first one accepted is logged once per process.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from django_nextauth_jwt.exceptions import SessionTooOld
from django_nextauth_jwt.policy import Policy

__all__ = ["check", "deny_ttl", "started", "token_ttl"]

logger = logging.getLogger(__name__)

#: Whether a token with no start was logged already (once per process is enough to act on).
_unbounded_seen = False


def started(claims: Mapping[str, Any]) -> int | None:
    """When the session of verified ``claims`` began: ``auth_time``, else ``iat``, else None."""
    for name in ("auth_time", "iat"):
        value = claims.get(name)
        if type(value) is int:
            return value
    return None


def check(claims: Mapping[str, Any], pol: Policy, now: int) -> None:
    """Raise ``SessionTooOld`` when the session began ``pol.max_lifetime`` (and the leeway) ago.

    Runs on every request: two dictionary reads and a sum. A token that proves no start is
    left to its ``exp`` (and logged, once).
    """
    start = claims.get("auth_time")
    if type(start) is not int:
        start = claims.get("iat")
        if type(start) is not int:
            _unbounded()
            return
    # The same comparison as exp's: the session's end, a leeway late for the clocks' sake.
    if start + pol.max_lifetime <= now - pol.leeway:
        raise SessionTooOld()


def _unbounded() -> None:
    global _unbounded_seen  # noqa: PLW0603 - a once-per-process flag
    if not _unbounded_seen:
        _unbounded_seen = True
        logger.warning(
            "accepted a token with neither auth_time nor iat: NEXTAUTH_SESSION_MAX_LIFETIME "
            "cannot bound it (it lives until its exp, and a sign-out-everywhere refuses it only "
            "while the cut-off lasts); have its issuer set iat"
        )


def deny_ttl(pol: Policy) -> int:
    """How long a deny-list entry written now must last: past the end of every session valid now.

    A session valid now began at most a leeway ahead of now (``iat``/``auth_time`` in the
    future are refused beyond it) and is accepted until a leeway past its start plus the
    lifetime, whatever its copies' ``exp`` say.
    """
    return pol.max_lifetime + 2 * pol.leeway


def token_ttl(claims: Mapping[str, Any], pol: Policy, now: int) -> int:
    """How long the verified token of ``claims`` itself can still be accepted, at least 1 second.

    Until its ``exp``, or the end of its session when that comes first, plus the leeway: never
    longer than :func:`deny_ttl`, except for a token that proves no start (only its ``exp``
    ends it).
    """
    exp = claims.get("exp")
    end = exp if type(exp) is int else now
    start = started(claims)
    if start is not None:
        end = min(end, start + pol.max_lifetime)
    return max(1, end - now + pol.leeway)

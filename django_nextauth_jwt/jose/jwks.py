"""Verification keys fetched from JWKS URLs: cached, refreshed on an unknown ``kid``, rate-limited.

A :class:`JWKSClient` per URL keeps the last good JWK Set in memory:

* it is used without asking again for ``cache_ttl`` seconds;
* a token whose ``kid`` is not in it triggers a refetch, but at most one attempt per
  ``refresh_interval`` seconds, so a flood of random ``kid``\\ s costs the issuer one request;
* when the issuer cannot be reached the last keys stay in use for ``max_stale`` seconds
  past their TTL, and after that every token is refused with ``KeysUnavailable`` (fail closed);
* a fetch has a deadline (``timeout``, for the whole response, not per read), a size limit
  (``max_bytes``), follows no redirect, speaks only http(s), and hands the body to
  :func:`~django_nextauth_jwt.jose.jwk.parse_jwks`, which refuses private key material.

:class:`KeySources` chains the static keys and the clients into the one
:class:`~django_nextauth_jwt.jose.jwk.KeySource` a :class:`~django_nextauth_jwt.jose.codec.Keyring`
takes. Like the codec, this module imports no Django: the clock and the fetcher are
parameters, so tests count fetches and move time without sleeping.
"""

from __future__ import annotations

import logging
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from urllib.parse import urlsplit

from django_nextauth_jwt.exceptions import KeysUnavailable
from django_nextauth_jwt.jose.jwk import KeySet, PublicKey, parse_jwks

__all__ = ["JWKSClient", "JWKSFetchError", "KeySources", "fetch_url"]

logger = logging.getLogger(__name__)

USER_AGENT = "django-nextauth-jwt (JWKS client)"
_CHUNK = 16384


class JWKSFetchError(Exception):
    """A JWK Set could not be fetched or was refused; the message names no key material."""


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        # A JWKS URL is configured exactly: a redirect is an error, not a hint.
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


def fetch_url(url: str, *, timeout: float, max_bytes: int) -> bytes:
    """GET ``url`` and return its body; ``JWKSFetchError`` unless a 200 within the limits.

    ``timeout`` bounds the whole exchange (each socket operation and the sum of reads).
    """
    if urlsplit(url).scheme not in ("http", "https"):
        raise JWKSFetchError("a JWKS URL must be http or https")
    deadline = time.monotonic() + timeout
    request = urllib.request.Request(  # noqa: S310 - the scheme is checked above
        url, headers={"Accept": "application/json", "User-Agent": USER_AGENT}
    )
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            if response.status != 200:
                raise JWKSFetchError(f"the JWKS URL answered {response.status}")
            length = response.headers.get("Content-Length")
            if length is not None and length.isdigit() and int(length) > max_bytes:
                raise JWKSFetchError("the JWK Set is larger than the size limit")
            body = bytearray()
            while True:
                if time.monotonic() > deadline:
                    raise JWKSFetchError("the JWK Set took longer than the timeout")
                chunk = response.read1(_CHUNK)
                if not chunk:
                    break
                body += chunk
                if len(body) > max_bytes:
                    raise JWKSFetchError("the JWK Set is larger than the size limit")
            return bytes(body)
    except urllib.error.HTTPError as exc:
        exc.close()  # the error is the response too: its socket closes now, not at collection
        raise JWKSFetchError(f"the JWKS URL answered {exc.code}") from None
    except (OSError, ValueError) as exc:  # URLError, timeouts, resets, bad URLs
        raise JWKSFetchError(f"the JWKS URL could not be read ({type(exc).__name__})") from None


Fetcher = Callable[[str], bytes]


class JWKSClient:
    """The keys of one JWKS URL, fetched lazily and refreshed under a rate limit.

    ``fetcher`` (default: :func:`fetch_url` with ``timeout`` and ``max_bytes``) and
    ``clock`` (default: ``time.monotonic``) are parameters for tests. Thread-safe: the
    read path takes no lock; one thread fetches while the others wait for its result.
    """

    def __init__(  # noqa: PLR0913 - keyword-only knobs, one per setting
        self,
        url: str,
        *,
        cache_ttl: float = 300,
        refresh_interval: float = 30,
        max_stale: float = 3600,
        timeout: float = 5,
        max_bytes: int = 65536,
        fetcher: Fetcher | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = url
        self.cache_ttl = cache_ttl
        self.refresh_interval = refresh_interval
        self.max_stale = max_stale
        self._fetch = fetcher or (lambda u: fetch_url(u, timeout=timeout, max_bytes=max_bytes))
        self._clock = clock
        self._lock = threading.Lock()
        # Replaced whole, never mutated: (keys, fetched_at), read without the lock.
        self._state: tuple[KeySet, float] | None = None
        self._last_attempt: float | None = None
        #: Fetch attempts so far (successful or not): the tests count them.
        self.fetches = 0

    def __repr__(self) -> str:
        return f"<JWKSClient {self.url!r} fetches={self.fetches}>"

    def _attempt(self) -> None:
        """One fetch, if the rate limit allows; the caller holds the lock."""
        now = self._clock()
        if self._last_attempt is not None and now - self._last_attempt < self.refresh_interval:
            return
        self._last_attempt = now
        self.fetches += 1
        try:
            keys = parse_jwks(self._fetch(self.url))
        except (JWKSFetchError, ValueError) as exc:
            # The URL and the reason; never the document (it may hold what it should not).
            logger.warning("JWKS refresh from %s failed: %s", self.url, exc)
            return
        self._state = (KeySet(keys), self._clock())

    def keys(self, kid: str | None = None) -> KeySet | None:
        """The current key set, refreshed when expired or lacking ``kid``.

        ``None`` when no usable set is held: never fetched, or stale past ``max_stale``.
        While one thread refreshes, the others do not wait when they hold a usable set: they
        go on with it (a slow issuer never stalls every request); only a first fetch is waited for.
        """
        state = self._state
        now = self._clock()
        fresh = state is not None and now - state[1] < self.cache_ttl
        if fresh and state is not None and (kid is None or kid in state[0]):
            return state[0]
        if state is not None and now - state[1] < self.cache_ttl + self.max_stale:
            # A usable set in hand: go on with it rather than wait for another thread's refresh.
            if not self._lock.acquire(blocking=False):
                return state[0]
        else:
            self._lock.acquire()
        try:
            state = self._state
            # Another thread may have refreshed while this one waited.
            fresh = state is not None and self._clock() - state[1] < self.cache_ttl
            if not fresh or (kid is not None and state is not None and kid not in state[0]):
                self._attempt()
            state = self._state
        finally:
            self._lock.release()
        if state is None or self._clock() - state[1] >= self.cache_ttl + self.max_stale:
            return None
        return state[0]


class KeySources:
    """Static keys first, then each JWKS URL's: the ``KeySource`` of a keyring."""

    def __init__(self, static: Sequence[PublicKey], clients: Sequence[JWKSClient]) -> None:
        self.static = KeySet(static)
        self.clients = tuple(clients)

    def __repr__(self) -> str:
        return f"<KeySources static={len(self.static.keys)} urls={len(self.clients)}>"

    def published(self) -> tuple[PublicKey, ...]:
        """The static keys (the signing keys' public halves and the configured public keys)."""
        return self.static.keys

    def candidates(self, kid: str | None, alg: str) -> list[PublicKey]:
        """Every key with ``kid`` (or any, without one) whose own algorithm is ``alg``.

        A ``kid`` of the static keys (this service's own, or configured) is theirs alone: no
        JWKS can add a key under it, and no issuer is asked. Raises ``KeysUnavailable`` when
        no key matches and a JWKS URL could not give its keys: the token may well be that
        issuer's, and nothing else can verify it.
        """
        if kid is not None and kid in self.static:
            return list(self.static.candidates(kid, alg))
        found = list(self.static.candidates(kid, alg))
        unavailable = False
        for client in self.clients:
            keys = client.keys(kid)
            if keys is None:
                unavailable = True
                continue
            found.extend(keys.candidates(kid, alg))
        if not found and unavailable:
            raise KeysUnavailable()
        return found

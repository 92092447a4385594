"""Where a token travels: read it from a request, write and delete the session cookie.

Reading follows NextAuth's ``getToken`` with the ambiguity taken out:

* ``Authorization: Bearer <url-encoded token>`` wins. A header with another
  scheme belongs to another authenticator: this module then offers nothing, and
  in particular does not fall back to the cookie (the caller said explicitly how
  it authenticates). A malformed Bearer header is an error, never a fall-back.
* Otherwise the session cookie: the exact name, or the contiguous run of chunks
  ``name.0`` ... ``name.n-1``. Gaps, a missing ``.0``, too many chunks or both
  forms at once are refused rather than guessed at.
* Tokens in the query string are never read: they end up in logs and referrers.

Writing mirrors NextAuth's ``SessionStore``: values above one cookie's worth are
split into ``name.0``, ``name.1``, ... and stale pieces are expired.

Nothing here logs or echoes a token.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from http.cookies import Morsel
from typing import Any, Literal
from urllib.parse import unquote

from django.http import HttpRequest, HttpResponseBase

from django_nextauth_jwt.conf import (
    COOKIE_CHUNK_SIZES,
    FORMAT_JWS,
    HOST_PREFIX,
    SECURE_PREFIX,
    app_settings,
    derived,
)
from django_nextauth_jwt.exceptions import TokenAmbiguous, TokenMalformed
from django_nextauth_jwt.policy import better_auth_cookie_name

__all__ = [
    "Credentials",
    "ambiguous_candidates",
    "chunk_size",
    "delete_session_cookie",
    "get_bearer_token",
    "get_cookie_token",
    "get_credentials",
    "raw_cookie_names",
    "session_cookie_names",
    "set_session_cookie",
    "strict_url_decode",
]

BEARER = "bearer"

# A "%" must start a two-digit hex escape; JavaScript's decodeURIComponent throws
# otherwise, and NextAuth's getToken then sees no token. We refuse instead.
_BAD_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
_CHUNK_INDEX = re.compile(r"0|[1-9][0-9]{0,5}")

Source = Literal["header", "cookie"]


@dataclass(frozen=True, slots=True)
class Credentials:
    """A token as it arrived: its text, where it came from and, for cookies, under which name."""

    token: str
    source: Source
    cookie_name: str | None = None

    def __repr__(self) -> str:
        # Never let a token reach a log line through a repr.
        return f"Credentials(source={self.source!r}, cookie_name={self.cookie_name!r})"


def strict_url_decode(value: str) -> str:
    """Percent-decode ``value`` like ``decodeURIComponent``; ``TokenMalformed`` on bad escapes.

    ``+`` stays ``+`` (this is not form decoding), and escapes must form valid UTF-8.
    """
    if "%" not in value:
        return value
    if _BAD_PERCENT.search(value):
        raise TokenMalformed()
    try:
        return unquote(value, errors="strict")
    except UnicodeDecodeError as exc:
        raise TokenMalformed() from exc


def get_bearer_token(request: HttpRequest) -> str | None:
    """The token of an ``Authorization: Bearer`` header, URL-decoded.

    ``None`` when there is no ``Authorization`` header or it uses another
    scheme. ``TokenMalformed`` when it says Bearer but does not carry exactly
    one well-formed token.
    """
    header = request.META.get("HTTP_AUTHORIZATION")
    if header is None:
        return None
    return _bearer(header)


def _bearer(header: str) -> str | None:
    """:func:`get_bearer_token` for the ``Authorization`` header's value."""
    parts = header.split()
    if not parts or parts[0].lower() != BEARER:
        return None
    if len(parts) != 2:
        # "Bearer" alone, or "Bearer a b": offered, but not one token.
        raise TokenMalformed()
    token = strict_url_decode(parts[1])
    if not token or token != token.strip():
        raise TokenMalformed()
    return token


def offers_nothing(request: HttpRequest, *, unless: str = "") -> bool:
    """True when the request cannot hold a token: no ``Authorization`` header, no session cookie.

    No ``Cookie`` header, or one in which no session cookie name (and ``unless``, when given)
    appears anywhere: a substring search of the raw header per name, without parsing it.
    :func:`get_credentials` would return ``None`` for such a request (a health check, a browser
    without a session), so a token-less request costs next to nothing.
    """
    meta = request.META
    if "HTTP_AUTHORIZATION" in meta:
        return False
    header = meta.get("HTTP_COOKIE")
    if not header:
        return True
    if unless and unless in header:
        return False
    # Every cookie name is a substring of the header (Django does not unquote names), so a
    # name that is not in the header is no cookie, whole or chunked.
    for name in session_cookie_names():  # noqa: SIM110 - no generator on every request
        if name in header:
            return False
    return True


@derived
def session_cookie_names() -> tuple[str, ...]:
    """The session cookie names read, in order: the configured format's, the accepted ones',
    then Better Auth's cookie cache when ``NEXTAUTH_BETTER_AUTH_STRATEGY`` is set.

    Several names matter during a migration (for example from ``next-auth.session-token`` to
    ``authjs.session-token``); an explicit ``NEXTAUTH_COOKIE_NAME`` is the only name.
    Computed once per settings object: this runs on every request.
    """
    # Better Auth's cookie cache (better-auth.session_data) comes last, when it is read.
    better_auth = better_auth_cookie_name(app_settings)
    extra = (better_auth,) if better_auth else ()
    if app_settings.COOKIE_NAME:
        return (app_settings.COOKIE_NAME, *extra)
    formats = (app_settings.JWT_FORMAT, *app_settings.ACCEPTED_FORMATS)
    names = (*(app_settings.session_cookie_name(fmt) for fmt in formats), *extra)
    return tuple(dict.fromkeys(names))


@derived
def _max_chunks() -> int:
    return app_settings.MAX_COOKIE_CHUNKS


def _chunk_indexes(cookies: Iterable[str], name: str) -> dict[int, str]:
    prefix = name + "."
    indexes: dict[int, str] = {}
    for key in cookies:
        if key.startswith(prefix):
            suffix = key[len(prefix) :]
            # "name.x" or "name.01" is some other cookie, not one of NextAuth's chunks.
            if _CHUNK_INDEX.fullmatch(suffix):
                indexes[int(suffix)] = key
    return indexes


def raw_cookie_names(request: HttpRequest) -> list[str]:
    """Every cookie name in the raw ``Cookie`` header, duplicates kept, split as Django does."""
    header = request.META.get("HTTP_COOKIE", "")
    names = []
    for chunk in header.split(";"):
        name = chunk.split("=", 1)[0].strip() if "=" in chunk else ""
        if name:
            names.append(name)
    return names


def _duplicated(request: HttpRequest, name: str) -> bool:
    """True when the ``Cookie`` header sends ``name`` or one of its chunks more than once.

    ``request.COOKIES`` keeps only the last of duplicates (NextAuth's parser the first): a
    cookie a sibling subdomain set for the parent domain would silently pick the identity.
    """
    header = request.META.get("HTTP_COOKIE", "")
    if header.count(name) < 2:  # the common case, without splitting the header
        return False
    seen: set[str] = set()
    prefix = name + "."
    for key in raw_cookie_names(request):
        if key == name or (key.startswith(prefix) and _CHUNK_INDEX.fullmatch(key[len(prefix) :])):
            if key in seen:
                return True
            seen.add(key)
    return False


def get_cookie_token(request: HttpRequest, name: str) -> str | None:
    """The session token in cookie ``name``, reassembled from chunks when needed.

    ``None`` when neither the cookie nor any chunk is present (an empty cookie
    counts as absent: it is what a deletion leaves behind). ``TokenAmbiguous`` when the
    cookie or a chunk is sent twice, or whole and in chunks at once; ``TokenMalformed``
    for a broken set of chunks.
    """
    cookies = request.COOKIES
    return _cookie_token(request, cookies, cookies, name)


def _cookie_token(
    request: HttpRequest, cookies: dict[str, str], keys: Iterable[str], name: str
) -> str | None:
    """:func:`get_cookie_token`, its chunks looked for among ``keys`` (a subset of cookies)."""
    exact = cookies.get(name)
    chunks = _chunk_indexes(keys, name)
    if (exact is not None or chunks) and _duplicated(request, name):
        raise TokenAmbiguous()
    if not chunks:
        return exact or None
    if exact:
        # NextAuth never leaves both behind; two candidates means someone is meddling.
        raise TokenAmbiguous()
    count = len(chunks)
    if count > _max_chunks() or set(chunks) != set(range(count)):
        raise TokenMalformed()
    pieces = [cookies[chunks[i]] for i in range(count)]
    if not all(pieces):
        raise TokenMalformed()
    return "".join(pieces)


def ambiguous_candidates(request: HttpRequest) -> list[str]:
    """Every whole session-cookie value the raw ``Cookie`` header carries (duplicates too).

    For sign-out only: when the cookie is ambiguous, each candidate that verifies is revoked,
    so the person's own session ends whichever copy an attacker planted beside it.
    """
    names = set(session_cookie_names())
    header = request.META.get("HTTP_COOKIE", "")
    values: list[str] = []
    for chunk in header.split(";"):
        if "=" not in chunk:
            continue
        key, value = chunk.split("=", 1)
        if key.strip() in names:
            try:
                token = strict_url_decode(value.strip().strip('"'))
            except TokenMalformed:
                continue
            if token and token not in values:
                values.append(token)
    return values[: _max_chunks()]


def get_credentials(request: HttpRequest) -> Credentials | None:
    """The one token this request offers, from the header or else the session cookie.

    ``None`` when it offers none of ours (including an ``Authorization`` header
    of another scheme, which suppresses the cookie). Raises ``TokenMalformed``
    when what it offers cannot be a token.
    """
    header = request.META.get("HTTP_AUTHORIZATION")
    if header is not None:
        token = _bearer(header)
        return Credentials(token, "header") if token is not None else None
    cookies = request.COOKIES
    # One pass over the cookies (a browser sends its csrftoken, sessionid, analytics...): only
    # those named like a session cookie or its chunks are looked at again, name by name.
    names = session_cookie_names()
    # Every name read is a prefix of its chunks' names ("name.0"): one startswith() per
    # cookie tells whether a cookie may be ours.
    keys = [key for key in cookies if key.startswith(names)]
    if not keys:
        return None
    if len(keys) == 1 and keys[0] in names:
        # One session cookie, whole (the usual request): no chunk to gather, and the other
        # names have nothing. _cookie_token() for this case, without its search for chunks.
        name = keys[0]
        if _duplicated(request, name):
            raise TokenAmbiguous()
        token = cookies[name]
        return Credentials(token, "cookie", name) if token else None
    for name in names:
        token = _cookie_token(request, cookies, keys, name)
        if token is not None:
            return Credentials(token, "cookie", name)
    return None


# --------------------------------------------------------------------------- #
# Writing
# --------------------------------------------------------------------------- #


def chunk_size(fmt: str | None = None) -> int:
    """The longest cookie value NextAuth writes unchunked for ``fmt`` (default: the configured)."""
    return COOKIE_CHUNK_SIZES.get(fmt or app_settings.JWT_FORMAT, COOKIE_CHUNK_SIZES[FORMAT_JWS])


def _is_secure(name: str) -> bool:
    return name.startswith((SECURE_PREFIX, HOST_PREFIX)) or app_settings.SECURE_COOKIE


def _expire(response: HttpResponseBase, name: str) -> None:
    # Same path and attributes as when set, or browsers keep the original.
    response.set_cookie(
        name,
        "",
        max_age=0,
        expires="Thu, 01 Jan 1970 00:00:00 GMT",
        path="/",
        domain=app_settings.COOKIE_DOMAIN,
        secure=_is_secure(name),
        httponly=True,
        samesite="Lax",
    )
    parent = app_settings.DELETE_COOKIE_DOMAIN
    if parent is None or name.startswith(HOST_PREFIX):
        return
    # The same name again: for the parent domain when the line above was host-only (a cookie
    # a sibling subdomain set there), host-only when it named the domain. A response keeps one
    # morsel per dict key and writes each morsel's own name: a second key gives a second
    # Set-Cookie line for the same cookie name.
    other = None if app_settings.COOKIE_DOMAIN else parent
    morsel: Morsel[str] = Morsel()
    morsel.set(name, "", "")
    attributes: Any = {
        "expires": "Thu, 01 Jan 1970 00:00:00 GMT",
        "max-age": 0,
        "path": "/",
        "secure": _is_secure(name),
        "httponly": True,
        "samesite": "Lax",
    }
    morsel.update(attributes)
    if other is not None:
        morsel["domain"] = other
    dict.__setitem__(response.cookies, f"{name}\x00{other or 'host'}", morsel)


def set_session_cookie(
    response: HttpResponseBase,
    token: str,
    *,
    max_age: int | None = None,
    name: str | None = None,
    request: HttpRequest | None = None,
) -> None:
    """Put ``token`` in the session cookie of ``response``, chunked exactly as NextAuth does.

    ``max_age`` defaults to ``NEXTAUTH_MAX_AGE`` and ``name`` to the configured
    session cookie name. The cookie is HttpOnly, SameSite=Lax, Path=/, and
    Secure when the name is ``__Secure-``/``__Host-`` prefixed or
    ``NEXTAUTH_SECURE_COOKIE`` is on. Pass ``request`` so that chunks it still
    carries and the new value does not overwrite are expired.
    """
    name = name or app_settings.session_cookie_name()
    max_age = app_settings.MAX_AGE if max_age is None else max_age
    size = chunk_size()
    if len(token) <= size:
        written = {name: token}
    else:
        written = {
            f"{name}.{i}": token[start : start + size]
            for i, start in enumerate(range(0, len(token), size))
        }
    secure = _is_secure(name)
    for cookie_name, value in written.items():
        response.set_cookie(
            cookie_name,
            value,
            max_age=max_age,
            path="/",
            domain=app_settings.COOKIE_DOMAIN,
            secure=secure,
            httponly=True,
            samesite="Lax",
        )
    # A reader refuses the exact name and chunks together, and a gap-free run
    # longer than the new one: expire whatever the browser may still hold.
    stale: set[str] = set() if name in written else {name}
    if request is not None:
        stale.update(_stale_chunks(request, name))
    for cookie_name in sorted(stale - written.keys()):
        _expire(response, cookie_name)


def delete_session_cookie(
    response: HttpResponseBase, request: HttpRequest | None = None, name: str | None = None
) -> None:
    """Expire the session cookie (every name read, or ``name``) and the chunks ``request`` holds.

    Chunks only up to ``NEXTAUTH_MAX_COOKIE_CHUNKS``; and each name also for the parent domain
    (``NEXTAUTH_COOKIE_DOMAIN``, else Django's ``SESSION_COOKIE_DOMAIN``) when one is set.
    """
    names = (name,) if name else session_cookie_names()
    targets: set[str] = set(names)
    if request is not None:
        for cookie in names:
            targets.update(_stale_chunks(request, cookie))
    for cookie_name in sorted(targets):
        _expire(response, cookie_name)
    if request is not None:
        _expire_planted(response, request, names)


#: How deep into the request's path, and how many of its host's parent domains, a deletion
#: of a cookie the request carried reaches (:func:`_expire_planted`); and its most lines.
PLANTED_PATH_SEGMENTS = 3
PLANTED_PARENT_DOMAINS = 3
PLANTED_MAX_LINES = 64


def _planted_paths(path: str) -> list[str]:
    """Every ``Path`` a cookie sent with a request for ``path`` can have, within bounds.

    A browser sends a cookie when its path is a prefix of the request's at a ``/``: ``/``
    and, for the first :data:`PLANTED_PATH_SEGMENTS` segments, each prefix with and without
    its trailing slash (``/api``, ``/api/``, ...). ``/`` first.
    """
    found = ["/"]
    prefix = ""
    for segment in path.split("/")[1 : PLANTED_PATH_SEGMENTS + 1]:
        if not segment:
            break
        prefix = f"{prefix}/{segment}"
        found.extend((prefix, f"{prefix}/"))
    return found


def _planted_domains(request: HttpRequest) -> list[str | None]:
    """Every ``Domain`` a cookie sent to this host can have, within bounds; ``None``: host-only.

    Host-only first, then the configured cookie domains, then the host's parents (a sibling
    subdomain can set a cookie for any of them), the nearest first, never a single label.
    """
    found: list[str | None] = [None]
    for configured in (app_settings.COOKIE_DOMAIN, app_settings.DELETE_COOKIE_DOMAIN):
        if configured and configured not in found:
            found.append(configured)
    try:
        host = request.get_host().rsplit(":", 1)[0] if "]" not in request.get_host() else ""
    except Exception:  # a host Django refuses has no parents to name
        host = ""
    labels = host.strip(".").split(".")
    if len(labels) > 2 and not labels[-1].isdigit():  # a name, not an IPv4 address
        parents = [".".join(labels[i:]) for i in range(1, len(labels) - 1)]
        for parent in parents[:PLANTED_PARENT_DOMAINS]:
            if parent not in found and f".{parent}" not in found:
                found.append(parent)
    return found


def _carried_names(request: HttpRequest, names: Iterable[str]) -> list[str]:
    """The cookies of ``names`` (whole, or chunks a reader would take) the request carried.

    Whole names first, then chunks by index; each once, whatever the ``Cookie`` header
    repeats.
    """
    sent = set(raw_cookie_names(request))
    whole = [name for name in names if name in sent]
    limit = _max_chunks()
    chunks = sorted(
        (index, key)
        for name in names
        for index, key in _chunk_indexes(sent, name).items()
        if index < limit
    )
    return whole + [key for _, key in chunks if key not in whole]


def _expire_planted(response: HttpResponseBase, request: HttpRequest, names: Iterable[str]) -> None:
    """Expire each session cookie the request carried for every path and domain it can have.

    A sibling subdomain can set ``name.0=x; Domain=<parent>; Path=/api``: sent with every
    ``/api`` request beside the person's own cookie (``token_ambiguous``), and untouched by a
    deletion for ``Path=/``. A deletion must name the cookie's domain and path exactly; the
    browser does not say which they are, so every candidate is expired for every path a
    cookie sent to this request can have (:func:`_planted_paths`), host-only and for every
    domain it can have (:func:`_planted_domains`). Bounded: at most
    :data:`PLANTED_MAX_LINES` lines, whole names first. ``__Host-`` names are skipped: no
    sibling can set one. What :func:`delete_session_cookie` adds for a request.
    """
    carried = [name for name in _carried_names(request, names) if not name.startswith(HOST_PREFIX)]
    if not carried:
        return
    # Path=/ host-only and for the configured domain: _expire's lines already.
    done = {
        ("/", None),
        ("/", app_settings.COOKIE_DOMAIN),
        ("/", app_settings.DELETE_COOKIE_DOMAIN),
    }
    pairs = [
        (path, domain)
        for path in _planted_paths(request.path)
        for domain in _planted_domains(request)
        if (path, domain) not in done
    ]
    secure = request.is_secure()
    written = 0
    for name in carried:
        for path, domain in pairs:
            if written >= PLANTED_MAX_LINES:
                return
            morsel: Morsel[str] = Morsel()
            morsel.set(name, "", '""')
            attributes: Any = {"max-age": 0, "path": path, "secure": secure or _is_secure(name)}
            morsel.update(attributes)
            if domain is not None:
                morsel["domain"] = domain
            # One morsel per key: each (path, domain) of a name is its own Set-Cookie line.
            dict.__setitem__(response.cookies, f"{name}\x00{path}\x00{domain or ''}", morsel)
            written += 1


def _stale_chunks(request: HttpRequest, name: str) -> list[str]:
    """The chunks of ``name`` the request holds, within ``NEXTAUTH_MAX_COOKIE_CHUNKS``.

    A request can carry hundreds of ``name.N`` cookies; only indexes a reader would take
    are answered, so a response never grows with what the request chose to send.
    """
    limit = _max_chunks()
    return [key for index, key in _chunk_indexes(request.COOKIES, name).items() if index < limit]

"""The last step of every sign-in, password or Google: mint the token, set the cookie.

Below both :mod:`~django_nextauth_jwt.views` and :mod:`~django_nextauth_jwt.pipeline`,
which each end a sign-in here and import nothing of each other.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib.auth import user_logged_in
from django.http import HttpRequest, HttpResponse

from django_nextauth_jwt.tokens import build_payload, encode
from django_nextauth_jwt.transport import set_session_cookie
from django_nextauth_jwt.users import claims_for_user

__all__ = ["CALLBACK_SESSION_KEY", "sign_in"]

#: Where ``POST signin/google`` keeps the sanitised ``callbackUrl`` for the callback.
CALLBACK_SESSION_KEY = "nextauth_jwt_callback_url"


def sign_in(
    request: HttpRequest, user: Any, respond: Callable[[str, dict[str, Any]], HttpResponse]
) -> HttpResponse:
    """End a sign-in: mint ``user``'s token, answer ``respond(token, claims)`` with its cookie.

    The one way every sign-in (password or Google) issues a session: the token
    NextAuth and the mesh accept, the session cookie (chunked, stale chunks
    expired) and Django's ``user_logged_in`` signal (``last_login``).
    """
    payload = build_payload(claims_for_user(user))
    token = encode(payload)
    claims = {**payload, "id": payload["sub"]}
    response = respond(token, claims)
    set_session_cookie(response, token, max_age=claims["exp"] - claims["iat"], request=request)
    user_logged_in.send(sender=user.__class__, request=request, user=user)
    return response

"""social-auth pipeline steps that end a Google sign-in with a NextAuth token.

Use :data:`PIPELINE` as ``SOCIAL_AUTH_PIPELINE``: social-core's default steps
(which never link an account by email), a verified-email guard first, and
:func:`issue_token` last.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse, HttpResponseRedirect

__all__ = ["PIPELINE", "issue_token", "require_verified_email"]

PIPELINE = (
    "django_nextauth_jwt.pipeline.require_verified_email",
    "social_core.pipeline.social_auth.social_details",
    "social_core.pipeline.social_auth.social_names",
    "social_core.pipeline.social_auth.social_uid",
    "social_core.pipeline.social_auth.auth_allowed",
    "social_core.pipeline.social_auth.social_user",
    "social_core.pipeline.user.get_username",
    "social_core.pipeline.user.create_user",
    "social_core.pipeline.social_auth.associate_user",
    "social_core.pipeline.social_auth.load_extra_data",
    "social_core.pipeline.user.user_details",
    "django_nextauth_jwt.pipeline.issue_token",
)


def require_verified_email(backend: Any, response: Any, *args: Any, **kwargs: Any) -> None:
    """Refuse a Google profile whose email Google has not verified.

    An unverified address proves nothing about who owns it: it must never
    reach a step that could match it to an existing account.
    """
    from social_core.exceptions import AuthPolicyError

    if not isinstance(response, dict) or response.get("email_verified") is not True:
        raise AuthPolicyError(backend, "email not verified")


def issue_token(
    strategy: Any, backend: Any, user: Any = None, *args: Any, **kwargs: Any
) -> HttpResponse:
    """Mint the token for ``user``, set the session cookie, redirect to ``callbackUrl``.

    The ``callbackUrl`` is the one saved (and sanitised) when the flow began.
    """
    from social_core.exceptions import AuthPolicyError

    # Imported here, not above: settings.py imports PIPELINE before Django is set up.
    from django_nextauth_jwt.redirects import safe_redirect_url
    from django_nextauth_jwt.signin import CALLBACK_SESSION_KEY, sign_in

    if user is None or not getattr(user, "is_active", False):
        raise AuthPolicyError(backend, "inactive user")
    request = strategy.request
    callback = safe_redirect_url(strategy.session_get(CALLBACK_SESSION_KEY))
    response = sign_in(request, user, lambda token, claims: HttpResponseRedirect(callback))
    # Tell the callback view the pipeline ended here, with a token.
    request.nextauth_token_issued = True
    return response

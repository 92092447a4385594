"""social-core's GoogleOAuth2, its three endpoints pointed at a local stand-in server.

Everything else (state, token exchange, userinfo parsing, the pipeline) is the
real social-core code. ``BASE_URL`` is set by the ``google`` fixture.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from social_core.backends.google import GoogleOAuth2

if TYPE_CHECKING:
    _GoogleOAuth2 = GoogleOAuth2[Any]
else:  # social-core before 7 (with Django 4.2 and 5.1) takes no type parameter
    _GoogleOAuth2 = GoogleOAuth2


class StandInGoogleOAuth2(_GoogleOAuth2):
    """Google OAuth2 against ``BASE_URL`` instead of Google."""

    BASE_URL = "http://127.0.0.1:9"  # replaced per test by the stand-in's address

    @property
    def AUTHORIZATION_URL(self) -> str:  # type: ignore[override]
        return f"{self.BASE_URL}/o/oauth2/auth"

    @property
    def ACCESS_TOKEN_URL(self) -> str:  # type: ignore[override]
        return f"{self.BASE_URL}/o/oauth2/token"

    def user_data(self, access_token: str, *args: Any, **kwargs: Any) -> dict[str, Any] | None:
        response: dict[str, Any] = self.get_json(
            f"{self.BASE_URL}/oauth2/v3/userinfo",
            headers={"Authorization": f"Bearer {access_token}"},
        )
        self.validate_email_verified(response)
        return response

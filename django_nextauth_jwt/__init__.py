"""Verify and mint NextAuth (Auth.js) session tokens in Django.

Formats: HS256 JWS, NextAuth v4 JWE and Auth.js v5 JWE.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["AuthResult", "JWTAuth", "__version__"]

if TYPE_CHECKING:
    from django_nextauth_jwt.tokens import AuthResult, JWTAuth


def __getattr__(name: str) -> Any:
    # Lazy, so that importing the package (e.g. from settings.py) loads no Django code.
    if name in ("JWTAuth", "AuthResult"):
        from django_nextauth_jwt import tokens

        return getattr(tokens, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

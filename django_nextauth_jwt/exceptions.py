"""One error hierarchy with stable, machine-readable codes.

Messages are fixed strings: they never contain the token, a claim value or a
secret, so they are safe to log and to return in a response body.
"""

from __future__ import annotations


class NextAuthJWTError(Exception):
    """Root of every error this app raises on purpose."""

    code = "nextauth_error"
    default_message = "Authentication failed."

    def __init__(self, message: str | None = None) -> None:
        self.message = message or self.default_message
        super().__init__(self.message)


class InvalidToken(NextAuthJWTError):
    """The token was offered but is not acceptable (base class of every token error).

    Raised as such when a signature or an authentication tag does not verify
    under any configured secret.
    """

    code = "token_invalid"
    default_message = "Token is invalid."


class TokenMissing(InvalidToken):
    """No token was offered where one was required."""

    code = "token_missing"
    default_message = "No token was provided."


class TokenMalformed(InvalidToken):
    """Not a well-formed compact JWS/JWE: wrong shape, bad base64url or JSON, too large."""

    code = "token_malformed"
    default_message = "Token is malformed."


class TokenAmbiguous(InvalidToken):
    """More than one candidate token: a session cookie sent twice, or whole and in chunks.

    A sibling subdomain can set a cookie of the same name for a parent domain; which one a
    parser keeps is an accident (Django keeps the last, NextAuth the first), so none is used.
    """

    code = "token_ambiguous"
    default_message = "More than one session token was sent."


class TokenUnsupported(InvalidToken):
    """Well-formed, but its format, ``alg``, ``enc`` or header parameters are not allowed."""

    code = "token_unsupported"
    default_message = "Token format or algorithm is not accepted."


class TokenExpired(InvalidToken):
    """``exp`` has passed (beyond the leeway)."""

    code = "token_expired"
    default_message = "Token has expired."


class SessionTooOld(TokenExpired):
    """The session is older than ``NEXTAUTH_SESSION_MAX_LIFETIME``, whatever the token's ``exp``.

    Its age runs from ``auth_time`` (kept across NextAuth's refreshes), else ``iat``. A
    subclass of ``TokenExpired``: code that catches expiry catches this too.
    """

    code = "session_too_old"
    default_message = "Session has passed its absolute lifetime; sign in again."


class TokenNotYetValid(InvalidToken):
    """``nbf``, ``iat`` or ``auth_time`` is in the future (beyond the leeway)."""

    code = "token_not_yet_valid"
    default_message = "Token is not yet valid."


class TokenClaimsInvalid(InvalidToken):
    """A claim is missing or wrong: ``exp``, ``sub``, ``iss``, ``aud``, time-claim types.

    Also ``auth_time`` later than ``iat``: a sign-in after the token was issued.
    """

    code = "token_claims_invalid"
    default_message = "Token claims are invalid."


class TokenRevoked(InvalidToken):
    """The token's session (``sid``), the token itself, or its user's sessions were revoked."""

    code = "token_revoked"
    default_message = "Token has been revoked."


class RevocationUnavailable(InvalidToken):
    """The revocation store could not be reached and the policy is to fail closed."""

    code = "revocation_unavailable"
    default_message = "Token revocation status could not be checked."


class KeysUnavailable(InvalidToken):
    """No verification key could be had: the JWKS is unreachable and the cached one too old."""

    code = "keys_unavailable"
    default_message = "Token verification keys are unavailable."

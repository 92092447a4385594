"""The names of the token formats: a leaf module that imports nothing, Django included.

Both :mod:`~django_nextauth_jwt.jose.codec` (which must not import Django) and
:mod:`~django_nextauth_jwt.conf` (the settings) need these names.
"""

from __future__ import annotations

FORMAT_JWS = "jws"
FORMAT_NEXTAUTH_V4 = "nextauth-v4"
FORMAT_AUTHJS_V5 = "authjs-v5"
#: Compact JWS signed with a private key (EdDSA, ES256, RS256), verified with public keys.
FORMAT_JWS_ASYMMETRIC = "jws-asymmetric"
FORMATS = (FORMAT_JWS, FORMAT_NEXTAUTH_V4, FORMAT_AUTHJS_V5, FORMAT_JWS_ASYMMETRIC)
#: The formats whose keys come from ``NEXTAUTH_SECRET``.
SYMMETRIC_FORMATS = (FORMAT_JWS, FORMAT_NEXTAUTH_V4, FORMAT_AUTHJS_V5)

JWS_ALGORITHMS = ("HS256", "HS384", "HS512")
#: The algorithms of ``jws-asymmetric``; each key's type gives exactly one of them.
ASYMMETRIC_ALGORITHMS = ("EdDSA", "ES256", "RS256")

"""Optional framework glue, one module each, each behind its own extra.

* :mod:`.channels`: ``NextAuthChannelsMiddleware`` for Django Channels (``[channels]``);
* :mod:`.ninja`: ``NextAuth`` and ``AsyncNextAuth`` auth classes for Django Ninja (``[ninja]``).

Async DRF (adrf) needs no glue: ``authentication.NextAuthJWTAuthentication`` works there as it
is (``[adrf]`` installs adrf). Every module here is a thin shell over
:func:`django_nextauth_jwt.request.authenticate_request` and ``tokens.JWTAuth``: none decodes a
token or reads a cookie on its own. Nothing imports this package unless a project names it.
"""

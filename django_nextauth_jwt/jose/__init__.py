"""The token core: the formats, keys and key sets, with no Django and no DRF.

Every input is explicit (a :class:`~django_nextauth_jwt.jose.codec.Keyring`, the
allowed formats, the algorithm, the size limit), so the core is tested bare:
``tests/codec/`` runs in a process where Django is never imported. The one thing
it shares with the rest of the package is :mod:`django_nextauth_jwt.exceptions`,
a leaf with no imports.
"""

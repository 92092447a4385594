"""Who a value names, decided in Python: never by a database collation.

``__iexact`` is ``UPPER(a) = UPPER(b)`` on PostgreSQL (the upper case of the dotless i is
``I``) and a case- and accent-insensitive collation on MariaDB (``'ädä' = 'ada'``, trailing
spaces ignored): the database may only *narrow* the candidates. The rule that decides:

* an email (or a sign-in identifier) matches when both are equal after NFC normalisation
  and lower-casing of the ASCII letters A-Z; nothing else is folded (no ß→ss, no
  dotless i, no long s, no accent stripping, no NFKC);
* a primary key matches only in its canonical string form, what ``str(pk)`` gives back;
* any other field matches only when equal.

Two rows that match one value are a refusal, never a guess. Values a database rejects or
truncates (NUL, lone surrogates, longer than the column) never reach a query.
"""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Iterable, Sequence
from typing import Any

from django.db.models import Field, IntegerField, Q

__all__ = [
    "Ambiguous",
    "candidates_query",
    "canonical",
    "canonical_value",
    "fits",
    "matching",
    "same_identity",
    "storable",
]

logger = logging.getLogger(__name__)

_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


class Ambiguous(Exception):
    """More than one row matches one identity: refuse, do not guess."""

    def __init__(self, count: int) -> None:
        self.count = count
        super().__init__(f"{count} rows match one identity")


def canonical(value: str) -> str:
    """The form two spellings of one email or sign-in identifier share: NFC, ASCII lower-case.

    ``canonical("Jose\\u0301@Example.COM") == "josé@example.com"``, while ``"straße"``,
    ``"adm\\u0131n"`` and the full-width ``"\\uff21\\uff24\\uff21"`` stay what they are.
    """
    return unicodedata.normalize("NFC", value).translate(_ASCII_LOWER)


def same_identity(a: object, b: object) -> bool:
    """True when ``a`` and ``b`` are strings with one canonical form (and not empty)."""
    return isinstance(a, str) and isinstance(b, str) and bool(a) and canonical(a) == canonical(b)


def storable(value: str) -> bool:
    """A string every supported database stores and compares as it is.

    PostgreSQL refuses NUL; no driver can encode a lone surrogate.
    """
    if "\x00" in value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def fits(field: Field[Any, Any], value: object) -> bool:
    """``value`` can be stored in ``field`` as it is.

    A string must be :func:`storable` and no longer than the field's ``max_length``; an
    integer must lie in the column's range. Otherwise an INSERT fails (PostgreSQL,
    MariaDB in strict mode), overflows the driver (SQLite) or is silently truncated.
    """
    if isinstance(value, str):
        limit = getattr(field, "max_length", None)
        return storable(value) and (limit is None or len(value) <= limit)
    if isinstance(value, int) and isinstance(field, IntegerField):
        from django.db import connections, router

        model = getattr(field, "model", None)
        alias = router.db_for_write(model) if model is not None else "default"
        internal_type = field.get_internal_type()
        low, high = connections[alias].ops.integer_field_range(internal_type)
        if low is None and high is None:
            # Django < 5.0 gives SQLite no range, yet its driver overflows past 64 bits:
            # take the type's standard range, as Django 5.0+ does.
            from django.db.backends.base.operations import BaseDatabaseOperations

            ranges = BaseDatabaseOperations.integer_field_ranges
            low, high = ranges.get(internal_type, (None, None))
        return (low is None or value >= low) and (high is None or value <= high)
    return True


def canonical_value(field: Field[Any, Any], value: object) -> Any:
    """The value of ``field`` (the primary key, or any exactly matched field) that ``value``
    names, or ``None`` when ``value`` is not its canonical string form, ``str(pk)``.

    ``"042"``, ``"+42"``, ``" 42"``, ``"4_2"``, ``"٤٢"`` and ``"42.0"`` name no user, though
    ``int()`` or the field's ``to_python`` would accept them; neither does a string a
    database cannot store, nor an integer beyond the column's range. An integer claim names an
    integer key as it is.
    """
    from django.core.exceptions import ValidationError

    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    try:
        cleaned = field.to_python(value)
    except (ValidationError, ValueError, TypeError, OverflowError):
        return None
    if cleaned is None:
        return None
    if isinstance(cleaned, str) and not storable(cleaned):
        return None
    if isinstance(cleaned, int) and not fits(field, cleaned):
        # Out of the column's range: Django 5.0+ finds no row, Django 4.2 and SQLite overflow.
        return None
    if isinstance(value, int):
        return cleaned if cleaned == value or cleaned == str(value) else None
    return cleaned if str(cleaned) == value else None


def _forms(value: str) -> list[str]:
    # Both normal forms: a stored address is found whether it was saved composed or
    # decomposed; the database folds ASCII case (and more), Python confirms.
    return list(dict.fromkeys((value, *(unicodedata.normalize(f, value) for f in ("NFC", "NFD")))))


def candidates_query(fields: Sequence[str], value: str) -> Q:
    """A query that finds at least every row whose ``fields`` match ``value`` under
    :func:`canonical` (and usually more: confirm with :func:`matching`)."""
    query = Q()
    for name in fields:
        for form in _forms(value):
            query |= Q(**{f"{name}__iexact": form})
    return query


def matching(rows: Iterable[Any], fields: Sequence[str], value: str, *, what: str) -> Any:
    """The one row of ``rows`` whose ``fields`` match ``value`` canonically, or ``None``.

    Raises :class:`Ambiguous` (after logging the rows' primary keys, never the value) when
    more than one does.
    """
    found = {
        row.pk: row for row in rows if any(same_identity(getattr(row, f), value) for f in fields)
    }
    if len(found) > 1:
        logger.warning(
            "%d users match one %s (pks %s): refused; give each a distinct address",
            len(found),
            what,
            ", ".join(str(pk) for pk in sorted(found, key=str)),
        )
        raise Ambiguous(len(found))
    return next(iter(found.values()), None)


def has_field(model: Any, name: str) -> bool:
    """Whether ``model`` has a field called ``name`` (custom user models may lack an email)."""
    from django.core.exceptions import FieldDoesNotExist

    try:
        model._meta.get_field(name)
    except FieldDoesNotExist:
        return False
    return True

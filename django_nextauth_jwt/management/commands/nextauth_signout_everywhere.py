"""``manage.py nextauth_signout_everywhere``: end every session of a user, on every device."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from django_nextauth_jwt import identity, users
from django_nextauth_jwt.tokens import JWTAuth


class Command(BaseCommand):
    """Write the person's cut-off: their tokens signed into until now are refused everywhere.

    What ``POST signout-everywhere`` and ``JWTAuth.revoke_user`` write: in database mode the
    Django user's (every ``sub`` that resolves to that row), in stateless mode the subject's.
    """

    help = (
        "Sign a user out everywhere: refuse every token of that person signed into until now "
        "(by --id, the token's sub, or --email, a user of this database)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        """``--id`` | ``--email``."""
        who = parser.add_mutually_exclusive_group(required=True)
        who.add_argument(
            "--id",
            dest="sub",
            help="the token subject (sub); in database mode, the user's id as tokens minted "
            "here carry it",
        )
        who.add_argument("--email", help="the email address of a user of this database")

    def handle(self, *args: Any, **options: Any) -> None:
        """Resolve the person, write the cut-off, say so."""
        target: Any = options["sub"]
        if options["email"] is not None:
            target = self._by_email(options["email"])
        elif not target or target != target.strip():
            raise CommandError("--id must be a non-empty subject.")
        try:
            cutoff = JWTAuth.revoke_user(target)
        except users.UserNotFound as exc:
            raise CommandError("No such user.") from exc
        except Exception as exc:  # every store backend fails in its own way
            raise CommandError(
                f"Could not write the cut-off: the state store failed ({type(exc).__name__})."
            ) from exc
        named = options["sub"] if options["sub"] is not None else f"user {target.pk}"
        self.stdout.write(f"Signed out everywhere: tokens of {named} up to {cutoff} are refused.")

    def _by_email(self, email: str) -> Any:
        """The one user whose address is ``email`` under :mod:`identity`'s rule, not a collation.

        ``__iexact`` alone would let a look-alike address name the real account (the dotless
        ``\\u0131`` upper-cases to ``I`` on PostgreSQL; MariaDB's collation ignores accents).
        """
        model = get_user_model()
        field = model.get_email_field_name()
        if not email or not identity.storable(email) or not identity.has_field(model, field):
            raise CommandError("No such user.")
        rows = model._default_manager.filter(identity.candidates_query([field], email))
        try:
            user = identity.matching(rows, [field], email, what="email")
        except identity.Ambiguous as exc:
            raise CommandError("Several users have that email; use --id.") from exc
        if user is None:
            raise CommandError("No such user.")
        return user

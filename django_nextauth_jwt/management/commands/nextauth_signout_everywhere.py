"""``manage.py nextauth_signout_everywhere``: end every session of a user, on every device."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from django_nextauth_jwt.tokens import JWTAuth


class Command(BaseCommand):
    """Write the user's cut-off: their tokens signed into until now are refused everywhere."""

    help = (
        "Sign a user out everywhere: refuse every token of that subject signed into until now "
        "(by --id, the token's sub, or --email, a user of this database)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        """``--id`` | ``--email``."""
        who = parser.add_mutually_exclusive_group(required=True)
        who.add_argument("--id", dest="sub", help="the token subject (sub), e.g. a user's id")
        who.add_argument("--email", help="the email address of a user of this database")

    def handle(self, *args: Any, **options: Any) -> None:
        """Resolve the subject, write the cut-off, say so."""
        sub = options["sub"]
        if options["email"] is not None:
            model = get_user_model()
            field = model.get_email_field_name()
            try:
                user = model._default_manager.get(**{f"{field}__iexact": options["email"]})
            except model.DoesNotExist as exc:
                raise CommandError("No such user.") from exc
            except model.MultipleObjectsReturned as exc:
                raise CommandError("Several users have that email; use --id.") from exc
            sub = str(user.pk)
        if not sub or sub != sub.strip():
            raise CommandError("--id must be a non-empty subject.")
        try:
            cutoff = JWTAuth.revoke_user(sub)
        except Exception as exc:  # every store backend fails in its own way
            raise CommandError(
                f"Could not write the cut-off: the state store failed ({type(exc).__name__})."
            ) from exc
        self.stdout.write(f"Signed out everywhere: tokens of {sub} up to {cutoff} are refused.")

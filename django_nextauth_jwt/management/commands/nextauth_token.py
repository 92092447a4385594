"""``manage.py nextauth_token``: mint a session token for a user or for given claims."""

from __future__ import annotations

import json
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from django_nextauth_jwt import identity
from django_nextauth_jwt.conf import FORMATS
from django_nextauth_jwt.tokens import JWTAuth
from django_nextauth_jwt.users import claims_for_user


class Command(BaseCommand):
    """Print a token (and nothing else) on stdout, ready for ``Authorization: Bearer``."""

    help = "Mint a NextAuth session token for a user (by --email or --id) or for --claims."

    def add_arguments(self, parser: CommandParser) -> None:
        """``--email`` | ``--id`` | ``--claims``, plus ``--format`` and ``--max-age``."""
        who = parser.add_mutually_exclusive_group(required=True)
        who.add_argument("--email", help="the user's email address")
        who.add_argument("--id", dest="user_id", help="the user's primary key")
        who.add_argument("--claims", help='a JSON object, e.g. {"id": "42", "role": "admin"}')
        parser.add_argument("--format", choices=FORMATS, help="default: NEXTAUTH_JWT_FORMAT")
        parser.add_argument("--max-age", type=int, help="lifetime in seconds")

    def handle(self, *args: Any, **options: Any) -> None:
        """Look up the user or parse the claims, then mint."""
        if options["claims"] is not None:
            try:
                claims = json.loads(options["claims"])
            except json.JSONDecodeError as exc:
                raise CommandError(f"--claims is not valid JSON: {exc.msg}") from exc
            if not isinstance(claims, dict):
                raise CommandError("--claims must be a JSON object")
        else:
            claims = claims_for_user(self._find_user(options["email"], options["user_id"]))
        if options["max_age"] is not None and options["max_age"] <= 0:
            raise CommandError("--max-age must be positive")
        try:
            token = JWTAuth.create(claims, format=options["format"], max_age=options["max_age"])
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(token)

    def _find_user(self, email: str | None, user_id: str | None) -> Any:
        model = get_user_model()
        manager = model._default_manager
        try:
            if email is not None:
                # The rule database mode and custom-login use, not the database's collation.
                field = model.get_email_field_name()
                rows = manager.filter(identity.candidates_query([field], email))
                user = identity.matching(rows, [field], email, what="--email")
                if user is None:
                    raise model.DoesNotExist
                return user
            return manager.get(pk=str(user_id))
        except (model.DoesNotExist, ValueError) as exc:
            what = "that email" if email is not None else "that id"
            if not manager.exists():
                hint = "The database has no users yet: run `manage.py migrate`, then create one "
                hint += "(`manage.py createsuperuser`)"
            else:
                hint = f"No user has {what}: check it, or create the user"
            raise CommandError(
                f"No such user. {hint}, or mint for claims alone: "
                """--claims '{"id": "42", "email": "ada@example.com"}'."""
            ) from exc
        except (model.MultipleObjectsReturned, identity.Ambiguous) as exc:
            raise CommandError("Several users have that email; use --id.") from exc

"""``manage.py ensure_demo_user``: the example's demo accounts, created once, and how to use them.

Development only by default: with DEBUG off the command refuses, unless ``DEMO_USERS=1`` opts
in; then both passwords must come from the environment (``DEMO_PASSWORD``, ``ADMIN_PASSWORD``):
the built-in ones are public and the admin account has the admin role.
"""

from __future__ import annotations

import os
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

#: (email, the environment variable of its password, the DEBUG-only built-in password, staff)
ACCOUNTS = (
    ("demo@example.com", "DEMO_PASSWORD", "demo-password", False),
    ("admin@example.com", "ADMIN_PASSWORD", "admin-password", True),
)


def passwords() -> dict[str, str]:
    """Each account's password: from the environment, or the built-in one under DEBUG only."""
    if not settings.DEBUG and os.environ.get("DEMO_USERS") != "1":
        raise CommandError(
            "Refusing to create the demo accounts with DEBUG off: they have well-known "
            "passwords and one is an admin. Use DJANGO_DEBUG=1 for local development, or "
            "opt in on a deployment with DEMO_USERS=1 and DEMO_PASSWORD and ADMIN_PASSWORD set."
        )
    chosen: dict[str, str] = {}
    missing: list[str] = []
    for _, env, default, _ in ACCOUNTS:
        value = os.environ.get(env, "")
        if settings.DEBUG:
            chosen[env] = value or default
        elif not value or value == default:
            missing.append(env)
        else:
            chosen[env] = value
    if missing:
        raise CommandError(
            f"DEMO_USERS=1 with DEBUG off: set {' and '.join(missing)} in the environment "
            "(not the built-in development password); with DEBUG off none is built in."
        )
    return chosen


class Command(BaseCommand):
    help = (
        "Create the demo user and the demo admin if missing, then print how to sign in. "
        "With DEBUG off: only with DEMO_USERS=1, DEMO_PASSWORD and ADMIN_PASSWORD."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        chosen = passwords()
        users = get_user_model()
        for email, env, _, staff in ACCOUNTS:
            if not users.objects.filter(email=email).exists():
                users.objects.create_user(
                    email,
                    email=email,
                    password=chosen[env],
                    first_name=email.split("@")[0].title(),
                    is_staff=staff,
                )
        # Print a password only if it is the public built-in one; otherwise name its variable.
        shown = {
            env: chosen[env] if chosen[env] == default else f"${env}"
            for _, env, default, _ in ACCOUNTS
        }
        demo, admin = shown["DEMO_PASSWORD"], shown["ADMIN_PASSWORD"]
        # In the single-quoted JSON below, a variable must leave the quotes to be expanded.
        in_json = demo if demo == chosen["DEMO_PASSWORD"] else f"'\"{demo}\"'"
        port = os.environ.get("PORT", "8000")
        base = os.environ.get("MESH_URL", f"http://127.0.0.1:{port}")
        self.stdout.write(
            f"""
Example service: {base}
  Sign in in a browser:  {base}/signin/   demo@example.com / {demo}
                                          admin@example.com / {admin} (role admin)
  Or with curl:
    TOKEN=$(curl -s {base}/api/auth/custom-login -H 'Content-Type: application/json' \\
      -d '{{"email": "demo@example.com", "password": "{in_json}"}}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
    curl {base}/api/me/ -H "Authorization: Bearer $TOKEN"
    curl {base}/api/admin/ -H "Authorization: Bearer $TOKEN"     # 403: not an admin
"""
        )

"""``manage.py ensure_demo_user``: the example's demo accounts, created once, and how to use them."""

from __future__ import annotations

import os
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

ACCOUNTS = (
    ("demo@example.com", "DEMO_PASSWORD", "demo-password", False),
    ("admin@example.com", "ADMIN_PASSWORD", "admin-password", True),
)


class Command(BaseCommand):
    help = "Create the demo user and the demo admin if missing, then print how to sign in."

    def handle(self, *args: Any, **options: Any) -> None:
        users = get_user_model()
        for email, env, default, staff in ACCOUNTS:
            password = os.environ.get(env, default)
            if not users.objects.filter(email=email).exists():
                users.objects.create_user(
                    email,
                    email=email,
                    password=password,
                    first_name=email.split("@")[0].title(),
                    is_staff=staff,
                )
        base = os.environ.get("MESH_URL", "http://127.0.0.1:8000")
        self.stdout.write(
            f"""
Example service: {base}
  Sign in in a browser:  {base}/signin/   demo@example.com / demo-password
                                          admin@example.com / admin-password (role admin)
  Or with curl:
    TOKEN=$(curl -s {base}/api/auth/custom-login -H 'Content-Type: application/json' \\
      -d '{{"email": "demo@example.com", "password": "demo-password"}}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
    curl {base}/api/me/ -H "Authorization: Bearer $TOKEN"
    curl {base}/api/admin/ -H "Authorization: Bearer $TOKEN"     # 403: not an admin
"""
        )

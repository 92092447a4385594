"""``manage.py nextauth_decode``: verify a token with the current settings and print its claims."""

from __future__ import annotations

import json
import sys
import unicodedata
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from django_nextauth_jwt.diagnostics import diagnose_input, diagnose_token
from django_nextauth_jwt.exceptions import InvalidToken
from django_nextauth_jwt.tokens import JWTAuth


class Command(BaseCommand):
    """Exit 0 and print the claims as JSON, or exit 1 and say why the token is refused."""

    help = (
        "Verify a NextAuth token with this project's settings and print its claims. "
        "Reads the token from standard input when none is given (keeps it out of shell history)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        """An optional positional token; ``-`` or nothing reads stdin."""
        parser.add_argument("token", nargs="?", default="-", help="the token, or - for stdin")
        parser.add_argument(
            "--explain",
            action="store_true",
            help="when the token is refused, say what was pasted if it is not a whole token, "
            "or which setting differs from the issuer's",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        """Verify and print, or raise ``CommandError`` with the stable error code."""
        raw: str = options["token"]
        token = (sys.stdin.read() if raw == "-" else raw).strip()
        try:
            claims = JWTAuth.verify(token)
        except InvalidToken as exc:
            message = f"refused ({exc.code}): {exc.message}"
            if options["explain"]:
                # What was pasted comes first: a cut-off JWS fails its signature check, and
                # would otherwise read as a secret that differs.
                diagnosis = diagnose_input(token) or diagnose_token(token, exc)
                message += "\n" + (
                    diagnosis.message
                    if diagnosis
                    else "It has the shape of a whole token, and no common misconfiguration "
                    "explains it: compare the settings with the issuer's (docs: Troubleshooting)."
                )
            raise CommandError(message, returncode=1) from exc
        try:
            text = json.dumps(claims, indent=2, sort_keys=True, ensure_ascii=False)
        except (ValueError, TypeError, RecursionError) as exc:
            raise CommandError("refused: the claims cannot be printed", returncode=1) from exc
        encoding = getattr(self.stdout._out, "encoding", None) or "utf-8"
        self.stdout.write(printable(text, encoding))


#: Unicode categories never printed as they are: controls, format characters (the bidi
#: overrides and isolates, zero-width joiners), surrogates, private use, unassigned, and
#: line and paragraph separators.
UNPRINTED = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


def printable(text: str, encoding: str = "utf-8") -> str:
    """``text`` (JSON) with every character a terminal would act on or could not show
    escaped as JSON ``\\uXXXX``: the output stays valid JSON, and a token's content can
    neither reorder nor recolour what an operator reads, nor crash the command."""
    out = []
    for char in text:
        if char == "\n" or (
            unicodedata.category(char) not in UNPRINTED and _encodable(char, encoding)
        ):
            out.append(char)
            continue
        code = ord(char)
        if code > 0xFFFF:
            code -= 0x10000
            out.append(f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}")
        else:
            out.append(f"\\u{code:04x}")
    return "".join(out)


def _encodable(char: str, encoding: str) -> bool:
    try:
        char.encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return False
    return True

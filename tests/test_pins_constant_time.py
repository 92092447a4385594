"""Every secret, tag or digest comparison goes through ``hmac.compare_digest`` (issue 27).

``==`` on a MAC or a CSRF hash gives the same answers as a constant-time compare, so no
behavioural test (and no mutation pass) tells them apart: the leak is in the timing. This
walks the package's source instead. No lint rule does it (ruff has none; bandit neither).

Two checks: no ``==``/``!=``/``in`` has a secret-derived operand anywhere in the package (a
name that says so, or a digest computed in place), and the known comparison sites each keep
their ``compare_digest`` calls (a slip that turns one into ``==`` on names the first check
does not know, such as the CSRF double submit's ``sent`` and ``token_bytes``).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import django_nextauth_jwt

PACKAGE = Path(django_nextauth_jwt.__file__).parent

#: A name (a variable, an attribute) one of whose ``_``-separated words is one of these holds
#: a secret, or a value derived from one that an attacker may try to guess byte by byte.
SECRET_WORDS = frozenset(
    {
        "secret",
        "secrets",
        "tag",
        "mac",
        "hmac",
        "digest",
        "hexdigest",
        "signature",
        "expected",
        "computed",
        "csrf",
        "password",
    }
)
#: ...unless it names something public about it: its length, its algorithm.
PUBLIC_WORDS = frozenset(
    {"len", "length", "lengths", "size", "alg", "algorithm", "use", "middleware"}
)
#: Calls that compute a digest in place.
DIGEST_CALLS = frozenset({"digest", "hexdigest"})
#: Where the package compares secrets, and how many ``compare_digest`` calls each makes.
COMPARISON_SITES = {
    ("csrf.py", "nextauth_csrf_valid"): 2,  # the cookie's hash, then the echoed token
    ("jose/codec.py", "_decode_jws"): 1,  # the HMAC signature
    ("jose/codec.py", "_open_cbc_hs512"): 1,  # the A256CBC-HS512 tag (v5, Better Auth)
    ("state/throttle.py", "asserted_address"): 1,  # the signed client address
}


def _words(name: str) -> set[str]:
    return {word for word in name.lower().split("_") if word}


def _secret_names(expr: ast.expr) -> Iterator[str]:
    """The secret-looking names and digest calls in ``expr``, outside ``len(...)``."""
    if isinstance(expr, ast.Call):
        func = expr.func
        if isinstance(func, ast.Name) and func.id == "len":
            return
        if isinstance(func, ast.Attribute) and func.attr in DIGEST_CALLS:
            yield ast.unparse(func)
        # What a call returns is compared, not its arguments (a key id looked up in the
        # keyring built from the secrets is public): only the called object is followed.
        yield from _secret_names(func)
        return
    name = expr.id if isinstance(expr, ast.Name) else getattr(expr, "attr", None)
    if isinstance(name, str):
        words = _words(name)
        if words & SECRET_WORDS and not words & PUBLIC_WORDS:
            yield name
    for child in ast.iter_child_nodes(expr):
        if isinstance(child, ast.expr):
            yield from _secret_names(child)


def _public_constant(expr: ast.expr) -> bool:
    """A literal, or a module constant by its name (``DEFAULT_SECRET``): nothing to guess."""
    if isinstance(expr, ast.Constant):
        return True
    return isinstance(expr, ast.Name) and expr.id.isupper()


def variable_time_comparisons(source: str) -> list[str]:
    """``line: comparison`` for every ``==``, ``!=``, ``in`` or ``not in`` on a secret."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Compare):
            continue
        if not any(isinstance(op, ast.Eq | ast.NotEq | ast.In | ast.NotIn) for op in node.ops):
            continue
        operands = (node.left, *node.comparators)
        if any(_public_constant(operand) for operand in operands):
            continue  # a shape check ("." in signature) or a default in the settings
        if any(True for operand in (node.left, *node.comparators) for _ in _secret_names(operand)):
            found.append(f"{node.lineno}: {ast.unparse(node)}")
    return found


def constant_time_calls(source: str) -> dict[str, int]:
    """How many ``compare_digest`` calls each function of ``source`` makes."""
    counts: dict[str, int] = {}
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            calls = sum(
                1
                for call in ast.walk(node)
                if isinstance(call, ast.Call) and ast.unparse(call.func).endswith("compare_digest")
            )
            if calls:
                counts[node.name] = calls
    return counts


def test_no_secret_tag_or_digest_is_compared_with_equality() -> None:
    found = {
        str(path.relative_to(PACKAGE)): hits
        for path in sorted(PACKAGE.rglob("*.py"))
        if (hits := variable_time_comparisons(path.read_text()))
    }
    assert found == {}, "compare secrets with hmac.compare_digest, not ==: " + repr(found)


def test_every_secret_comparison_site_keeps_its_constant_time_compares() -> None:
    for (module, function), calls in COMPARISON_SITES.items():
        counts = constant_time_calls((PACKAGE / module).read_text())
        assert counts.get(function) == calls, f"{module}: {function} lost a compare_digest"


def test_the_walk_finds_the_slips_it_is_for() -> None:
    # The check itself bites: the slips a reviewer would make, and what it must let pass.
    assert variable_time_comparisons("ok = computed == expected")
    assert variable_time_comparisons("ok = mac[:32] != tag")
    assert variable_time_comparisons("ok = key.digest(data) == signature")
    assert variable_time_comparisons("ok = expected.encode() == signature.encode()")
    assert variable_time_comparisons("ok = hashlib.sha256(b).hexdigest() in allowed")
    assert not variable_time_comparisons("ok = len(digest) != 64")
    assert not variable_time_comparisons("ok = len(tag) != tag_len")
    assert not variable_time_comparisons("ok = hmac.compare_digest(computed, expected)")
    assert not variable_time_comparisons("ok = kid in keyring(secrets).keys")
    assert not variable_time_comparisons("ok = '.' in signature")
    assert not variable_time_comparisons("ok = secret != DEFAULT_SECRET")

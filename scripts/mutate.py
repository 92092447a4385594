"""Mutation testing of the security modules: ``make mutate``.

Three passes, then one table:

1. mutmut 3 (its settings are ``[tool.mutmut]`` in pyproject.toml: the modules, the
   unit-level tests each mutant runs, fork-server isolation) on a fresh ``mutants/``;
2. the broad re-check: every mutant mutmut did not kill (survived, timed out, reached by no
   selected test) runs again, in a fresh process, against the whole fast suite
   (``FAST_SUITE``), unless ``mutation-equivalents.toml`` lists it;
3. what mutmut never mutates: module-level constants (allow-lists, regular expressions,
   limits) and decorated functions (``lru_cache``, ``cached_property``, ``derived``,
   ``receiver``). Simple AST mutations of those, one at a time, in a temporary copy of
   the project, each against the fast suite.

A module passes when at least ``THRESHOLD`` of its non-equivalent mutants are killed.
Equivalent mutants (no test can tell them from the original) are listed with a reason in
``mutation-equivalents.toml``; the run prints every other survivor, with its diff.

Usage: ``python scripts/mutate.py [--jobs N] [--reuse] [--keep-mutmut] [--no-ast] [--no-mutmut]
[--list] [--save-record] [--module NAME ...]``. ``--module`` runs one shard: that module's
mutmut mutants (run again, the other modules' results kept), their re-check and its AST pass,
and prints its row; the other modules' kills are kept in ``mutants/kills.json``. A fresh run in
shards: each module with ``--module`` (minutes to a quarter of an hour each), then ``--reuse``
for the whole table.
``--keep-mutmut`` (with ``--reuse``) skips mutmut's run and re-checks what it left, for a
shard whose modules have not changed since (tests added to kill its survivors).
``--reuse`` keeps ``mutants/``: mutmut then re-runs only the mutants of changed functions, and
a mutant the re-check or the AST pass killed in an earlier run stays killed while its module is
unchanged and every test file it met still runs, the same way (``mutants/kills.json``): only
the rest run again. Valid while tests are only added; after changing or removing a test, run
without it. Every run ends by writing those verdicts to ``mutation-record.json`` (committed);
``--reuse`` in a checkout without ``mutants/`` starts from it, so a table can be built over
several sittings. ``--save-record`` writes it from ``mutants/`` after a run stopped midway.
Exit status 1 when a module falls below the threshold.
"""

from __future__ import annotations

import argparse
import ast
import copy
import difflib
import functools
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeGuard, TypeVar

T = TypeVar("T")

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "django_nextauth_jwt"


@functools.cache
def source_path(module: str) -> Path:
    """Where ``module`` (a name unique in the package: ``codec``) lives, below ``ROOT``."""
    (found,) = (ROOT / PACKAGE).rglob(f"{module}.py")
    return found.relative_to(ROOT)


def dotted(module: str) -> str:
    """``module``'s import path: ``django_nextauth_jwt.jose.codec``."""
    return ".".join(source_path(module).with_suffix("").parts)


EQUIVALENTS = ROOT / "mutation-equivalents.toml"
THRESHOLD = 0.95

# The whole fast suite: everything but the npm, browser, process and example-project tests.
# The edge tests and the attack suite (which mutmut's own selection leaves out) come first:
# with -x, most mutants die in the first seconds.
FAST_SUITE = [
    "tests/test_pins_constant_time.py",
    "tests/codec/test_codec_edges.py",
    "tests/test_security_edges.py",
    "tests/codec/test_jwk_edges.py",
    "tests/test_store_edges.py",
    "tests/security",
    "tests/codec",
    "tests/test_tokens.py",
    "tests/test_transport.py",
    "tests/test_revocation.py",
    "tests/test_redirects.py",
    "tests/test_request_checks.py",
    "tests/test_middleware.py",
    "tests/test_authentication.py",
    "tests/test_views.py",
    "tests/test_users.py",
    "tests/test_throttle.py",
    "tests/test_checks.py",
    "tests/test_google.py",
    "tests/test_commands.py",
    "tests/test_identity.py",
    "tests/test_state_store.py",
    "tests/test_local_view.py",
    "tests/test_sessions.py",
    "tests/test_asymmetric.py",
    "tests/test_cookie_ambiguity.py",
    "tests/test_request_path.py",
    "tests/test_diagnostics.py",
    "tests/test_client_address.py",
    "tests/test_csrf_plain_views.py",
    "tests/test_pins_state.py",
    "tests/test_pins_policy.py",
    "tests/test_pins_better_auth_policy.py",
    "tests/test_pins_request.py",
    "tests/test_pins_signin.py",
    "tests/test_pins_users.py",
    "tests/test_pins_tokens.py",
    "tests/test_pins_authentication.py",
    "tests/test_pins_throttle.py",
    "tests/test_pins_views.py",
    "tests/test_pins_views_body.py",
    "tests/test_pins_views_flow.py",
    "tests/test_planted_cookies.py",
    "tests/test_session_lifetime.py",
    "tests/test_session_person.py",
    "tests/test_revocation_watch.py",
]
PYTEST = [
    "-x",
    "-q",
    "-p",
    "no:cacheprovider",
    "-m",
    "not node",
    "--hypothesis-seed=0",  # the property tests run too, the same inputs every time
    "-o",
    "addopts=",
]
#: What the tests read besides the package and themselves (docs: every check id is documented).
COPIED = ["django_nextauth_jwt", "tests", "pyproject.toml", "README.md", "docs"]
# Each check runs fresh processes: the edge tests, the module's own tests, then, for a
# mutant they all miss, the whole fast suite.
NEAR = {
    "codec": [
        "tests/codec",
        "tests/security/test_jws_attacks.py",
        "tests/security/test_jwe_attacks.py",
        "tests/security/test_claim_attacks.py",
        "tests/security/test_transport_attacks.py",
        "tests/test_tokens.py",
    ],
    "claims": [
        "tests/test_security_edges.py",
        "tests/test_tokens.py",
        "tests/security/test_claim_attacks.py",
        "tests/security/test_auth_time_attacks.py",
    ],
    "policy": [
        "tests/test_security_edges.py",
        "tests/security/test_misconfiguration.py",
        "tests/test_tokens.py",
        "tests/test_pins_policy.py",
        "tests/test_pins_better_auth_policy.py",
    ],
    "transport": [
        "tests/test_planted_cookies.py",  # first: its pins end most runs in seconds
        "tests/test_transport.py",
        "tests/security/test_transport_attacks.py",
        "tests/test_cookie_ambiguity.py",
        "tests/test_request_path.py",
        "tests/test_views.py",
        "tests/test_middleware.py",
    ],
    "revocation": [
        "tests/test_security_edges.py",
        "tests/test_revocation.py",
        "tests/test_views.py",
        "tests/test_session_lifetime.py",
        "tests/test_session_person.py",
    ],
    "lifetime": [
        "tests/test_session_lifetime.py",
        "tests/test_revocation.py",
        "tests/test_sessions.py",
    ],
    "csrf": [
        "tests/test_security_edges.py",
        "tests/test_transport.py",
        "tests/security/test_csrf_attacks.py",
        "tests/test_csrf_plain_views.py",
        "tests/test_pins_constant_time.py",
    ],
    "redirects": [
        "tests/test_redirects.py",
        "tests/security/test_signin_attacks.py",
        "tests/test_views.py",
    ],
    "jwk": [
        "tests/codec",
        "tests/security/test_jwks_attacks.py",
        "tests/security/test_jws_attacks.py",
        "tests/test_asymmetric.py",
    ],
    "jwks": [
        "tests/codec/test_jwk.py",
        "tests/security/test_jwks_attacks.py",
        "tests/test_asymmetric.py",
    ],
    "identity": [
        "tests/test_identity.py",
        "tests/test_pins_users.py",
        "tests/security/test_identity_attacks.py",
        "tests/test_users.py",
        "tests/test_views.py",
    ],
    "store": [
        "tests/test_pins_store.py",
        "tests/test_pins_state.py",
        "tests/test_state_store.py",
        "tests/test_revocation.py",
        "tests/test_throttle.py",
        "tests/test_local_view.py",
        "tests/test_sessions.py",
        "tests/test_revocation_watch.py",
    ],
    "localview": [
        "tests/deny_list",
        "tests/test_local_view.py",
        "tests/test_state_store.py",
        "tests/test_pins_state.py",
    ],
    "throttle": [
        "tests/test_pins_throttle.py",
        "tests/test_pins_signin.py",
        "tests/test_throttle.py",
        "tests/test_client_address.py",
        "tests/test_state_store.py",
        "tests/test_flood.py",
        "tests/test_unknown_client.py",
    ],
    "users": [
        "tests/test_pins_users.py",
        "tests/test_users.py",
        "tests/test_pins_request.py",
        "tests/security/test_identity_attacks.py",
    ],
    "middleware": [
        "tests/test_middleware.py",
        "tests/test_request_path.py",
        "tests/test_csrf_plain_views.py",
        "tests/test_cookie_ambiguity.py",
        "tests/test_diagnostics.py",
        "tests/test_users.py",
        "tests/test_planted_cookies.py",
    ],
    "authentication": [
        "tests/test_pins_authentication.py",
        "tests/test_authentication.py",
        "tests/test_request_path.py",
        "tests/security/test_csrf_attacks.py",
        "tests/test_planted_cookies.py",
    ],
    "views": [
        "tests/test_pins_views.py",
        "tests/test_pins_views_body.py",
        "tests/test_pins_views_flow.py",
        "tests/test_pins_signin.py",
        "tests/test_views.py",
        "tests/test_pins_request.py",
        "tests/security/test_signin_attacks.py",
        "tests/security/test_csrf_attacks.py",
        "tests/test_sessions.py",
        "tests/test_google_flow_cookie.py",
        "tests/test_flood.py",
        "tests/test_asymmetric.py",
        "tests/test_session_person.py",
        "tests/test_google.py",
    ],
    "signin": [
        "tests/test_views.py",
        "tests/test_sessions.py",
        "tests/test_google.py",
    ],
    "pipeline": [
        "tests/test_google.py",
    ],
    # The request path both shells share (issue 26 moved it out of middleware), and the
    # token-to-user step with the per-person cut-off (issue 21).
    "request": [
        "tests/test_pins_request.py",
        "tests/test_diagnostics.py",
        "tests/test_request_path.py",
        "tests/test_middleware.py",
        "tests/test_cookie_ambiguity.py",
        "tests/test_request_checks.py",
        "tests/test_authentication.py",
        "tests/test_planted_cookies.py",
    ],
    "tokens": [
        "tests/test_pins_tokens.py",
        "tests/test_pins_views.py",
        "tests/test_tokens.py",
        "tests/test_session_person.py",
        "tests/test_revocation.py",
        "tests/test_users.py",
        "tests/test_authentication.py",
    ],
}
# The edge tests each module's mutants meet first (a second or two).
EDGES = {
    "codec": "tests/codec/test_codec_edges.py",
    "jwk": "tests/codec/test_jwk_edges.py",
    "jwks": "tests/codec/test_jwk_edges.py",
    "identity": "tests/test_identity.py",
    "store": "tests/test_store_edges.py",
    "localview": "tests/deny_list/test_pins_localview.py",
    "throttle": "tests/test_pins_throttle.py",
    "users": "tests/test_pins_users.py",
    "middleware": "tests/test_pins_request.py",
    "request": "tests/test_pins_request.py",
    "views": "tests/test_pins_views.py",
    "pipeline": "tests/test_pins_signin.py",
}
# Modules whose mutants the database's folding decides (a query that only narrows, Python
# that confirms): a mutant SQLite misses runs again on MariaDB (case, accents and trailing
# spaces folded by its default collation), with the module's database tests. Needs the
# MariaDB of `make test` (127.0.0.1:3306); without it that run kills nothing.
FOLDING = {"users", "identity"}
FOLDING_ENV = {"TEST_DB": "mariadb"}


def pytest_in(
    cwd: Path, env: dict[str, str], suite: list[str], *, marker: str = "not node"
) -> subprocess.CompletedProcess[str]:
    """``suite`` in a fresh process in ``cwd``, stopping at the first failure."""
    options = [marker if previous == "-m" else option for previous, option in _pairs(PYTEST)]
    return subprocess.run(
        [sys.executable, "-m", "pytest", *options, *suite],
        cwd=cwd,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1", **env},
        capture_output=True,
        text=True,
        check=False,
        timeout=SUITE_TIMEOUT,
    )


def _pairs(options: list[str]) -> Iterator[tuple[str, str]]:
    """``(the option before, option)`` for each of ``options``."""
    return zip(["", *options], options, strict=False)


def require_a_green_baseline(cwd: Path, env: dict[str, str], what: str) -> None:
    """Stop unless the whole fast suite passes in ``cwd`` with no mutant applied.

    A test that fails there for another reason (a file the copy lacks) would count every
    mutant that reaches the fast suite as killed: the scores would mean nothing.
    """
    result = pytest_in(cwd, env, FAST_SUITE)
    if result.returncode != 0:
        print(result.stdout[-3000:], file=sys.stderr)
        sys.exit(f"the fast suite fails in {what} with no mutant applied: fix that first")
    folding = sorted({path for module in FOLDING for path in NEAR[module]})
    result = pytest_in(cwd, {**env, **FOLDING_ENV}, folding, marker="db and not node")
    if result.returncode not in (0, 5):
        print(result.stdout[-3000:], file=sys.stderr)
        sys.exit(f"the database tests fail on MariaDB in {what} with no mutant applied")


#: Set on Ctrl-C: the mutants still queued are not started, and a test run it cut short
#: counts as nothing (its exit code is the interruption's, not a failure's).
STOPPING = threading.Event()


def run_all(jobs: int, work: Callable[[T], None], items: list[T]) -> None:
    """``work`` on each of ``items``, ``jobs`` at a time; on Ctrl-C, nothing queued starts."""
    pool = ThreadPoolExecutor(jobs)
    try:
        list(pool.map(work, items))
    except BaseException:
        STOPPING.set()
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown()


def edges_of(module: str) -> str:
    """The edge tests ``module``'s mutants meet first."""
    return EDGES.get(module, "tests/test_security_edges.py")


def killed_by_tests(module: str, cwd: Path, env: dict[str, str]) -> bool:
    """True when the module's own tests, or else the whole fast suite, fail in a fresh process.

    The edge tests first (a second or two), then the module's own files, then everything;
    for a module in ``FOLDING``, last, its own files' database tests on MariaDB.
    """
    edges = edges_of(module)
    runs: list[tuple[list[str], dict[str, str], str]] = [
        ([edges], env, "not node"),
        (NEAR[module], env, "not node"),
        (FAST_SUITE, env, "not node"),
    ]
    if module in FOLDING:
        # What only a folding database tells apart: the module's database tests on MariaDB.
        runs.append((NEAR[module], {**env, **FOLDING_ENV}, "db and not node"))
    for suite, run_env, marker in runs:
        try:
            result = pytest_in(cwd, run_env, suite, marker=marker)
        except subprocess.TimeoutExpired:
            return True  # a mutant that hangs the tests (a lock never released) is caught
        if STOPPING.is_set():
            return False
        if result.returncode not in (0, 5):
            return True
    return False


KILLED, SURVIVED, EQUIVALENT = "killed", "survived", "equivalent"
# mutmut's exit codes of a mutant its tests caught: a failure, or a timeout (its CPU-time limit,
# many times the tests' own time: a loop that never ends, a lock never released).
MUTMUT_CAUGHT = {1, 3, 24, -24, 36, 152, 255}
# Seconds one re-check run may take: the whole fast suite takes under a minute on one core.
SUITE_TIMEOUT = 600


@dataclass
class Mutant:
    module: str  # "codec"
    name: str  # mutmut's name, or "codec:_COMPACT#3" for the AST pass
    where: str  # "codec._decode_v5": the function or constant mutated
    before: str  # the changed line(s), stripped
    after: str
    status: str = SURVIVED
    how: str = ""  # "mutmut", "re-check", "ast"
    reason: str = ""
    reused: bool = False  # killed in an earlier run (--reuse), not run again


# --------------------------------------------------------------------------- #
# Equivalents
# --------------------------------------------------------------------------- #


def load_equivalents() -> list[dict[str, str]]:
    if not EQUIVALENTS.exists():
        return []
    entries = list(tomllib.loads(EQUIVALENTS.read_text())["equivalent"])
    # A second entry for one mutant never matches (the first does): it would be reported stale.
    seen: set[tuple[str, str, str]] = set()
    for entry in entries:
        key = (entry["where"], _norm(entry["before"]), _norm(entry["after"]))
        if key in seen:
            sys.exit(f"{EQUIVALENTS.name}: two entries for one mutant of {entry['where']}")
        seen.add(key)
    return entries


MATCHED: set[int] = set()  # the equivalents that matched a surviving mutant in this run


def equivalent_reason(mutant: Mutant, equivalents: list[dict[str, str]]) -> str | None:
    for index, entry in enumerate(equivalents):
        if entry["where"] != mutant.where:
            continue
        if _norm(entry["before"]) == _norm(mutant.before) and _norm(entry["after"]) == _norm(
            mutant.after
        ):
            MATCHED.add(index)
            return entry["reason"]
    return None


def _norm(text: str) -> str:
    return " ".join(text.split())


# --------------------------------------------------------------------------- #
# Pass 1 and 2: mutmut, then the broad re-check
# --------------------------------------------------------------------------- #


def mutmut_bin() -> str:
    return str(Path(sys.executable).with_name("mutmut"))


def run_mutmut(jobs: int, *, fresh: bool, modules: list[str] | None = None) -> None:
    """mutmut over every module, or only over ``modules``' mutants (a shard: run again whatever
    mutmut held of them, the other modules' results kept)."""
    if fresh and not modules:
        shutil.rmtree(ROOT / "mutants", ignore_errors=True)
    names = [f"{dotted(m)}.*" for m in modules or []]
    log = ROOT / "mutmut-run.log"
    with log.open("w") as out:
        code = subprocess.call(
            [mutmut_bin(), "run", "--max-children", str(jobs), *names],
            cwd=ROOT,
            stdout=out,
            stderr=out,
        )
    shutil.move(log, ROOT / "mutants" / "mutmut-run.log")
    if code != 0:
        sys.exit(f"mutmut failed ({code}): see mutants/mutmut-run.log")


def mutmut_results() -> Iterator[tuple[str, str, int | None]]:
    """``(module, mutant name, exit code)`` of every mutant mutmut generated."""
    for meta in sorted((ROOT / "mutants" / PACKAGE).rglob("*.py.meta")):
        module = meta.name.removesuffix(".py.meta")
        data = json.loads(meta.read_text())
        for name, code in data["exit_code_by_key"].items():
            yield module, name, code


def mutmut_diff(module: str, name: str) -> tuple[str, str, str]:
    """``(function, removed lines, added lines)`` of a mutmut mutant, as ``mutmut show`` has it."""
    from mutmut.mutation.diff_apply import get_diff_for_mutant  # only `make mutate` installs it

    diff = get_diff_for_mutant(name, path=source_path(module))
    lines = diff.splitlines()[2:]  # past the --- and +++ header
    removed = [ln[1:].strip() for ln in lines if ln.startswith("-")]
    added = [ln[1:].strip() for ln in lines if ln.startswith("+")]
    return mutmut_function(module, name), "\n".join(removed), "\n".join(added)


def mutmut_function(module: str, name: str) -> str:
    """The function a mutmut mutant changes, as ``where`` names it: ``_decode_v5``,
    ``Keyring.__init__`` (from ``django_nextauth_jwt.jose.codec.x__decode_v5__mutmut_12``,
    ``...codec.xǁKeyringǁ__init____mutmut_3``), below a package folder too."""
    function = name.removeprefix(f"{dotted(module)}.").rsplit("__mutmut_", 1)[0]
    return ".".join(function.split("ǁ")[1:]) if "ǁ" in function else function[2:]


def mutmut_pass(
    jobs: int, equivalents: list[dict[str, str]], kills: Kills, only: list[str]
) -> list[Mutant]:
    # mutmut's copy of the tests (and of the docs they read) dates from its run: the re-check
    # uses today's.
    skip = shutil.ignore_patterns("node_modules", "__pycache__")
    for name in ("tests", "docs"):
        shutil.copytree(ROOT / name, ROOT / "mutants" / name, ignore=skip, dirs_exist_ok=True)
    mutants: list[Mutant] = []
    pending: list[Mutant] = []
    for module, name, code in mutmut_results():
        if module not in only:
            continue
        if code in MUTMUT_CAUGHT:
            mutants.append(Mutant(module, name, module, "", "", KILLED, "mutmut"))
            continue
        function, before, after = mutmut_diff(module, name)
        mutant = Mutant(module, name, f"{module}.{function}", before, after)
        reason = equivalent_reason(mutant, equivalents)
        if reason is not None:
            mutant.status, mutant.reason = EQUIVALENT, reason
        else:
            mutant.how = "re-check"
            if not kills.known(mutant):
                pending.append(mutant)
        mutants.append(mutant)

    done = Counter[str]()
    print(f"  {len(pending)} to re-check", flush=True)
    if pending:
        # A name no function has: mutmut's trampolines run the original code.
        require_a_green_baseline(ROOT / "mutants", {"MUTANT_UNDER_TEST": "none"}, "mutants/")

    def check(mutant: Mutant) -> None:
        env = {"MUTANT_UNDER_TEST": mutant.name}
        if killed_by_tests(mutant.module, ROOT / "mutants", env):
            mutant.status = KILLED
            kills.record(mutant)
        with kills.lock:
            done[mutant.status] += 1
            if done.total() % 25 == 0:
                print(f"  {done.total()} re-checked, {done[SURVIVED]} survived", flush=True)

    run_all(jobs, check, pending)
    return mutants


# --------------------------------------------------------------------------- #
# Pass 3: constants and decorated functions, by AST
# --------------------------------------------------------------------------- #

MODULES = [
    "codec",
    "claims",
    "policy",
    "transport",
    "revocation",
    "lifetime",
    "csrf",
    "redirects",
    "jwk",
    "jwks",
    "identity",
    "store",
    "localview",
    # The request and sign-in path (issue 27).
    "throttle",
    "users",
    "middleware",
    "authentication",
    "views",
    "signin",
    "pipeline",
    "request",
    "tokens",
]
# Parameters an attacker would like an allow-list to take (header sets), methods that
# must never be "safe".
WIDEN = {"alg": ["kid", "typ", "zip", "crit", "jku"], "GET": ["POST", "PATCH", "DELETE"]}
# Counters and statistics, not behaviour.
SKIPPED_NAMES = {"__all__", "logger", "_generation", "_derivations"}


def _targets(tree: ast.Module) -> Iterator[tuple[str, ast.AST]]:
    """``(name, node)``: module-level constants and decorated functions (mutmut skips both)."""
    for node in tree.body:
        if isinstance(node, ast.Assign | ast.AnnAssign):
            target = node.targets[0] if isinstance(node, ast.Assign) else node.target
            if not isinstance(target, ast.Name) or target.id in SKIPPED_NAMES:
                continue
            if node.value is not None and _has_literal(node.value):
                yield target.id, node
        elif isinstance(node, ast.FunctionDef) and _decorated(node):
            yield node.name, node
        elif isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, ast.FunctionDef) and _decorated(item):
                    yield f"{node.name}.{item.name}", item


def _decorated(node: ast.FunctionDef) -> bool:
    names = {ast.unparse(d) for d in node.decorator_list}
    return bool(names - {"staticmethod", "classmethod"})


def _has_literal(value: ast.expr) -> bool:
    # Type aliases (dict[str, Any]) and runtime state (threading.local()) are not constants.
    if isinstance(value, ast.Subscript | ast.Name | ast.Attribute):
        return False
    return any(
        isinstance(n, ast.Constant) and not isinstance(n.value, bool) for n in ast.walk(value)
    ) or isinstance(value, ast.Dict)


_ATOM = r"\\x[0-9A-Fa-f]{2}|\\.|[^\\]"
_MEMBER = re.compile(rf"(?:{_ATOM})-(?:{_ATOM})|{_ATOM}")


def _regex_variants(pattern: str) -> Iterator[str]:
    """A character class loses one member (a base64 one gains "+", "=" or "/"); quantifiers move.

    Only variants that still compile: a mutant that breaks the import proves nothing.
    """
    for variant in _raw_regex_variants(pattern):
        try:
            re.compile(variant)
        except re.error:
            continue
        yield variant


def _raw_regex_variants(pattern: str) -> Iterator[str]:
    for match in re.finditer(r"\[(\^?)((?:\\.|[^\]])+)\]", pattern):
        body = match.group(2)
        members = _MEMBER.findall(body)
        for i in range(len(members)):
            rest = "".join(members[:i] + members[i + 1 :])
            if rest:
                yield pattern[: match.start(2)] + rest + pattern[match.end(2) :]
        for extra in ("+", "=", "/") if "A-Z" in body else ():
            if extra not in body:
                yield pattern[: match.start(2)] + extra + pattern[match.start(2) :]
    for match in re.finditer(r"\{(\d+),(\d+)\}", pattern):
        low, high = int(match.group(1)), int(match.group(2))
        for new in (f"{{{low},{high - 1}}}", f"{{{low},{high + 1}}}"):
            yield pattern[: match.start()] + new + pattern[match.end() :]
    for i, char in enumerate(pattern):
        if char == "*" and (i == 0 or pattern[i - 1] != "\\"):
            yield pattern[:i] + "+" + pattern[i + 1 :]


def _literal_variants(node: ast.expr, context: str = "") -> Iterator[ast.expr]:
    """Mutations of one literal expression, each a new node."""
    if isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, bool) or value is None:
            return
        if isinstance(value, int):
            yield ast.Constant(value + 1)
            yield ast.Constant(value - 1)
        elif isinstance(value, float):
            # Timing constants: three times longer, three times shorter.
            yield from (ast.Constant(v) for v in _float_variants(value))
        elif isinstance(value, str):
            if context == "re":
                for pattern in _regex_variants(value):
                    yield ast.Constant(pattern)
            elif context == "chars":
                for i in range(len(value)):
                    yield ast.Constant(value[:i] + value[i + 1 :])
                alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
                neighbours = {alphabet[(alphabet.find(c) + 1) % 64] for c in value}
                for extra in sorted(neighbours - set(value))[:2]:
                    yield ast.Constant(value + extra)
            else:
                yield ast.Constant("XX" + value + "XX")
        elif isinstance(value, bytes):
            if context == "maketrans":
                yield ast.Constant(value[::-1])
            else:
                yield ast.Constant(value + b"=" if len(value) < 2 else value[:-1])
        return
    if isinstance(node, ast.Call) and node.args:
        func = ast.unparse(node.func)
        inner = {"re.compile": "re", "frozenset": "chars", "bytes.maketrans": "maketrans"}.get(
            func, ""
        )
        arg = node.args[0]
        if func == "frozenset" and isinstance(arg, ast.Set):
            yield from _set_variants(node, arg)
            return
        yield from _element_variants(node, "args", inner)
        return
    if isinstance(node, ast.Set):
        yield from _set_variants(node, node)
        return
    if isinstance(node, ast.Tuple | ast.List):
        yield from _element_variants(node, "elts", context)
        return
    if isinstance(node, ast.Dict):
        for i in range(len(node.keys)):
            dropped = copy.deepcopy(node)
            del dropped.keys[i], dropped.values[i]
            yield dropped
            for variant in _literal_variants(node.values[i], context):
                mapping = copy.deepcopy(node)
                mapping.values[i] = variant
                yield mapping
        names = [i for i, v in enumerate(node.values) if isinstance(v, ast.Name)]
        if len(names) >= 2:
            swapped = copy.deepcopy(node)
            a, b = names[0], names[1]
            swapped.values[a], swapped.values[b] = swapped.values[b], swapped.values[a]
            yield swapped


def _element_variants(node: ast.expr, field: str, context: str) -> Iterator[ast.expr]:
    """``node`` with one element of its list ``field`` (a call's args, a tuple's elts) mutated."""
    for i, element in enumerate(getattr(node, field)):
        for variant in _literal_variants(element, context):
            new = copy.deepcopy(node)
            getattr(new, field)[i] = variant
            yield new


def _set_variants(whole: ast.expr, members: ast.Set) -> Iterator[ast.expr]:
    values = [e.value for e in members.elts if isinstance(e, ast.Constant)]
    for i in range(len(members.elts)):
        new = copy.deepcopy(whole)
        inner = new.args[0] if isinstance(new, ast.Call) else new
        assert isinstance(inner, ast.Set)
        del inner.elts[i]
        if inner.elts:
            yield new
    for key, extras in WIDEN.items():
        if key in values:
            for extra in extras:
                if extra not in values:
                    new = copy.deepcopy(whole)
                    inner = new.args[0] if isinstance(new, ast.Call) else new
                    assert isinstance(inner, ast.Set)
                    inner.elts.append(ast.Constant(extra))
                    yield new


_SWAPS: dict[type, type] = {
    ast.Lt: ast.LtE,
    ast.LtE: ast.Lt,
    ast.Gt: ast.GtE,
    ast.GtE: ast.Gt,
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
    ast.And: ast.Or,
    ast.Or: ast.And,
}


def _function_variants(func: ast.FunctionDef) -> Iterator[ast.FunctionDef]:
    """The decorator removed (one at a time), then operator, constant and return mutations."""
    for i in range(len(func.decorator_list)):
        new = copy.deepcopy(func)
        del new.decorator_list[i]
        yield new
    in_decorators = {id(n) for d in func.decorator_list for n in ast.walk(d)}
    nodes = list(ast.walk(func))
    for index, original in enumerate(nodes):
        if id(original) in in_decorators:
            continue
        for kind in _kinds(original):
            new = copy.deepcopy(func)
            _apply(list(ast.walk(new))[index], kind)
            yield new


def _kinds(node: ast.AST) -> list[tuple[str, int]]:
    """The mutations that apply to ``node``: ``(kind, position)``."""
    if isinstance(node, ast.Compare):
        return [("swap", k) for k, op in enumerate(node.ops) if type(op) in _SWAPS]
    if isinstance(node, ast.BoolOp):
        return [("flip", 0)]
    if isinstance(node, ast.Return) and node.value is not None:
        return [("none", 0)]
    if isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, bool):
            return [("negate", 0)]
        if isinstance(value, int):
            return [("plus", 0)]
        if isinstance(value, float):
            return [("scale", 0), ("scale", 1)]
        # Docstrings and messages (they hold spaces) are not behaviour.
        if isinstance(value, str | bytes) and value and " " not in str(value):
            return [("chop", 0)]
    return []


def _apply(node: ast.AST, kind: tuple[str, int]) -> None:
    name, position = kind
    if name == "swap" and isinstance(node, ast.Compare):
        node.ops[position] = _SWAPS[type(node.ops[position])]()
    elif name == "flip" and isinstance(node, ast.BoolOp):
        node.op = _SWAPS[type(node.op)]()
    elif name == "none" and isinstance(node, ast.Return):
        node.value = ast.Constant(None)
    elif isinstance(node, ast.Constant):
        value = node.value
        if name == "negate":
            node.value = not value
        elif name == "plus" and isinstance(value, int):
            node.value = value + 1
        elif name == "scale" and isinstance(value, float):
            node.value = _float_variants(value)[position]
        elif name == "chop" and isinstance(value, str | bytes):
            node.value = value[:-1]


def _float_variants(value: float) -> list[float]:
    """A float constant (a timing, a fraction) three times larger, then three times smaller."""
    return [round(value * 3, 9), round(value / 3, 9)] if value else [1.0, -1.0]


# --------------------------------------------------------------------------- #
# Lua inside Python strings (the Redis scripts), and constant-time compares
# --------------------------------------------------------------------------- #

#: Lua's operators, each with what a slip turns it into (``~=`` is Lua's "not equal").
_LUA_SWAPS = {
    ">": ["<", ">="],
    "<": [">", "<="],
    ">=": [">"],
    "<=": ["<"],
    "==": ["~="],
    "~=": ["=="],
    "+": ["-"],
    "-": ["+"],
    "*": ["/"],
    "/": ["*"],
    "and": ["or"],
    "or": ["and"],
}
# An operator outside quotes with blanks on both sides: ``left > ttl``, ``a .. b`` is not one.
_LUA_OPERATOR = re.compile(r"(?<= )(>=|<=|==|~=|>|<|\+|-|\*|/|and|or)(?= )")
_LUA_NUMBER = re.compile(r"(?<![\w.'])(\d+)(?![\w.'])")


def is_lua(value: object) -> TypeGuard[str]:
    """A string constant that is a Redis script."""
    return isinstance(value, str) and "redis.call(" in value


def lua_variants(script: str) -> Iterator[tuple[str, str, str]]:
    """``(mutated script, line before, line after)``: one slip in one line of a Lua script.

    Each comparison, arithmetic or logical operator swapped; each integer literal plus one;
    each conditional line (``if ... end``) dropped: "the longer expiry wins" and "the larger
    value wins" are one line each in the write script. Quoted text is left alone.
    """
    lines = script.split("\n")
    for i, line in enumerate(lines):
        code = re.sub(r"'[^']*'", lambda m: " " * len(m.group()), line)  # blank the quotes
        changed: list[str] = []
        for match in _LUA_OPERATOR.finditer(code):
            for new in _LUA_SWAPS[match.group()]:
                changed.append(line[: match.start()] + new + line[match.end() :])
        for match in _LUA_NUMBER.finditer(code):
            bumped = str(int(match.group()) + 1)
            changed.append(line[: match.start()] + bumped + line[match.end() :])
        if line.lstrip().startswith("if ") and line.rstrip().endswith(" end"):
            changed.append("")  # the whole statement gone
        for new_line in changed:
            mutated = "\n".join([*lines[:i], new_line, *lines[i + 1 :]])
            yield mutated, line.strip(), new_line.strip()


def _compare_digest_calls(tree: ast.Module) -> Iterator[tuple[str, ast.Call]]:
    """``(enclosing function, call)`` for every ``hmac.compare_digest(a, b)`` in ``tree``."""
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for call in ast.walk(node):
                if (
                    isinstance(call, ast.Call)
                    and ast.unparse(call.func).endswith("compare_digest")
                    and len(call.args) == 2
                ):
                    yield node.name, call


def _replace_segment(source: str, node: ast.expr, text: str) -> str:
    """``source`` with ``node``'s text replaced (its offsets count UTF-8 bytes, not characters)."""
    lines = source.encode().splitlines(keepends=True)
    assert node.end_lineno is not None
    assert node.end_col_offset is not None
    start = sum(len(line) for line in lines[: node.lineno - 1]) + node.col_offset
    end = sum(len(line) for line in lines[: node.end_lineno - 1]) + node.end_col_offset
    raw = source.encode()
    return (raw[:start] + text.encode() + raw[end:]).decode()


def constant_time_mutants(module: str, source: str) -> Iterator[tuple[Mutant, str]]:
    """Each ``hmac.compare_digest(a, b)`` of ``module`` turned into ``a == b``.

    The answers are the same, only the timing differs: no behavioural test can kill these.
    ``tests/test_pins_constant_time.py`` (first in the fast suite) walks the package and
    fails on each; a survivor here means that walk no longer sees the comparison.
    """
    tree = ast.parse(source)
    for number, (function, call) in enumerate(_compare_digest_calls(tree)):
        left, right = (ast.unparse(arg) for arg in call.args)
        mutated = _replace_segment(source, call, f"{left} == {right}")
        line = source.splitlines()[call.lineno - 1]
        after = mutated.splitlines()[call.lineno - 1]
        name = f"{module}:{function}#ct{number}"
        yield Mutant(module, name, f"{module}.{function}", line.strip(), after.strip()), mutated


class _DropNot(ast.NodeTransformer):
    """``not x`` -> ``x`` for one node, by position."""

    def __init__(self, index: int) -> None:
        self.index = index
        self.seen = -1

    def visit_UnaryOp(self, node: ast.UnaryOp) -> ast.AST:
        self.generic_visit(node)
        if isinstance(node.op, ast.Not):
            self.seen += 1
            if self.seen == self.index:
                return node.operand
        return node


def _drop_not_variants(func: ast.FunctionDef) -> Iterator[ast.FunctionDef]:
    total = sum(
        1 for n in ast.walk(func) if isinstance(n, ast.UnaryOp) and isinstance(n.op, ast.Not)
    )
    for index in range(total):
        yield _DropNot(index).visit(copy.deepcopy(func))


def ast_mutants(module: str) -> Iterator[tuple[Mutant, str]]:
    """Every AST mutant of ``module``: the record, and the mutated module's source."""
    path = ROOT / source_path(module)
    source = path.read_text()
    tree = ast.parse(source)
    for name, node in _targets(tree):
        if isinstance(node, ast.FunctionDef):
            variants: Iterator[ast.AST] = _function_variants(node)
            variants = (*variants, *_drop_not_variants(node))  # type: ignore[assignment]
        else:
            assert isinstance(node, ast.Assign | ast.AnnAssign)
            assert node.value is not None
            if isinstance(node.value, ast.Constant) and is_lua(node.value.value):
                yield from _lua_mutants(module, source, name, node)
                continue
            variants = _literal_variants(node.value)
        seen: set[tuple[str, str]] = set()
        for number, variant in enumerate(variants):
            if isinstance(node, ast.FunctionDef):
                assert isinstance(variant, ast.FunctionDef)
                new_node: ast.AST = variant
            else:
                new_node = copy.deepcopy(node)
                assert isinstance(new_node, ast.Assign | ast.AnnAssign)
                assert isinstance(variant, ast.expr)
                new_node.value = variant
            before, after = _changed_lines(ast.unparse(node), ast.unparse(new_node))
            if before == after or (before, after) in seen:
                continue
            seen.add((before, after))
            mutated = _replace_lines(source, node, ast.unparse(new_node))
            mutant = Mutant(module, f"{module}:{name}#{number}", f"{module}.{name}", before, after)
            yield mutant, mutated
    yield from constant_time_mutants(module, source)


def _lua_mutants(
    module: str, source: str, name: str, node: ast.Assign | ast.AnnAssign
) -> Iterator[tuple[Mutant, str]]:
    """The Lua script assigned to ``name``, one slip at a time (:func:`lua_variants`)."""
    assert isinstance(node.value, ast.Constant)
    script = node.value.value
    assert is_lua(script)
    if isinstance(node, ast.AnnAssign):
        head = f"{ast.unparse(node.target)}: {ast.unparse(node.annotation)}"
    else:
        head = ast.unparse(node.targets[0])
    seen: set[tuple[str, str]] = set()
    for number, (mutated, before, after) in enumerate(lua_variants(script)):
        if (before, after) in seen:
            continue
        seen.add((before, after))
        plain = '"""' not in mutated and "\\" not in mutated and not mutated.endswith('"')
        literal = f'"""{mutated}"""' if plain else repr(mutated)
        mutant = Mutant(module, f"{module}:{name}#lua{number}", f"{module}.{name}", before, after)
        yield mutant, _replace_lines(source, node, f"{head} = {literal}")


def _changed_lines(old: str, new: str) -> tuple[str, str]:
    a, b = old.splitlines(), new.splitlines()
    removed, added = [], []
    for line in difflib.ndiff(a, b):
        if line.startswith("- "):
            removed.append(line[2:].strip())
        elif line.startswith("+ "):
            added.append(line[2:].strip())
    return "\n".join(removed), "\n".join(added)


def _replace_lines(source: str, node: ast.AST, text: str) -> str:
    lines = source.splitlines(keepends=True)
    start = node.lineno - 1  # type: ignore[attr-defined]
    if isinstance(node, ast.FunctionDef) and node.decorator_list:
        start = node.decorator_list[0].lineno - 1
    end = node.end_lineno  # type: ignore[attr-defined]
    indent = re.match(r"\s*", lines[start]).group()  # type: ignore[union-attr]
    body = "".join(indent + ln + "\n" for ln in text.splitlines())
    return "".join(lines[:start]) + body + "".join(lines[end:])


KILLS = ROOT / "mutants" / "kills.json"


class Kills:
    """The mutants killed in earlier runs, for ``--reuse``: a killed mutant stays killed.

    Valid while tests are only added (a test that is changed or removed may let a mutant
    live again: run without ``--reuse`` then). A mutant is reused only when its module and
    the mutant itself (its name and diff) are unchanged, its tests are run as before and every
    test file it met is met still (:meth:`_selection`, :meth:`_covers`): a file added to a
    suite, another module's tests changing, or a module added, keeps the kills.
    """

    def __init__(self, *, reuse: bool, only: list[str] | None = None) -> None:
        self.modules = {m: self._hash(ROOT / source_path(m)) for m in MODULES}
        self.selections = {m: self._selection(m) for m in MODULES}
        self.earlier: set[str] = set()
        #: Still-valid kills of modules this run leaves alone (a shard): written back as they were.
        self.others: set[str] = set()
        if KILLS.exists():
            saved = json.loads(KILLS.read_text())
            old = saved.get("selections", {})  # absent in an earlier format: nothing reused
            same = {
                m
                for m, h in saved["modules"].items()
                if self.modules.get(m) == h and m in old and self._covers(m, old[m])
            }
            valid = {k for k in saved["killed"] if k.split("|", 2)[1] in same}
            running = set(only or MODULES)
            self.others = {k for k in valid if k.split("|", 2)[1] not in running}
            if reuse:
                self.earlier = valid - self.others
        self.killed: set[str] = set()
        self.lock = threading.Lock()

    @staticmethod
    def _hash(path: Path) -> str:
        return hashlib.sha256(path.read_bytes()).hexdigest()

    @staticmethod
    def _selection(module: str) -> dict[str, Any]:
        """What a verdict on ``module``'s mutants depends on besides the module: the test files
        its mutants meet, and how they are run."""
        how = [PYTEST, COPIED, module in FOLDING, FOLDING_ENV]
        return {
            "files": sorted({*FAST_SUITE, *NEAR[module], edges_of(module)}),
            "how": hashlib.sha256(json.dumps(how).encode()).hexdigest(),
        }

    def _covers(self, module: str, old: object) -> bool:
        """Whether a kill made under the ``old`` selection still holds: run the same way, and
        every test file it met still met (a file added to a suite only adds tests)."""
        new = self.selections[module]
        return (
            isinstance(old, dict)
            and old.get("how") == new["how"]
            and set(old.get("files", ())) <= set(new["files"])
        )

    @staticmethod
    def key(mutant: Mutant) -> str:
        return "|".join(
            (mutant.how or "mutmut", mutant.module, mutant.name, mutant.before, mutant.after)
        )

    def known(self, mutant: Mutant) -> bool:
        """True (and the mutant marked killed) when an earlier run killed this very mutant."""
        if self.key(mutant) in self.earlier:
            mutant.status, mutant.reused = KILLED, True
            self.killed.add(self.key(mutant))
            return True
        return False

    def record(self, mutant: Mutant) -> None:
        """Remember a kill at once: an interrupted run keeps what it found."""
        with self.lock:
            self.killed.add(self.key(mutant))
            self._write()

    def save(self, mutants: list[Mutant]) -> None:
        with self.lock:
            self.killed |= {self.key(m) for m in mutants if m.status == KILLED and m.before}
            self._write()

    def _write(self) -> None:
        KILLS.parent.mkdir(exist_ok=True)
        data = {
            "modules": self.modules,
            "selections": self.selections,
            # The earlier kills this run did not meet (a run of one pass) are kept too.
            "killed": sorted(self.killed | self.earlier | self.others),
        }
        KILLS.write_text(json.dumps(data, indent=0))


# --------------------------------------------------------------------------- #
# The record: this checkout's verdicts, kept in the repository for the next one
# --------------------------------------------------------------------------- #

#: What ``mutants/`` knew at the end of the last run, committed: a fresh checkout's ``--reuse``
#: starts from it, so a whole table can be built over several sittings (two cores take hours).
RECORD = ROOT / "mutation-record.json"
_NUMBERED = re.compile(r"(.+)__mutmut_(\d+)")
_META = ".py.meta"


def mutmut_fingerprint() -> dict[str, str]:
    """What mutmut's verdicts rest on besides the code (its function hashes) and the tests:
    its version (the mutants' names and the hashes are its own) and its settings (which tests
    a mutant runs)."""
    from importlib.metadata import version

    settings = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mutmut"]
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()
    return {"mutmut": version("mutmut"), "settings": digest}


def _prefix(meta: Path, mutants: Path) -> str:
    """``django_nextauth_jwt.jose.codec`` for ``mutants/django_nextauth_jwt/jose/codec.py.meta``."""
    return meta.relative_to(mutants).as_posix().removesuffix(_META).replace("/", ".")


def save_record(mutants: Path, record: Path, fingerprint: dict[str, str]) -> bool:
    """Write ``mutants/``'s verdicts to ``record``: mutmut's exit codes (by function, by
    code: a short file), its function hashes, and the re-check's and AST pass's kills.
    False, and nothing written, when ``mutants/`` holds no mutmut results to keep."""
    files: dict[str, Any] = {}
    for meta in sorted(mutants.joinpath(PACKAGE).rglob(f"*{_META}")):
        data = json.loads(meta.read_text())
        prefix = _prefix(meta, mutants)
        verdicts: dict[str, dict[str, list[int]]] = {}
        for name, code in data["exit_code_by_key"].items():
            numbered = _NUMBERED.fullmatch(name.removeprefix(f"{prefix}."))
            if code is None or numbered is None:
                continue  # not run: the next run runs it
            function, number = numbered.groups()
            verdicts.setdefault(function, {}).setdefault(str(code), []).append(int(number))
        for by_code in verdicts.values():
            for numbers in by_code.values():
                numbers.sort()
        rel = meta.relative_to(mutants).as_posix()
        files[rel] = {"functions": data["hash_by_function_name"], "verdicts": verdicts}
    if not files:
        return False
    kills = mutants / KILLS.name
    body = {
        "fingerprint": fingerprint,
        "mutmut": files,
        "kills": json.loads(kills.read_text()) if kills.exists() else None,
    }
    text = json.dumps(body, indent=1, sort_keys=True, ensure_ascii=False)
    # A function's mutant numbers on one line: a short file, and a short diff between runs.
    text = re.sub(r"\[[\d,\s]+\]", lambda m: json.dumps(json.loads(m.group())), text)
    record.write_text(text + "\n", encoding="utf-8")
    return True


def seed_from_record(record: Path, mutants: Path, fingerprint: dict[str, str]) -> str:
    """Start an empty ``mutants/`` from ``record`` (``--reuse`` in a fresh checkout).

    mutmut then keeps the verdict of every mutant whose function's hash is unchanged and runs
    the rest, as it does in a kept ``mutants/``; the kills are reused on :class:`Kills`'s
    conditions. mutmut's verdicts are not taken when its version or settings changed.
    Returns what was taken, for the log.
    """
    if not record.exists() or any(mutants.joinpath(PACKAGE).rglob(f"*{_META}")):
        return "nothing (no record, or mutants/ kept)"
    saved = json.loads(record.read_text(encoding="utf-8"))
    mutants.mkdir(parents=True, exist_ok=True)
    if saved.get("kills"):
        (mutants / KILLS.name).write_text(json.dumps(saved["kills"], indent=0))
    if saved.get("fingerprint") != fingerprint:
        return "the kills only (mutmut's version or settings changed)"
    for rel, entry in saved["mutmut"].items():
        meta = mutants / rel
        prefix = _prefix(meta, mutants)
        codes = {
            f"{prefix}.{function}__mutmut_{number}": int(code)
            for function, by_code in entry["verdicts"].items()
            for code, numbers in by_code.items()
            for number in numbers
        }
        meta.parent.mkdir(parents=True, exist_ok=True)
        meta.write_text(
            json.dumps(
                {
                    "exit_code_by_key": codes,
                    "hash_by_function_name": entry["functions"],
                    "type_check_error_by_key": {},
                    "durations_by_key": {},
                    "estimated_durations_by_key": {},
                }
            )
        )
    return f"mutmut's verdicts of {len(saved['mutmut'])} modules and the kills"


def ast_pass(
    jobs: int, equivalents: list[dict[str, str]], only: list[str], kills: Kills
) -> list[Mutant]:
    todo: list[tuple[Mutant, str]] = []
    results: list[Mutant] = []
    for module in only:
        for mutant, source in ast_mutants(module):
            mutant.how = "ast"
            reason = equivalent_reason(mutant, equivalents)
            if reason is not None:
                mutant.status, mutant.reason = EQUIVALENT, reason
            elif not kills.known(mutant):
                todo.append((mutant, source))
            results.append(mutant)
    workdirs = [Path(tempfile.mkdtemp(prefix="mutate-")) for _ in range(jobs)]
    try:
        for work in workdirs:
            for name in COPIED:
                src = ROOT / name
                if src.is_dir():
                    shutil.copytree(
                        src,
                        work / name,
                        ignore=shutil.ignore_patterns("node_modules", "__pycache__"),
                    )
                else:
                    shutil.copy2(src, work / name)
        if todo:
            require_a_green_baseline(workdirs[0], {}, "the AST pass's copy of the project")
        free = list(workdirs)

        def run(item: tuple[Mutant, str]) -> None:
            mutant, source = item
            work = free.pop()
            target = work / source_path(mutant.module)
            original = target.read_text()
            try:
                target.write_text(source)
                if killed_by_tests(mutant.module, work, {}):
                    mutant.status = KILLED
                    kills.record(mutant)
            finally:
                target.write_text(original)
                free.append(work)

        run_all(jobs, run, todo)
    finally:
        for work in workdirs:
            shutil.rmtree(work, ignore_errors=True)
    return results


# --------------------------------------------------------------------------- #
# Report
# --------------------------------------------------------------------------- #


def report(mutants: list[Mutant], only: list[str], elapsed: float) -> bool:
    print()
    print(f"{'module':<12} {'killed':>7} {'survived':>9} {'equivalent':>11} {'score':>7}")
    ok = True
    for module in only:
        mine = [m for m in mutants if m.module == module]
        counts = Counter(m.status for m in mine)
        judged = counts[KILLED] + counts[SURVIVED]
        score = counts[KILLED] / judged if judged else 1.0
        ok &= score >= THRESHOLD
        print(
            f"{module:<12} {counts[KILLED]:>7} {counts[SURVIVED]:>9} {counts[EQUIVALENT]:>11}"
            f" {score:>7.1%}"
        )
    how = Counter(m.how for m in mutants if m.status == KILLED)
    print(
        f"killed by mutmut {how['mutmut']}, by the broad re-check {how['re-check']},"
        f" by the AST pass {how['ast']}; threshold {THRESHOLD:.0%} per module;"
        f" {elapsed / 60:.1f} min"
    )
    reused = sum(m.reused for m in mutants)
    if reused:
        print(f"({reused} of the kills are an earlier run's, reused: --reuse)")
    survivors = [m for m in mutants if m.status == SURVIVED]
    if survivors:
        print(f"\n{len(survivors)} new survivor(s): kill each, or list it in {EQUIVALENTS.name}")
        for m in survivors:
            print(f"\n  {m.name}  ({m.where})")
            for line in m.before.splitlines():
                print(f"    - {line}")
            for line in m.after.splitlines():
                print(f"    + {line}")
    else:
        print("\nno new survivors")
    return ok


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    parser.add_argument(
        "--reuse", action="store_true", help="keep mutmut's results for unchanged functions"
    )
    parser.add_argument("--no-mutmut", action="store_true", help="only the AST pass")
    parser.add_argument(
        "--keep-mutmut",
        action="store_true",
        help="take mutmut's results in mutants/ as they are (its modules unchanged since, tests"
        " only added): no mutmut run, the re-check and the AST pass only",
    )
    parser.add_argument("--no-ast", action="store_true", help="only mutmut and the re-check")
    parser.add_argument(
        "--module",
        action="append",
        help="only this module (repeatable): its mutmut mutants, their re-check, its AST pass",
    )
    parser.add_argument("--list", action="store_true", help="print the AST mutants, run none")
    parser.add_argument(
        "--save-record",
        action="store_true",
        help=f"write {RECORD.name} from mutants/ (a run stopped midway), run nothing",
    )
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    # Ctrl-C, and SIGTERM, stop a run cleanly (run_all), even one started in the background,
    # where a shell leaves SIGINT ignored.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    os.chdir(ROOT)
    if args.list:
        for module in args.module or MODULES:
            for mutant, _ in ast_mutants(module):
                print(f"{mutant.name:<32} {mutant.before!r} -> {mutant.after!r}"[:240])
        return 0
    if args.save_record:
        if not save_record(ROOT / "mutants", RECORD, mutmut_fingerprint()):
            sys.exit("no mutmut results in mutants/ to keep")
        print(f"verdicts kept in {RECORD.name}")
        return 0
    # A path pytest cannot find is a usage error (exit 4): every mutant would count as killed.
    paths = {*FAST_SUITE, *EDGES.values(), *(p for near in NEAR.values() for p in near)}
    missing = sorted(p for p in paths if not (ROOT / p).exists())
    if missing:
        sys.exit(f"test paths not found: {', '.join(missing)}")
    if args.keep_mutmut and not any((ROOT / "mutants" / PACKAGE).rglob(f"*{_META}")):
        # Nothing of mutmut's to re-check: every module would show only its AST pass.
        sys.exit("--keep-mutmut: mutants/ holds no mutmut results (a fresh clone: use --reuse)")
    start = time.monotonic()
    equivalents = load_equivalents()
    only = args.module or MODULES
    mutants: list[Mutant] = []
    if not (args.no_mutmut or args.keep_mutmut):
        if args.reuse:
            taken = seed_from_record(RECORD, ROOT / "mutants", mutmut_fingerprint())
            print(f"from {RECORD.name}: {taken}", flush=True)
        print("mutmut: generating and running mutants (mutants/mutmut-run.log)", flush=True)
        run_mutmut(args.jobs, fresh=not args.reuse, modules=args.module)
    kills = Kills(reuse=args.reuse, only=only)
    try:
        if not args.no_mutmut:
            print("broad re-check of mutmut's survivors", flush=True)
            mutants += mutmut_pass(args.jobs, equivalents, kills, only)
        if not args.no_ast:
            print("AST pass: constants and decorated functions", flush=True)
            mutants += ast_pass(args.jobs, equivalents, only, kills)
    finally:
        kills.save(mutants)
        if save_record(ROOT / "mutants", RECORD, mutmut_fingerprint()):
            print(f"verdicts kept in {RECORD.name}: commit it with the tests", flush=True)
    ok = report(mutants, only, time.monotonic() - start)
    if not (args.no_mutmut or args.no_ast or args.module):
        for index, entry in enumerate(equivalents):
            if index not in MATCHED:
                print(f"stale equivalent (killed now, or its line changed): {entry['where']}")
                print(f"    + {entry['after']}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

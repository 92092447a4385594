"""Verification speed: this app against its peers, in one run on one machine.

    make bench                      # or: .venv/bin/python benchmarks/verify.py [--tokens N]

Every call verifies a token it has never seen (a fresh ``jti`` each), so no
per-token work can be cached; the key caches are warm, as in a running server.
Peers: PyJWT ``jwt.decode`` (HS256), python-jose ``jwe.decrypt`` (what
fastapi-nextauth-jwt uses) and joserfc for the two JWE formats, and the real
next-auth 4 / @auth/core / jose ``decode`` in Node. Ratios are what matter; the
absolute numbers depend on the machine.

Ours is measured twice: the verification itself (decode and claim checks, what
a service with ``NEXTAUTH_REVOCATION = False`` does; the targets apply to it),
and ``JWTAuth.verify`` with the default deny-list check in the local-memory
cache (``+deny-list``), a feature the peers do not have, with its own targets
(jws at most 0.5x PyJWT, the JWE formats at most 0.6x python-jose).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

import django  # noqa: E402

django.setup()

import jwt  # noqa: E402
from django.test import override_settings  # noqa: E402
from jose import jwe as jose_jwe  # noqa: E402
from joserfc import jwe as rfc_jwe  # noqa: E402
from joserfc.jwk import OctKey  # noqa: E402

from django_nextauth_jwt import JWTAuth, codec, tokens  # noqa: E402
from tests.forge import SECRET, v4_key, v5_key  # noqa: E402
from tests.node_bridge import NodeBridge, find_node  # noqa: E402

SALT = "authjs.session-token"
CLAIMS = {"id": "user-1", "email": "ada@example.com", "name": "Ada Lovelace", "role": "admin"}


def measure(
    candidates: dict[str, tuple[Callable[[str], Any], Sequence[str]]], rounds: int
) -> dict[str, float]:
    """Median over ``rounds`` of the mean microseconds per call, for every candidate.

    Rounds are interleaved (A B C, A B C, ...) so that a burst of load on the
    machine lands on every candidate alike and the ratios stay meaningful; the
    time is the thread's CPU time, which other processes on the machine do not add to.
    """
    samples: dict[str, list[float]] = {name: [] for name in candidates}
    for fn, tokens_ in candidates.values():
        for token in tokens_[:50]:
            fn(token)  # warm-up: imports, key caches
    for _ in range(rounds):
        for name, (fn, tokens_) in candidates.items():
            start = time.thread_time_ns()
            for token in tokens_:
                fn(token)
            samples[name].append((time.thread_time_ns() - start) / len(tokens_) / 1000)
    return {name: statistics.median(values) for name, values in samples.items()}


def mint(fmt: str, n: int) -> list[str]:
    with override_settings(NEXTAUTH_JWT_FORMAT=fmt):
        return [JWTAuth.create(CLAIMS) for _ in range(n)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=5000, help="distinct tokens per format")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    n, rounds = args.tokens, args.rounds

    minted = {fmt: mint(fmt, n) for fmt in ("jws", "nextauth-v4", "authjs-v5")}
    k4, k5 = v4_key(), v5_key(SECRET, SALT)
    rfc_k4, rfc_k5 = OctKey.import_key(k4), OctKey.import_key(k5)

    def jose_decrypt(key: bytes) -> Callable[[str], Any]:
        return lambda t: json.loads(jose_jwe.decrypt(t, key))

    def rfc_decrypt(key: OctKey) -> Callable[[str], Any]:
        return lambda t: json.loads(rfc_jwe.decrypt_compact(t, key).plaintext or b"")

    def stateless(token: str) -> Any:
        # Decode and claim checks: what a service does with NEXTAUTH_REVOCATION = False.
        return tokens.validate_claims(tokens.decode(token))

    candidates: dict[str, tuple[Callable[[str], Any], Sequence[str]]] = {
        f"django-nextauth-jwt {fmt}": (stateless, minted[fmt]) for fmt in minted
    }
    candidates |= {
        f"django-nextauth-jwt {fmt} +deny-list": (JWTAuth.verify, minted[fmt]) for fmt in minted
    }
    candidates |= {
        "PyJWT jwt.decode HS256": (
            lambda t: jwt.decode(t, SECRET, algorithms=["HS256"]),
            minted["jws"],
        ),
        "python-jose jwe.decrypt v4": (jose_decrypt(k4), minted["nextauth-v4"]),
        "python-jose jwe.decrypt v5": (jose_decrypt(k5), minted["authjs-v5"]),
        "joserfc decrypt_compact v4": (rfc_decrypt(rfc_k4), minted["nextauth-v4"]),
        "joserfc decrypt_compact v5": (rfc_decrypt(rfc_k5), minted["authjs-v5"]),
    }
    # One settings object for the whole run, so no setting_changed clears a cache.
    derivations = codec.derivation_count()
    with override_settings(NEXTAUTH_ACCEPTED_FORMATS=list(minted)):
        results = measure(candidates, rounds)
    kdf_misses = codec.derivation_count() - derivations

    node_binary = find_node()
    if node_binary is None:
        print("node or tests/interop/node/node_modules missing: run `make install` first")
        return 1
    bridge = NodeBridge(node_binary)
    node_n = min(n, 2000)
    try:
        for label, target, fmt, extra in (
            ("next-auth 4 decode (Node)", "v4.decode", "nextauth-v4", {}),
            ("@auth/core decode (Node)", "v5.decode", "authjs-v5", {"salt": SALT}),
            ("jose jwtVerify HS256 (Node)", "jose.verify", "jws", {"alg": "HS256"}),
        ):
            reply = bridge.call(
                "bench",
                target=target,
                tokens=minted[fmt][:node_n],
                secret=SECRET,
                rounds=rounds,
                **extra,
            )
            results[label] = float(reply["us_per_op"])
        versions = bridge.call("versions")
    finally:
        bridge.close()

    python = sys.version.split()[0]
    print(
        f"# {n} distinct tokens per format, median of {rounds} rounds, thread CPU time "
        f"(Node: its own clock); Python {python}"
    )
    print(
        f"# node {versions['node']}, next-auth {versions['next-auth']}, "
        f"@auth/core {versions['@auth/core']}, jose {versions['jose']}"
    )
    print()
    print(f"{'implementation':<44} {'us/verify':>10}")
    for name, value in results.items():
        print(f"{name:<44} {value:>10.2f}")

    jws, v4, v5 = (f"django-nextauth-jwt {f}" for f in ("jws", "nextauth-v4", "authjs-v5"))
    targets: list[tuple[str, str, str, float | None]] = [
        ("jws vs PyJWT jwt.decode", jws, "PyJWT jwt.decode HS256", 1.1),
        ("v4 vs python-jose", v4, "python-jose jwe.decrypt v4", 0.6),
        ("v5 vs python-jose", v5, "python-jose jwe.decrypt v5", 0.6),
        ("jws+deny-list vs PyJWT", f"{jws} +deny-list", "PyJWT jwt.decode HS256", 0.5),
        ("v4+deny-list vs python-jose", f"{v4} +deny-list", "python-jose jwe.decrypt v4", 0.6),
        ("v5+deny-list vs python-jose", f"{v5} +deny-list", "python-jose jwe.decrypt v5", 0.6),
        ("v4 vs joserfc", v4, "joserfc decrypt_compact v4", None),
        ("v5 vs joserfc", v5, "joserfc decrypt_compact v5", None),
        ("v4 vs next-auth (Node)", v4, "next-auth 4 decode (Node)", 0.1),
        ("v5 vs @auth/core (Node)", v5, "@auth/core decode (Node)", 0.1),
        ("jws vs jose (Node)", jws, "jose jwtVerify HS256 (Node)", 0.1),
    ]
    print()
    print(f"{'ratio (ours / peer)':<28} {'ratio':>7} {'target':>8}  verdict")
    ok = True
    for label, mine, peer, limit in targets:
        ratio = results[mine] / results[peer]
        verdict = "-" if limit is None else ("met" if ratio <= limit else "MISSED")
        ok &= verdict != "MISSED"
        shown = "" if limit is None else f"<={limit}"
        print(f"{label:<28} {ratio:>7.3f} {shown:>8}  {verdict}")
    print()
    print(
        f"key derivations (HKDF) during {3 * n * rounds} verifications: {kdf_misses} "
        "(one per secret and JWE format)"
    )
    return 0 if ok else 2


if __name__ == "__main__":
    raise SystemExit(main())

"""Verification speed: this app against its peers, in one run on one machine.

    make bench                      # or: .venv/bin/python benchmarks/verify.py [--tokens N]

Every call verifies a token it has never seen (a fresh ``jti`` each), so no
per-token work can be cached; the key caches are warm, as in a running server.
Peers: PyJWT ``jwt.decode`` (HS256), python-jose ``jwe.decrypt`` (what
fastapi-nextauth-jwt uses) and joserfc for the two JWE formats, and the real
next-auth 4 / @auth/core / jose ``decode`` in Node. Ratios are what matter; the
absolute numbers depend on the machine.

Asymmetric (``jws-asymmetric``, issue 14): EdDSA, ES256 and RS256 tokens
against PyJWT's ``jwt.decode`` with the same, already loaded public key (target:
at most 1.0x), once with the keys configured and once fetched from a JWKS URL
(cached, as a server runs); and the cost of one JWKS refresh (an HTTP fetch from
127.0.0.1 plus parsing three keys), which the rate limit bounds.

Better Auth's session cookie cache (issue 25), each strategy with this app's verifier against
the best Python peer for its primitive on the same session: PyJWT ``jwt.decode`` for the jwt
strategy (HS256) and for the compact one (its HMAC-SHA256 over the same session JSON), joserfc
and python-jose ``decrypt`` with the derived key for the jwe one (``dir`` + A256CBC-HS512).

Ours is measured twice: the verification itself (decode and claim checks, what
a service with ``NEXTAUTH_REVOCATION = False`` does; the targets apply to it),
and ``JWTAuth.verify`` with the default deny-list check in the local-memory
cache (``+deny-list``), a feature the peers do not have, with its own targets
(jws at most 0.5x PyJWT, the JWE formats at most 0.6x python-jose).
"""

from __future__ import annotations

import argparse
import hmac
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
from cryptography.hazmat.primitives import padding as sym_padding  # noqa: E402
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes  # noqa: E402
from django.test import override_settings  # noqa: E402
from jose import jwe as jose_jwe  # noqa: E402
from joserfc import jwe as rfc_jwe  # noqa: E402
from joserfc.jwk import OctKey  # noqa: E402

from django_nextauth_jwt import JWTAuth, tokens  # noqa: E402
from django_nextauth_jwt.claims import build_payload  # noqa: E402
from django_nextauth_jwt.jose import betterauth, codec, jwk  # noqa: E402
from django_nextauth_jwt.jose.jwks import JWKSClient  # noqa: E402
from tests.forge import ASYMMETRIC_ALGS, SECRET, private_pem, v4_key, v5_key  # noqa: E402
from tests.jwks_server import jwks_server  # noqa: E402
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


def mint_asymmetric(alg: str, n: int) -> list[str]:
    key = jwk.load_signing_key(private_pem(alg))
    keys = codec.Keyring((), signing_keys=[key])
    return [codec.encode(build_payload(CLAIMS), keys, format="jws-asymmetric") for _ in range(n)]


BETTER_AUTH_SECRET = "better-auth-bench-secret-0123456789-abcdefgh"  # noqa: S105 - a test key


def better_auth_session(i: int) -> dict[str, Any]:
    """The ``sessionData`` Better Auth 1.7 caches (``setCookieCache``), distinct per ``i``."""
    now = int(time.time() * 1000)
    iso = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(now / 1000))
    later = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(now / 1000 + 7 * 86400))
    user_id = f"user{i:028d}"
    return {
        "session": {
            "expiresAt": later,
            "token": f"token{i:027d}",
            "createdAt": iso,
            "updatedAt": iso,
            "ipAddress": "",
            "userAgent": "Mozilla/5.0",
            "userId": user_id,
            "id": f"sess{i:028d}",
        },
        "user": {
            "name": "Ada Lovelace",
            "email": "ada@example.com",
            "emailVerified": False,
            "createdAt": iso,
            "updatedAt": iso,
            "role": "admin",
            "id": user_id,
        },
        "updatedAt": now,
        "version": "1",
    }


def mint_better_auth(strategy: str, n: int) -> list[str]:
    """Cookies as Better Auth writes them in ``strategy`` (the tests hold our reader to its own)."""
    mac_key = BETTER_AUTH_SECRET.encode()
    key = betterauth.jwe_key(BETTER_AUTH_SECRET)
    head = jwk.b64url_encode(
        json.dumps(
            {"alg": "dir", "enc": "A256CBC-HS512", "kid": betterauth.jwe_kid(key)},
            separators=(",", ":"),
        ).encode()
    )
    cookies = []
    for i in range(n):
        data = better_auth_session(i)
        expires = data["updatedAt"] + 300_000
        if strategy == "compact":
            signed = betterauth.compact_signing_input(data, float(expires))
            signature = jwk.b64url_encode(hmac.digest(mac_key, signed, "sha256"))
            body = {"session": data, "expiresAt": expires, "signature": signature}
            cookies.append(jwk.b64url_encode(json.dumps(body, separators=(",", ":")).encode()))
        elif strategy == "jwt":
            claims = {**data, "iat": expires // 1000 - 300, "exp": expires // 1000}
            # jose's SignJWT().setProtectedHeader({alg: "HS256"}): no typ, unlike PyJWT's.
            signing_input = (
                f"{betterauth.JWT_HEADER}.{jwk.b64url_encode(json.dumps(claims).encode())}"
            )
            mac = hmac.digest(mac_key, signing_input.encode("ascii"), "sha256")
            cookies.append(f"{signing_input}.{jwk.b64url_encode(mac)}")
        else:
            claims = {**data, "iat": expires // 1000 - 300, "exp": expires // 1000, "jti": str(i)}
            cookies.append(codec_jwe(head, key, json.dumps(claims).encode()))
    return cookies


def codec_jwe(head: str, key: bytes, plaintext: bytes) -> str:
    """``dir`` + A256CBC-HS512 compact JWE (RFC 7516 / 7518 5.2), as jose's EncryptJWT writes."""
    iv = os.urandom(16)
    padder = sym_padding.PKCS7(128).padder()
    padded = padder.update(plaintext) + padder.finalize()
    encryptor = Cipher(algorithms.AES(key[32:]), modes.CBC(iv)).encryptor()
    ciphertext = encryptor.update(padded) + encryptor.finalize()
    aad = head.encode("ascii")
    tag = hmac.digest(
        key[:32], aad + iv + ciphertext + (len(aad) * 8).to_bytes(8, "big"), "sha512"
    )[:32]
    parts = (head, "", *(jwk.b64url_encode(p) for p in (iv, ciphertext, tag)))
    return ".".join(parts)


def pyjwt_decode(key: Any, alg: str) -> Callable[[str], Any]:
    """PyJWT's verification with the key already loaded, the way a service keeps it."""
    return lambda t: jwt.decode(t, key, algorithms=[alg])


def jwks_refresh_cost(document: dict[str, Any], count: int) -> tuple[float, float]:
    """Microseconds per JWKS refresh (fetch from 127.0.0.1 and parse) and per parse alone."""
    body = json.dumps(document).encode()
    with jwks_server() as issuer:
        issuer.serve(document)
        client = JWKSClient(issuer.url, refresh_interval=0, cache_ttl=0)
        client.keys()  # warm-up: the connection path, imports
        start = time.perf_counter_ns()
        for _ in range(count):
            assert client.keys() is not None
        refresh = (time.perf_counter_ns() - start) / count / 1000
        assert issuer.requests == count + 1, "every call was a fetch"
    start = time.perf_counter_ns()
    for _ in range(count):
        jwk.parse_jwks(body)
    return refresh, (time.perf_counter_ns() - start) / count / 1000


def main() -> int:  # noqa: PLR0915 - one report, top to bottom
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
    asym_n = min(n, 2000)  # RSA signing makes minting the slow part
    signing = [private_pem(alg) for alg in ASYMMETRIC_ALGS]
    asym = {alg: mint_asymmetric(alg, asym_n) for alg in ASYMMETRIC_ALGS}
    publics = {
        alg: jwk.load_signing_key(pem).public
        for alg, pem in zip(ASYMMETRIC_ALGS, signing, strict=True)
    }
    document = jwk.jwks_document(publics.values())
    for alg in ASYMMETRIC_ALGS:
        pyjwt_key = jwt.PyJWK(publics[alg].to_jwk()).key
        candidates[f"django-nextauth-jwt {alg}"] = (stateless, asym[alg])
        candidates[f"PyJWT jwt.decode {alg}"] = (pyjwt_decode(pyjwt_key, alg), asym[alg])
    # One settings object for the whole run, so no setting_changed clears a cache.
    derivations = codec.derivation_count()
    with override_settings(
        NEXTAUTH_ACCEPTED_FORMATS=[*minted, "jws-asymmetric"], NEXTAUTH_SIGNING_KEYS=signing
    ):
        results = measure(candidates, rounds)
    kdf_misses = codec.derivation_count() - derivations
    # The same tokens, their keys from a JWKS URL (fetched once, then cached).
    with (
        jwks_server() as issuer,
        override_settings(NEXTAUTH_ACCEPTED_FORMATS=["jws-asymmetric"], NEXTAUTH_JWKS_URL=""),
    ):
        issuer.serve(document)
        with override_settings(NEXTAUTH_JWKS_URL=issuer.url):
            via_jwks: dict[str, tuple[Callable[[str], Any], Sequence[str]]] = {
                f"django-nextauth-jwt {alg} via JWKS URL": (stateless, asym[alg])
                for alg in ASYMMETRIC_ALGS
            }
            results |= measure(via_jwks, rounds)
        jwks_fetches = issuer.requests
    refresh_us, parse_us = jwks_refresh_cost(document, 200)
    # Better Auth's cookie cache: one strategy per service, so one settings object each.
    ba_key = betterauth.jwe_key(BETTER_AUTH_SECRET)
    for strategy in betterauth.STRATEGIES:
        cookies = mint_better_auth(strategy, n)
        ba: dict[str, tuple[Callable[[str], Any], Sequence[str]]] = {
            f"django-nextauth-jwt better-auth {strategy}": (stateless, cookies)
        }
        if strategy == "compact":
            # The same sessions as HS256 JWSs: HMAC-SHA256 over the same JSON, PyJWT's way.
            ba["PyJWT decode, compact's session"] = (
                lambda t: jwt.decode(t, BETTER_AUTH_SECRET, algorithms=["HS256"]),
                mint_better_auth("jwt", n),
            )
        elif strategy == "jwt":
            ba["PyJWT decode better-auth jwt"] = (
                lambda t: jwt.decode(t, BETTER_AUTH_SECRET, algorithms=["HS256"]),
                cookies,
            )
        else:
            ba["joserfc decrypt_compact better-auth jwe"] = (
                rfc_decrypt(OctKey.import_key(ba_key)),
                cookies,
            )
            ba["python-jose jwe.decrypt better-auth jwe"] = (jose_decrypt(ba_key), cookies)
        with override_settings(
            NEXTAUTH_BETTER_AUTH_STRATEGY=strategy, NEXTAUTH_BETTER_AUTH_SECRET=BETTER_AUTH_SECRET
        ):
            results |= measure(ba, rounds)

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
        for alg in ASYMMETRIC_ALGS:
            reply = bridge.call(
                "bench",
                target="jose.verifyJwks",
                tokens=asym[alg][:node_n],
                secret=document,
                alg=alg,
                rounds=rounds,
            )
            results[f"jose jwtVerify {alg} (Node)"] = float(reply["us_per_op"])
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
    targets += [
        (
            "Better Auth compact vs PyJWT",
            "django-nextauth-jwt better-auth compact",
            "PyJWT decode, compact's session",
            1.0,
        ),
        (
            "Better Auth jwt vs PyJWT",
            "django-nextauth-jwt better-auth jwt",
            "PyJWT decode better-auth jwt",
            1.0,
        ),
        (
            "Better Auth jwe vs joserfc",
            "django-nextauth-jwt better-auth jwe",
            "joserfc decrypt_compact better-auth jwe",
            1.0,
        ),
        (
            "Better Auth jwe vs py-jose",
            "django-nextauth-jwt better-auth jwe",
            "python-jose jwe.decrypt better-auth jwe",
            1.0,
        ),
    ]
    for alg in ASYMMETRIC_ALGS:
        mine = f"django-nextauth-jwt {alg}"
        targets += [
            (f"{alg} vs PyJWT", mine, f"PyJWT jwt.decode {alg}", 1.0),
            (f"{alg} via JWKS vs PyJWT", f"{mine} via JWKS URL", f"PyJWT jwt.decode {alg}", 1.0),
            (f"{alg} vs jose (Node)", mine, f"jose jwtVerify {alg} (Node)", None),
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
    print(
        f"JWKS fetches during {len(ASYMMETRIC_ALGS) * asym_n * rounds}+ verifications "
        f"via the JWKS URL: {jwks_fetches}"
    )
    print(
        f"one JWKS refresh ({len(document['keys'])} keys, HTTP on 127.0.0.1 + parse): "
        f"{refresh_us:.0f} us, of which parsing {parse_us:.0f} us; at most one per "
        "NEXTAUTH_JWKS_REFRESH_INTERVAL (30 s) per URL"
    )
    return 0 if ok else 2


if __name__ == "__main__":
    raise SystemExit(main())

"""Key pairs, JWK Sets and the JWKS client, bare: no Django, a fake fetcher and a fake clock."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Mapping

import jwt as pyjwt
import pytest

from django_nextauth_jwt.exceptions import InvalidToken, KeysUnavailable, TokenUnsupported
from django_nextauth_jwt.jose import codec, jwk
from django_nextauth_jwt.jose.jwks import JWKSClient, JWKSFetchError, KeySources
from tests import forge
from tests.fake_clock import Clock

ALGS = forge.ASYMMETRIC_ALGS


def payload() -> dict[str, object]:
    return {"sub": "42", "exp": int(time.time()) + 600}


def ring(*public: jwk.PublicKey, signing: tuple[jwk.SigningKey, ...] = ()) -> codec.Keyring:
    return codec.Keyring((), signing_keys=signing, public_keys=jwk.KeySet(public))


@pytest.mark.parametrize("alg", ALGS)
def test_a_pem_signing_key_mints_what_its_public_key_and_pyjwt_verify(alg: str) -> None:
    key = jwk.load_signing_key(forge.private_pem(alg))
    assert key.alg == alg
    token = codec.encode(payload(), ring(signing=(key,)), format="jws-asymmetric")
    header = json.loads(forge.unb64(token.split(".")[0]))
    assert header == {"alg": alg, "typ": "JWT", "kid": key.kid}
    assert codec.decode(token, ring(key.public))["sub"] == "42"
    # An independent verifier, from the published JWK alone.
    public = pyjwt.PyJWK(key.public.to_jwk()).key
    assert pyjwt.decode(token, public, algorithms=[alg])["sub"] == "42"


@pytest.mark.parametrize("alg", ALGS)
def test_tokens_signed_independently_verify_with_the_public_pem(alg: str) -> None:
    public = jwk.load_public_key(forge.public_pem(alg))
    token = forge.asym_jws(payload(), alg, kid=public.kid)
    assert codec.decode(token, ring(public))["sub"] == "42"


@pytest.mark.parametrize("alg", ALGS)
def test_a_private_jwk_loads_with_its_kid_and_round_trips_through_its_public_jwk(
    alg: str,
) -> None:
    # The private JWK as PyJWT writes it (RSA with its CRT members).
    algorithm = pyjwt.algorithms.get_default_algorithms()[alg]
    private_jwk = {**json.loads(algorithm.to_jwk(forge.private_key(alg))), "kid": "my-key"}
    key = jwk.load_signing_key(private_jwk)
    assert key.kid == "my-key"
    published = key.public.to_jwk()
    assert not jwk.PRIVATE_MEMBERS & published.keys()
    again = jwk.load_public_key(published)
    assert again.kid == "my-key"
    assert again.alg == alg


def test_the_default_kid_is_the_rfc7638_thumbprint() -> None:
    # RFC 7638 section 3.1's example key and thumbprint.
    rsa_jwk = {
        "kty": "RSA",
        "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tS"
        "oc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQ"
        "R0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTW"
        "hAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
        "e": "AQAB",
    }
    assert jwk.load_public_key(rsa_jwk).kid == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


@pytest.mark.parametrize(
    "value",
    [
        {"kty": "oct", "k": "c2VjcmV0"},
        {"kty": "EC", "crv": "P-384", "x": "AA", "y": "AA", "d": "AA"},
        {"kty": "OKP", "crv": "Ed448", "x": "AA", "d": "AA"},
        {"kty": "OKP", "crv": "Ed25519", "x": forge.b64(b"\0" * 32)},  # public only
        "not a key",
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
    ],
)
def test_unusable_signing_keys_are_value_errors(value: object) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - the message varies by cause
        jwk.load_signing_key(value)  # type: ignore[arg-type]


def test_a_private_jwk_given_as_a_public_key_is_refused() -> None:
    key = jwk.load_signing_key(forge.private_pem("EdDSA"))
    private = {**key.public.to_jwk(), "d": forge.b64(b"\1" * 32)}
    with pytest.raises(ValueError, match="private"):
        jwk.load_public_key(private)


def test_a_small_rsa_key_is_refused() -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505
    pem = small.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    with pytest.raises(ValueError, match="2048"):
        jwk.load_signing_key(pem)


def test_an_rsa_jwk_with_a_huge_public_exponent_is_refused() -> None:
    published = jwk.load_signing_key(forge.private_pem("RS256")).public.to_jwk()
    huge = {**published, "e": forge.b64((2**4096 + 1).to_bytes(513, "big"))}
    with pytest.raises(ValueError, match="RSA"):
        jwk.load_public_key(huge)
    assert jwk.parse_jwks(document(huge)) == ()


def test_the_jwk_alg_member_must_agree_with_the_key_type() -> None:
    published = jwk.load_signing_key(forge.private_pem("ES256")).public.to_jwk()
    with pytest.raises(ValueError, match="alg"):
        jwk.load_public_key({**published, "alg": "RS256"})
    with pytest.raises(ValueError, match="signatures"):
        jwk.load_public_key({**published, "use": "enc"})


def test_reprs_show_no_key_material() -> None:
    key = jwk.load_signing_key(forge.private_pem("EdDSA"))
    for text in (repr(key), repr(key.public), repr(ring(key.public, signing=(key,)))):
        assert "PRIVATE" not in text
        assert key.public.to_jwk()["x"] not in text


# -- the algorithm is the key's ----------------------------------------------------------------


def test_a_token_naming_another_algorithm_is_not_verified_by_a_key_of_its_kid() -> None:
    ec_key = jwk.load_public_key(forge.public_pem("ES256"))
    # Signed with an Ed25519 key, claiming the EC key's kid: never tried under ES256.
    token = forge.asym_jws(payload(), "EdDSA", kid=ec_key.kid)
    with pytest.raises(InvalidToken, match="No matching verification key"):
        codec.decode(token, ring(ec_key))


def test_asymmetric_tokens_need_a_key_source() -> None:
    token = forge.asym_jws(payload(), "EdDSA")
    with pytest.raises(TokenUnsupported):
        codec.decode(token, codec.Keyring([forge.SECRET]))


def test_a_tokens_without_kid_is_tried_with_every_key_of_its_algorithm() -> None:
    first = jwk.load_public_key(forge.public_pem("EdDSA", 1))
    second = jwk.load_public_key(forge.public_pem("EdDSA"))
    token = forge.asym_jws(payload(), "EdDSA")
    assert codec.decode(token, ring(first, second))["sub"] == "42"


# -- JWK Sets ----------------------------------------------------------------------------------


def document(*keys: Mapping[str, object]) -> bytes:
    return json.dumps({"keys": list(keys)}).encode()


def published(alg: str = "EdDSA", n: int = 0) -> dict[str, str]:
    return jwk.load_public_key(forge.public_pem(alg, n)).to_jwk()


def test_a_jwks_document_round_trips_and_skips_keys_for_other_uses() -> None:
    keys = [published(alg) for alg in ALGS]
    odd = [{"kty": "EC", "crv": "P-521", "x": "AA", "y": "AA"}, {**published(), "use": "enc"}]
    parsed = jwk.parse_jwks(document(*keys, *odd))
    assert [k.alg for k in parsed] == list(ALGS)


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        b'{"keys": {}}',
        b'{"keys": [1]}',
        b'{"keys": [], "x": NaN}',
        b"\xff\xfe{}",
        document(*[published() for _ in range(jwk.MAX_JWKS_KEYS + 1)]),
        document(published(), {"kty": "oct", "k": "c2VjcmV0LXNlY3JldC1zZWNyZXQ"}),
        document({**published("ES256"), "d": forge.b64(b"\1" * 32)}),
        document({**published("RS256"), "p": "AQAB", "q": "AQAB"}),
    ],
    ids=[
        "not_json",
        "array",
        "keys_not_array",
        "entry_not_object",
        "nan",
        "utf16",
        "too_many_keys",
        "symmetric_key",
        "private_ec_key",
        "private_rsa_primes",
    ],
)
def test_unsafe_or_malformed_jwks_documents_are_refused_whole(body: bytes) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - the message varies by cause
        jwk.parse_jwks(body)


# -- the JWKS client: counted fetches on a fake clock ------------------------------------------


class FakeIssuer:
    """A JWKS URL in memory: what it serves, how often it was asked, whether it is down."""

    def __init__(self, *keys: dict[str, str]) -> None:
        self.body = document(*keys)
        self.calls = 0
        self.down = False

    def __call__(self, url: str) -> bytes:
        self.calls += 1
        if self.down:
            raise JWKSFetchError("down")
        return self.body


def client(issuer: FakeIssuer, clock: Clock) -> JWKSClient:
    return JWKSClient(
        "https://issuer.test/jwks",
        cache_ttl=300,
        refresh_interval=30,
        max_stale=600,
        fetcher=issuer,
        clock=clock,
    )


def test_a_flood_of_unknown_kids_costs_the_issuer_one_fetch_per_interval() -> None:
    issuer, clock = FakeIssuer(published()), Clock()
    sources = KeySources([], [client(issuer, clock)])
    good = forge.asym_jws(payload(), "EdDSA", kid=published()["kid"])
    assert codec.decode(good, codec.Keyring((), public_keys=sources))["sub"] == "42"
    assert issuer.calls == 1
    for i in range(500):
        forged = forge.asym_jws(payload(), "EdDSA", kid=f"random-{i}")
        with pytest.raises(InvalidToken):
            codec.decode(forged, codec.Keyring((), public_keys=sources))
    assert issuer.calls == 1  # the first fetch was under 30 s ago
    clock.now += 31
    for i in range(500):
        assert not sources.candidates(f"again-{i}", "EdDSA")
    assert issuer.calls == 2


def test_a_new_kid_at_the_issuer_is_picked_up_by_one_refresh() -> None:
    issuer, clock = FakeIssuer(published()), Clock()
    jwks = client(issuer, clock)
    assert jwks.keys() is not None
    clock.now += 31
    issuer.body = document(published(), published("EdDSA", 1))
    new_kid = published("EdDSA", 1)["kid"]
    keys = jwks.keys(new_kid)
    assert keys is not None
    assert new_kid in keys
    assert issuer.calls == 2


def test_keys_are_cached_for_the_ttl_then_refetched() -> None:
    issuer, clock = FakeIssuer(published()), Clock()
    jwks = client(issuer, clock)
    for _ in range(10):
        jwks.keys()
    assert issuer.calls == 1
    clock.now += 301
    jwks.keys()
    assert issuer.calls == 2


def test_an_unreachable_issuer_is_asked_once_per_interval_and_fails_closed_when_stale() -> None:
    issuer, clock = FakeIssuer(published()), Clock()
    jwks = client(issuer, clock)
    sources = KeySources([], [jwks])
    kid = published()["kid"]
    assert sources.candidates(kid, "EdDSA")
    issuer.down = True
    clock.now += 301  # expired: a refetch is tried, fails, the old keys still serve
    assert sources.candidates(kid, "EdDSA")
    calls = issuer.calls
    for _ in range(100):
        assert sources.candidates(kid, "EdDSA")
    assert issuer.calls == calls  # no hammering while it is down
    clock.now += 600  # past TTL + max_stale
    with pytest.raises(KeysUnavailable):
        sources.candidates(kid, "EdDSA")
    issuer.down = False
    clock.now += 31
    assert sources.candidates(kid, "EdDSA")


def test_an_issuer_never_reached_refuses_every_token_as_keys_unavailable() -> None:
    issuer, clock = FakeIssuer(published()), Clock()
    issuer.down = True
    sources = KeySources([], [client(issuer, clock)])
    token = forge.asym_jws(payload(), "EdDSA", kid=published()["kid"])
    for _ in range(20):
        with pytest.raises(KeysUnavailable):
            codec.decode(token, codec.Keyring((), public_keys=sources))
    assert issuer.calls == 1


def test_a_refused_document_keeps_the_previous_keys() -> None:
    issuer, clock = FakeIssuer(published()), Clock()
    jwks = client(issuer, clock)
    jwks.keys()
    issuer.body = document({**published(), "d": forge.b64(b"\1" * 32)})
    clock.now += 301
    keys = jwks.keys()
    assert keys is not None
    assert published()["kid"] in keys


def test_a_kid_collision_across_keys_verifies_each_only_under_its_own_algorithm() -> None:
    shared = "shared-kid"
    ed = {**published("EdDSA"), "kid": shared}
    ec_ = {**published("ES256"), "kid": shared}
    other_ed = {**published("EdDSA", 1), "kid": shared}
    sources = KeySources([], [client(FakeIssuer(ed, ec_, other_ed), Clock())])
    keys = codec.Keyring((), public_keys=sources)
    for alg, n in (("EdDSA", 0), ("ES256", 0), ("EdDSA", 1)):
        assert codec.decode(forge.asym_jws(payload(), alg, n=n, kid=shared), keys)["sub"] == "42"
    # A third Ed25519 key under the shared kid verifies nothing.
    with pytest.raises(InvalidToken):
        codec.decode(forge.asym_jws(payload(), "EdDSA", n=2, kid=shared), keys)


def test_while_one_thread_refreshes_the_others_go_on_with_the_keys_they_have() -> None:
    issuer, clock = FakeIssuer(published()), Clock()
    jwks = client(issuer, clock)
    assert jwks.keys() is not None
    release, started = threading.Event(), threading.Event()

    def slow(url: str) -> bytes:
        started.set()
        release.wait(10)  # a slow issuer: the refresh hangs until the test lets it go
        return issuer.body

    jwks._fetch = slow
    clock.now += 301  # expired, still within max_stale
    refresher = threading.Thread(target=jwks.keys)
    refresher.start()
    assert started.wait(10)
    # The refresh is in flight (not released): these return at once, with the held keys.
    for kid in (published()["kid"], "unknown-kid", None):
        keys = jwks.keys(kid)
        assert keys is not None
        assert published()["kid"] in keys
    assert not release.is_set()
    release.set()
    refresher.join(10)
    assert jwks.fetches == 2

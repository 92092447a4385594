"""The edges of ``jwk`` and ``jwks``: what mutation testing showed no test observed.

Keys: every refusal's message (the system checks and the JWKS log show it), the RSA size and
exponent bounds, JWK members of the wrong length, key types that look alike, private RSA JWKs
with and without their CRT members, signatures of the wrong length. JWK Sets: each refusal,
the key limit, skipped entries. ``fetch_url`` against a loopback server whose every answer the
test chooses; the JWKS client's clock boundaries and its lock (who waits for a refresh, who
does not); ``KeySources``' order. No Django here, as in the rest of ``tests/codec``.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import gc
import hashlib
import http.server
import json
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import jwt as pyjwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, x25519

from django_nextauth_jwt.exceptions import KeysUnavailable, TokenMalformed
from django_nextauth_jwt.jose import jwk, jwks
from django_nextauth_jwt.jose.jwks import JWKSClient, JWKSFetchError, KeySources, fetch_url
from tests import forge
from tests.fake_clock import Clock

ALGS = forge.ASYMMETRIC_ALGS
#: A generous bound for a call that must not wait (never asserted as a duration).
BOUND = 5.0


def public(alg: str = "EdDSA", n: int = 0) -> jwk.PublicKey:
    return jwk.load_public_key(forge.public_pem(alg, n))


def published(alg: str = "EdDSA", n: int = 0, **extra: Any) -> dict[str, Any]:
    return {**jwk.load_public_key(forge.public_pem(alg, n)).to_jwk(), **extra}


def private_jwk(alg: str, n: int = 0, **extra: Any) -> dict[str, Any]:
    """The private JWK as PyJWT writes it (RSA with its CRT members)."""
    algorithm = pyjwt.algorithms.get_default_algorithms()[alg]
    return {**json.loads(algorithm.to_jwk(forge.private_key(alg, n))), **extra}


def b64(data: bytes) -> str:
    return jwk.b64url_encode(data)


def uint(value: int) -> str:
    return b64(value.to_bytes(max(1, (value.bit_length() + 7) // 8), "big"))


def shorter(member: str) -> str:
    """A base64url member one byte shorter than it is."""
    return b64(jwk.b64url_decode(member)[1:])


def rsa_public(n: int, e: int) -> dict[str, str]:
    return {"kty": "RSA", "n": uint(n), "e": uint(e)}


def pem_of(public: Any) -> bytes:
    return bytes(
        public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )


def der_pem(spki: bytes) -> bytes:
    return (
        b"-----BEGIN PUBLIC KEY-----\n" + base64.encodebytes(spki) + b"-----END PUBLIC KEY-----\n"
    )


def unsupported_curve_pem() -> bytes:
    """An EC public key on secp112r1 (OID 1.3.132.0.6), which no backend here supports."""

    def tlv(tag: int, body: bytes) -> bytes:
        return bytes([tag, len(body)]) + body

    algorithm = tlv(
        0x30, tlv(0x06, bytes.fromhex("2a8648ce3d0201")) + tlv(0x06, b"\x2b\x81\x04\x00\x06")
    )
    return der_pem(tlv(0x30, algorithm + tlv(0x03, b"\x00\x04" + b"\x01" * 28)))


ED = published("EdDSA")
EC = published("ES256")
RSA = published("RS256")
RSA_N = int.from_bytes(jwk.b64url_decode(RSA["n"]), "big")
BITS_2048 = 2**2047 + 1
BITS_8192 = 2**8191 + 1

# -- every refusal names its cause, in the words the system checks and the JWKS log show ------

PUBLIC_REFUSALS: list[tuple[str, Any, str]] = [
    ("x_missing", {"kty": "OKP", "crv": "Ed25519"}, "JWK member 'x' is missing or not a string"),
    ("x_number", {**ED, "x": 12345}, "JWK member 'x' is missing or not a string"),
    ("x_empty", {**ED, "x": ""}, "JWK member 'x' is missing or not a string"),
    ("x_padded", {**ED, "x": ED["x"] + "="}, "JWK member 'x' is not canonical base64url"),
    ("x_short", {**ED, "x": shorter(ED["x"])}, "JWK member 'x' has the wrong length"),
    ("ec_x_short", {**EC, "x": shorter(EC["x"])}, "JWK member 'x' has the wrong length"),
    ("ec_y_short", {**EC, "y": shorter(EC["y"])}, "JWK member 'y' has the wrong length"),
    (
        "x25519",
        {"kty": "OKP", "crv": "X25519", "x": ED["x"]},
        "unsupported JWK key type (use OKP Ed25519, EC P-256 or RSA)",
    ),
    (
        "okp_p256",
        {**EC, "kty": "OKP"},
        "unsupported JWK key type (use OKP Ed25519, EC P-256 or RSA)",
    ),
    (
        "ec_ed25519",
        {**ED, "kty": "EC"},
        "unsupported JWK key type (use OKP Ed25519, EC P-256 or RSA)",
    ),
    (
        "ec_p384",
        {**EC, "crv": "P-384"},
        "unsupported JWK key type (use OKP Ed25519, EC P-256 or RSA)",
    ),
    ("rsa_e_1", rsa_public(RSA_N, 1), "unacceptable RSA key"),
    ("rsa_e_even", rsa_public(RSA_N, 65536), "unacceptable RSA key"),
    ("rsa_e_4", rsa_public(RSA_N, 4), "unacceptable RSA key"),
    ("rsa_e_2_32_plus_1", rsa_public(RSA_N, 2**32 + 1), "unacceptable RSA key"),
    ("rsa_2047_bits", rsa_public(2**2046 + 1, 65537), "unacceptable RSA key"),
    ("rsa_8193_bits", rsa_public(2**8192 + 1, 65537), "unacceptable RSA key"),
    ("alg", {**EC, "alg": "RS256"}, "the JWK's alg does not match its key type"),
    ("use", {**EC, "use": "enc"}, "the JWK is not for signatures"),
    (
        "key_ops_encrypt",
        {**ED, "key_ops": ["encrypt"]},
        "the JWK's key_ops allow no signature operation",
    ),
    (
        "key_ops_string",
        {**ED, "key_ops": "verify"},
        "the JWK's key_ops allow no signature operation",
    ),
    (
        "key_ops_object",
        {**ED, "key_ops": {"verify": True}},
        "the JWK's key_ops allow no signature operation",
    ),
    ("kid_number", {**ED, "kid": 7}, "a JWK's kid must be a string"),
    (
        "private_member",
        {**ED, "d": b64(b"\1" * 32)},
        "a public key was expected, but the JWK has private members",
    ),
    (
        "x25519_pem",
        pem_of(x25519.X25519PrivateKey.from_private_bytes(b"\1" * 32).public_key()),
        "only Ed25519, P-256 and RSA keys are supported",
    ),
    ("unsupported_curve_pem", unsupported_curve_pem(), "unsupported public key type"),
]


@pytest.mark.parametrize(
    ("value", "message"),
    [case[1:] for case in PUBLIC_REFUSALS],
    ids=[case[0] for case in PUBLIC_REFUSALS],
)
def test_an_unusable_public_key_is_refused_naming_its_cause(value: Any, message: str) -> None:
    with pytest.raises(ValueError) as refused:  # noqa: PT011 - the message is compared whole
        jwk.load_public_key(value)
    assert str(refused.value) == message


@pytest.mark.parametrize("value", ["AAAA++++", "AAAA////", "AAAA===="])
def test_base64s_own_characters_are_refused_where_dropping_them_leaves_whole_groups(
    value: str,
) -> None:
    # A lenient decoder skips "+", "/" and "=" and reads what is left: b"\x00\x00\x00" each.
    with pytest.raises(TokenMalformed):
        jwk.unb64(value)


def test_a_kid_is_at_most_256_characters() -> None:
    assert jwk.load_public_key({**ED, "kid": "k" * 256}).kid == "k" * 256
    with pytest.raises(ValueError) as refused:  # noqa: PT011 - the message is compared whole
        jwk.load_public_key({**ED, "kid": "k" * 257})
    assert str(refused.value) == "a kid must be a non-empty string of at most 256 characters"


@pytest.mark.parametrize("member", ["d", "p", "q", "dp", "dq", "qi", "oth", "k"])
def test_each_private_or_symmetric_member_is_refused(member: str) -> None:
    entry = {**RSA, member: "AQAB"}
    with pytest.raises(ValueError) as refused:  # noqa: PT011 - the message is compared whole
        jwk.parse_jwks(document(ED, entry))
    assert str(refused.value) == "the JWK Set publishes private or symmetric key material"
    with pytest.raises(ValueError, match="private members"):
        jwk.load_public_key(entry)


def test_rsa_keys_of_2048_to_8192_bits_and_exponents_3_to_2_32_load() -> None:
    for n, e in ((BITS_2048, 3), (BITS_8192, 3), (RSA_N, 2**32 - 1), (RSA_N, 65537)):
        key = jwk.load_public_key(rsa_public(n, e))
        assert key.alg == "RS256"
        assert key.to_jwk()["e"] == uint(e)  # e = 3 is one byte: "Aw"


def test_a_public_jwk_whose_key_ops_include_verify_loads() -> None:
    assert jwk.load_public_key({**ED, "key_ops": ["verify"]}).alg == "EdDSA"
    assert jwk.load_public_key({**ED, "key_ops": ["sign", "verify"]}).alg == "EdDSA"


def test_a_public_pem_loads_from_bytes_and_from_text() -> None:
    pem = forge.public_pem("ES256")
    assert jwk.load_public_key(pem.encode()).kid == jwk.load_public_key(pem).kid


def test_the_published_jwk_is_exactly_the_public_members_kid_alg_and_use() -> None:
    key = jwk.load_public_key(forge.public_pem("EdDSA"))
    raw = key.key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    assert key.to_jwk() == {
        "crv": "Ed25519",
        "kty": "OKP",
        "x": b64(raw),
        "kid": key.kid,
        "alg": "EdDSA",
        "use": "sig",
    }


def test_ec_coordinates_with_leading_zero_bytes_are_published_at_full_length() -> None:
    # One private scalar in a few hundred gives an x below 2**248: find one, deterministically.
    scalar = next(
        d
        for d in range(1, 20_000)
        if ec.derive_private_key(d, ec.SECP256R1()).public_key().public_numbers().x < 2**248
    )
    public = jwk.PublicKey(ec.derive_private_key(scalar, ec.SECP256R1()).public_key())
    published_jwk = public.to_jwk()
    assert len(jwk.b64url_decode(published_jwk["x"])) == 32
    assert len(jwk.b64url_decode(published_jwk["y"])) == 32
    again = jwk.load_public_key(published_jwk)
    assert again.kid == public.kid == jwk.thumbprint(public.key)


@pytest.mark.parametrize("alg", ALGS)
def test_a_signature_of_the_wrong_length_never_verifies(alg: str) -> None:
    key = jwk.load_signing_key(forge.private_pem(alg))
    data = b"header.payload"
    signature = key.sign(data)
    assert key.public.verify(signature, data)
    for wrong in (signature[:-1], signature + b"\0", b""):
        assert not key.public.verify(wrong, data)


# -- private JWKs ----------------------------------------------------------------------------

PRIVATE_REFUSALS: list[tuple[str, Any, str]] = [
    (
        "ed25519_d_of_another_key",
        {**private_jwk("EdDSA"), "d": private_jwk("EdDSA", 1)["d"]},
        "the JWK's d and x do not belong together",
    ),
    (
        "ed25519_d_short",
        {**private_jwk("EdDSA"), "d": shorter(private_jwk("EdDSA")["d"])},
        "JWK member 'd' has the wrong length",
    ),
    (
        "ec_d_short",
        {**private_jwk("ES256"), "d": shorter(private_jwk("ES256")["d"])},
        "JWK member 'd' has the wrong length",
    ),
]


def test_an_rsa_private_jwk_with_only_n_e_and_d_signs_what_its_public_key_verifies() -> None:
    full = private_jwk("RS256")
    key = jwk.load_signing_key({name: full[name] for name in ("kty", "n", "e", "d")})
    reference = jwk.load_signing_key(forge.private_pem("RS256"))
    data = b"header.payload"
    # PKCS#1 v1.5 is deterministic: the recovered key is the same key.
    assert key.sign(data) == reference.sign(data)
    assert reference.public.verify(key.sign(data), data)


@pytest.mark.parametrize("member", ["p", "q", "dp", "dq", "qi"])
def test_an_rsa_private_jwk_whose_crt_member_disagrees_is_refused(member: str) -> None:
    full = private_jwk("RS256")
    wrong = int.from_bytes(jwk.b64url_decode(full[member]), "big") + 2
    with pytest.raises(ValueError):  # noqa: PT011 - cryptography's message
        jwk.load_signing_key({**full, member: uint(wrong)})


# -- JWK Sets --------------------------------------------------------------------------------


def document(*keys: Mapping[str, object]) -> bytes:
    return json.dumps({"keys": list(keys)}).encode()


SET_REFUSALS: list[tuple[str, bytes, str]] = [
    ("not_json", b"{keys", "the JWK Set is not JSON"),
    ("nan", b'{"keys": [], "x": NaN}', "the JWK Set is not JSON"),
    ("not_utf8", b"\xff{}", "the JWK Set is not JSON"),
    ("array", b"[]", "the JWK Set has no 'keys' array"),
    ("keys_object", b'{"keys": {}}', "the JWK Set has no 'keys' array"),
    ("too_many", document(ED, ED, ED, ED), "the JWK Set has more than 3 keys"),
    ("entry_not_object", document(ED, 1), "a JWK Set entry is not an object"),  # type: ignore[arg-type]
    (
        "private",
        document(ED, {**EC, "d": b64(b"\1" * 32)}),
        "the JWK Set publishes private or symmetric key material",
    ),
]


@pytest.mark.parametrize(
    ("body", "message"),
    [case[1:] for case in SET_REFUSALS],
    ids=[case[0] for case in SET_REFUSALS],
)
def test_an_unsafe_jwk_set_is_refused_naming_its_cause(body: bytes, message: str) -> None:
    with pytest.raises(ValueError) as refused:  # noqa: PT011 - the message is compared whole
        jwk.parse_jwks(body, max_keys=3)
    assert str(refused.value) == message


def test_a_jwk_set_holds_at_most_32_keys() -> None:
    assert len(jwk.parse_jwks(document(*[ED] * 32))) == 32
    with pytest.raises(ValueError) as refused:  # noqa: PT011 - the message is compared whole
        jwk.parse_jwks(document(*[ED] * 33))
    assert str(refused.value) == "the JWK Set has more than 32 keys"


def test_a_jwk_set_of_exactly_max_keys_is_read() -> None:
    assert len(jwk.parse_jwks(document(ED, EC, RSA), max_keys=3)) == 3


def test_keys_skipped_in_a_jwk_set_do_not_hide_the_keys_after_them() -> None:
    skipped = [
        {**ED, "alg": "HS256"},  # an algorithm no key type gives
        {**EC, "alg": "RS256"},  # an algorithm not its key type's
        {**ED, "use": "enc"},  # not for signatures
        {"kty": "EC", "crv": "P-521", "x": "AA", "y": "AA"},  # unusable
    ]
    for entry in skipped:
        assert [k.alg for k in jwk.parse_jwks(document(entry, RSA))] == ["RS256"]


def test_a_jwk_set_document_publishes_each_key_under_keys() -> None:
    keys = [jwk.load_public_key(forge.public_pem(alg)) for alg in ALGS]
    doc = jwk.jwks_document(keys)
    assert list(doc) == ["keys"]
    assert doc["keys"] == [key.to_jwk() for key in keys]
    assert [k.kid for k in jwk.parse_jwks(json.dumps(doc).encode())] == [k.kid for k in keys]


# --------------------------------------------------------------------------- #
# fetch_url against a loopback server whose every answer the test chooses
# --------------------------------------------------------------------------- #


class Answer:
    """What the loopback server answers, and the requests that reached it."""

    def __init__(self) -> None:
        self.status = 200
        self.body = b'{"keys": []}'
        self.length: int | None = None  # the Content-Length to declare (default: the body's)
        self.chunked = False
        self.drip = 0.0  # seconds between two bytes of the body
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.stop = threading.Event()


@contextlib.contextmanager
def loopback() -> Iterator[tuple[str, Answer]]:
    answer = Answer()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            answer.requests.append((self.path, dict(self.headers.items())))
            self.send_response(answer.status)
            if answer.status == 204:
                self.end_headers()
                return
            if answer.chunked:
                self.send_header("Transfer-Encoding", "chunked")
            else:
                length = len(answer.body) if answer.length is None else answer.length
                self.send_header("Content-Length", str(length))
            self.send_header("Connection", "close")
            self.end_headers()
            with contextlib.suppress(OSError):
                if answer.chunked:
                    for start in range(0, len(answer.body), 1000):
                        piece = answer.body[start : start + 1000]
                        self.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
                    self.wfile.write(b"0\r\n\r\n")
                elif answer.drip:
                    for byte in answer.body:
                        if answer.stop.wait(answer.drip):
                            return
                        self.wfile.write(bytes((byte,)))
                        self.wfile.flush()
                else:
                    self.wfile.write(answer.body)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/jwks", answer
    finally:
        answer.stop.set()
        server.shutdown()
        server.server_close()
        thread.join(BOUND)


def fetch_error(url: str, *, timeout: float = 2.0, max_bytes: int = 65536) -> str:
    with pytest.raises(JWKSFetchError) as caught:
        fetch_url(url, timeout=timeout, max_bytes=max_bytes)
    return str(caught.value)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "ftp://127.0.0.1/jwks", "data:,{}", "//127.0.0.1/jwks", ""]
)
def test_fetch_url_refuses_every_scheme_but_http_and_https(url: str) -> None:
    assert fetch_error(url) == "a JWKS URL must be http or https"


def test_fetch_url_takes_https_urls_to_the_network() -> None:
    # Nothing listens there: the refusal is the connection's, not the scheme check's.
    port = closed_port()
    for scheme in ("http", "https"):
        message = fetch_error(f"{scheme}://127.0.0.1:{port}/jwks")
        assert message == "the JWKS URL could not be read (URLError)"


def test_fetch_url_returns_the_body_and_asks_for_json_as_itself() -> None:
    with loopback() as (url, answer):
        answer.body = document(published())
        assert fetch_url(url, timeout=2, max_bytes=65536) == answer.body
    ((path, headers),) = answer.requests
    assert path == "/jwks"
    assert headers["Accept"] == "application/json"
    assert headers["User-Agent"] == "django-nextauth-jwt (JWKS client)"


@pytest.mark.parametrize("chunked", [False, True], ids=["content_length", "chunked"])
def test_fetch_url_takes_a_body_of_exactly_max_bytes_in_many_reads(chunked: bool) -> None:
    with loopback() as (url, answer):
        answer.body = bytes(range(256)) * 200  # 51,200 bytes: several reads of 16 KiB
        answer.chunked = chunked
        assert fetch_url(url, timeout=5, max_bytes=len(answer.body)) == answer.body


@pytest.mark.parametrize("chunked", [False, True], ids=["content_length", "chunked"])
def test_fetch_url_refuses_a_body_one_byte_over_max_bytes(chunked: bool) -> None:
    with loopback() as (url, answer):
        answer.body = b"x" * 1001
        answer.chunked = chunked
        message = fetch_error(url, max_bytes=1000)
    assert message == "the JWK Set is larger than the size limit"


def test_fetch_url_refuses_a_declared_length_over_the_limit_before_reading() -> None:
    # The server declares more than the limit and sends a small body: refused on the
    # header alone (read, the body would fit).
    with loopback() as (url, answer):
        answer.length = 1001
        message = fetch_error(url, max_bytes=1000)
    assert message == "the JWK Set is larger than the size limit"


# fetch_url closes the response of an HTTPError (3xx to 5xx) itself: an unclosed socket would
# warn at the collection below, and the warning is an error here.
@pytest.mark.filterwarnings("error::ResourceWarning")
@pytest.mark.parametrize("status", [204, 203, 302, 404, 500])
def test_fetch_url_takes_only_a_200(status: int) -> None:
    with loopback() as (url, answer):
        answer.status = status
        message = fetch_error(url)
    gc.collect()
    assert message == f"the JWKS URL answered {status}"
    assert len(answer.requests) == 1  # a redirect is not followed


def test_fetch_url_deadline_bounds_the_whole_body_not_each_read() -> None:
    with loopback() as (url, answer):
        answer.body = b" " * 200
        answer.drip = 0.02  # each read is quick; the whole body takes 4 s
        start = time.monotonic()
        message = fetch_error(url, timeout=0.3)
    assert message == "the JWK Set took longer than the timeout"
    assert time.monotonic() - start < BOUND


def test_fetch_url_times_out_a_server_that_never_answers() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)  # the connection is made; no answer ever comes
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/jwks"
        outcome: list[str] = []

        def fetch() -> None:
            try:
                fetch_url(url, timeout=0.3, max_bytes=1000)
            except JWKSFetchError as error:
                outcome.append(str(error))

        worker = threading.Thread(target=fetch, daemon=True)
        worker.start()
        worker.join(BOUND)
    assert outcome == ["the JWKS URL could not be read (TimeoutError)"]


# --------------------------------------------------------------------------- #
# JWKSClient on a fake clock
# --------------------------------------------------------------------------- #


class Issuer:
    def __init__(self, *keys: Mapping[str, object]) -> None:
        self.body = document(*keys)
        self.urls: list[str] = []
        self.down = False
        self.gate: threading.Event | None = None  # when set up, a fetch waits for it
        self.fetching = threading.Event()

    def __call__(self, url: str) -> bytes:
        self.urls.append(url)
        self.fetching.set()
        if self.gate is not None:
            # Longer than any caller's join(BOUND): a caller that waits for this fetch is
            # still waiting when the test looks (refresh_in_flight opens the gate at its end).
            self.gate.wait(4 * BOUND)
        if self.down:
            raise JWKSFetchError("down")
        return self.body

    @property
    def calls(self) -> int:
        return len(self.urls)


URL = "https://issuer.test/jwks"
KID = public().kid
NEW_KID = public("EdDSA", 1).kid


def make(issuer: Issuer, clock: Clock, **knobs: float) -> JWKSClient:
    return JWKSClient(URL, fetcher=issuer, clock=clock, **knobs)  # type: ignore[arg-type]


def test_the_clients_defaults_ttl_300_interval_30_stale_3600() -> None:
    issuer, clock = Issuer(published()), Clock()
    client = make(issuer, clock)
    assert client.keys() is not None
    clock.now = 1029.5
    client.keys("unknown")
    assert issuer.calls == 1  # within the interval
    clock.now = 1030.0
    client.keys("unknown")
    assert issuer.calls == 2  # 30 s after the last attempt
    clock.now = 1030.0 + 299.5
    client.keys()
    assert issuer.calls == 2  # within the TTL of the keys fetched at 1030
    issuer.down = True
    clock.now = 1030.0 + 300.0
    assert client.keys() is not None  # expired: refetched, failed, the old keys serve
    assert issuer.calls == 3
    clock.now = 1030.0 + 300.0 + 3599.5
    assert client.keys() is not None
    clock.now = 1030.0 + 300.0 + 3600.0
    assert client.keys() is None


def test_the_default_fetch_uses_the_clients_timeout_and_size_limit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[tuple[str, float, int]] = []

    def recording(url: str, *, timeout: float, max_bytes: int) -> bytes:
        calls.append((url, timeout, max_bytes))
        return document(published())

    monkeypatch.setattr(jwks, "fetch_url", recording)
    assert JWKSClient(URL).keys() is not None
    assert JWKSClient(URL, timeout=0.5, max_bytes=123).keys() is not None
    assert calls == [(URL, 5, 65536), (URL, 0.5, 123)]


def test_the_client_fetches_its_url_and_logs_a_failure_with_url_and_reason(
    caplog: pytest.LogCaptureFixture,
) -> None:
    issuer, clock = Issuer(published()), Clock()
    issuer.down = True
    client = make(issuer, clock)
    with caplog.at_level(logging.WARNING, logger="django_nextauth_jwt.jose.jwks"):
        assert client.keys() is None
    assert issuer.urls == [URL]
    assert [r.getMessage() for r in caplog.records] == [f"JWKS refresh from {URL} failed: down"]
    assert repr(client) == f"<JWKSClient {URL!r} fetches=1>"


def test_keys_are_refetched_exactly_at_the_ttl() -> None:
    issuer, clock = Issuer(published()), Clock()
    client = make(issuer, clock, cache_ttl=300, refresh_interval=30)
    client.keys()
    clock.now = 1000.0 + 300.0
    client.keys()
    assert issuer.calls == 2


def test_an_unknown_kid_is_fetched_again_exactly_at_the_interval() -> None:
    issuer, clock = Issuer(published()), Clock()
    client = make(issuer, clock, cache_ttl=300, refresh_interval=30)
    client.keys()
    clock.now = 1000.0 + 29.5
    client.keys("unknown")
    assert issuer.calls == 1
    clock.now = 1000.0 + 30.0
    client.keys("unknown")
    assert issuer.calls == 2


def test_keys_are_refused_exactly_at_ttl_plus_max_stale() -> None:
    issuer, clock = Issuer(published()), Clock()
    client = make(issuer, clock, cache_ttl=300, refresh_interval=30, max_stale=600)
    client.keys()
    issuer.down = True
    clock.now = 1000.0 + 899.5
    assert client.keys() is not None
    clock.now = 1000.0 + 900.0
    assert client.keys() is None


def answered_with(result: list[Any], kid: str) -> bool:
    """Whether the call in a thread returned, with a key set holding ``kid``."""
    return bool(result) and result[0] is not None and kid in result[0]


def in_thread(call: Callable[[], Any]) -> tuple[threading.Thread, list[Any]]:
    result: list[Any] = []
    thread = threading.Thread(target=lambda: result.append(call()), daemon=True)
    thread.start()
    return thread, result


@contextlib.contextmanager
def refresh_in_flight(
    client: JWKSClient, issuer: Issuer, kid: str | None = None
) -> Iterator[threading.Thread]:
    """A refresh that hangs at the issuer until the block ends."""
    issuer.gate = threading.Event()
    issuer.fetching.clear()
    refresher, _ = in_thread(lambda: client.keys(kid))
    assert issuer.fetching.wait(BOUND)
    try:
        yield refresher
    finally:
        issuer.gate.set()
        refresher.join(BOUND)


def test_fresh_keys_are_answered_while_a_refresh_for_an_unknown_kid_hangs() -> None:
    issuer, clock = Issuer(published()), Clock()
    client = make(issuer, clock, cache_ttl=300, refresh_interval=30)
    client.keys()
    clock.now += 31  # fresh still; the interval has passed
    with refresh_in_flight(client, issuer, "unknown"):
        for kid in (KID, None):
            caller, result = in_thread(functools.partial(client.keys, kid))
            caller.join(BOUND)
            assert answered_with(result, KID)


def test_usable_stale_keys_are_answered_while_a_refresh_hangs() -> None:
    issuer, clock = Issuer(published()), Clock()
    client = make(issuer, clock, cache_ttl=300, refresh_interval=30, max_stale=600)
    client.keys()
    clock.now += 301  # expired, within max_stale
    with refresh_in_flight(client, issuer):
        for kid in (KID, "unknown", None):
            caller, result = in_thread(functools.partial(client.keys, kid))
            caller.join(BOUND)
            assert answered_with(result, KID)


def test_past_max_stale_a_caller_waits_for_the_refresh_in_flight() -> None:
    issuer, clock = Issuer(published()), Clock()
    client = make(issuer, clock, cache_ttl=300, refresh_interval=30, max_stale=600)
    client.keys()
    clock.now = 1000.0 + 900.0  # exactly past use
    issuer.body = document(published(), published("EdDSA", 1))
    with refresh_in_flight(client, issuer):
        caller, result = in_thread(client.keys)
        caller.join(0.2)
        assert caller.is_alive()  # waiting, not answered with the old keys
    caller.join(BOUND)
    assert answered_with(result, NEW_KID)


def test_callers_waiting_on_a_first_fetch_share_it() -> None:
    # No rate limit at all: only the re-check under the lock keeps the waiters from
    # fetching again once the first fetch has brought the keys.
    issuer, clock = Issuer(published()), Clock()
    client = make(issuer, clock, cache_ttl=300, refresh_interval=0)
    with refresh_in_flight(client, issuer):
        waiters = [in_thread(functools.partial(client.keys, kid)) for kid in (None, KID)]
        time.sleep(0.1)
        for caller, _ in waiters:
            assert caller.is_alive()  # no keys yet: a first fetch is waited for
    for caller, result in waiters:
        caller.join(BOUND)
        assert answered_with(result, KID)
    assert issuer.calls == 1


# --------------------------------------------------------------------------- #
# KeySources: static keys first, then the issuers
# --------------------------------------------------------------------------- #


def test_a_static_kid_is_answered_by_its_static_key_alone() -> None:
    own, other = public(), public("EdDSA", 1)
    issuer = Issuer(published("EdDSA", 2, kid=own.kid))  # an issuer claiming the same kid
    sources = KeySources([own, other], [make(issuer, Clock())])
    assert sources.candidates(own.kid, "EdDSA") == [own]
    assert sources.candidates(own.kid, "ES256") == []
    assert issuer.calls == 0


def test_an_unknown_kid_gets_the_issuers_key_and_no_static_one() -> None:
    own = public()
    theirs = published("EdDSA", 1)
    sources = KeySources([own], [make(Issuer(theirs), Clock())])
    assert [k.kid for k in sources.candidates(theirs["kid"], "EdDSA")] == [theirs["kid"]]
    assert sources.candidates("nobody", "EdDSA") == []


def test_no_kid_gets_every_key_of_the_algorithm() -> None:
    own, ec_key = public(), public("ES256")
    theirs = published("EdDSA", 1)
    sources = KeySources([own, ec_key], [make(Issuer(theirs), Clock())])
    assert [k.kid for k in sources.candidates(None, "EdDSA")] == [own.kid, theirs["kid"]]


def test_an_issuer_that_is_down_does_not_hide_the_next_ones_keys() -> None:
    down = Issuer(published())
    down.down = True
    theirs = published("EdDSA", 1)
    sources = KeySources([], [make(down, Clock()), make(Issuer(theirs), Clock())])
    assert [k.kid for k in sources.candidates(theirs["kid"], "EdDSA")] == [theirs["kid"]]
    with pytest.raises(KeysUnavailable):
        sources.candidates("nobody", "EdDSA")


def test_an_ec_coordinate_with_a_leading_zero_byte_keeps_its_32_bytes() -> None:
    # RFC 7518 6.2.1.2-3: x and y are the full 32 bytes, leading zeros included. A key whose
    # y starts with a zero byte (1 in 256) tells a fixed-size encoding from a minimal one.
    while True:
        private = ec.generate_private_key(ec.SECP256R1())
        numbers = private.public_key().public_numbers()
        if numbers.y < 1 << 248:
            break
    public = private.public_key()
    members = json.loads(json.dumps(jwk.PublicKey(public).to_jwk()))
    y = base64.urlsafe_b64decode(members["y"] + "=")
    assert len(y) == 32
    assert y[0] == 0
    canonical = json.dumps(
        {"crv": "P-256", "kty": "EC", "x": members["x"], "y": members["y"]},
        separators=(",", ":"),
    )
    expected = base64.urlsafe_b64encode(hashlib.sha256(canonical.encode()).digest()).rstrip(b"=")
    assert jwk.thumbprint(public) == expected.decode()


@pytest.mark.parametrize("alg", ALGS)
def test_a_signing_key_header_is_compact_json_like_json_stringify(alg: str) -> None:
    # What jose's SignJWT writes: no spaces, alg then typ then kid.
    key = jwk.load_signing_key(forge.private_pem(alg))
    header = base64.urlsafe_b64decode(key.header + "=" * (-len(key.header) % 4))
    assert header == f'{{"alg":"{alg}","typ":"JWT","kid":"{key.kid}"}}'.encode()


def private_pem_of(private: Any, password: bytes | None = None) -> bytes:
    encryption = (
        serialization.BestAvailableEncryption(password)
        if password
        else serialization.NoEncryption()
    )
    return bytes(
        private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
        )
    )


NO_D = "a signing key needs its private part (the JWK has no 'd')"
SIGNING_REFUSALS: list[tuple[str, Any, str]] = [
    (
        "p384_pem",
        private_pem_of(ec.generate_private_key(ec.SECP384R1())),
        "only P-256 EC keys (ES256) are supported",
    ),
    (
        "x25519_pem",
        private_pem_of(x25519.X25519PrivateKey.from_private_bytes(b"\1" * 32)),
        "only Ed25519, P-256 and RSA keys are supported",
    ),
    (
        "encrypted_pem",
        private_pem_of(ec.generate_private_key(ec.SECP256R1()), b"passphrase"),
        "the PEM is encrypted or of an unsupported type",
    ),
    ("public_jwk", ED, "a signing key needs its private part (the JWK has no 'd')"),
    (
        "public_jwk_json",
        json.dumps(ED),
        "a signing key needs its private part (the JWK has no 'd')",
    ),
]


@pytest.mark.parametrize(
    ("value", "message"),
    [case[1:] for case in PRIVATE_REFUSALS + SIGNING_REFUSALS],
    ids=[case[0] for case in PRIVATE_REFUSALS + SIGNING_REFUSALS],
)
def test_an_unusable_signing_key_is_refused_naming_its_cause(value: Any, message: str) -> None:
    # PEMs and private JWKs alike: load_signing_key's every refusal, in its own words.
    with pytest.raises(ValueError) as refused:  # noqa: PT011 - the message is compared whole
        jwk.load_signing_key(value)
    assert str(refused.value) == message


def test_a_signing_key_of_another_type_is_refused_when_built_directly() -> None:
    with pytest.raises(ValueError) as refused:  # noqa: PT011 - the message is compared whole
        jwk.SigningKey(x25519.X25519PrivateKey.from_private_bytes(b"\1" * 32))  # type: ignore[arg-type]
    assert str(refused.value) == "only Ed25519, P-256 and RSA keys are supported"


def test_a_one_character_kid_is_a_kid_and_an_empty_one_is_not() -> None:
    assert jwk.load_public_key({**ED, "kid": "k"}).kid == "k"
    with pytest.raises(ValueError) as refused:  # noqa: PT011 - the message is compared whole
        jwk.load_public_key({**ED, "kid": ""})
    assert str(refused.value) == "a kid must be a non-empty string of at most 256 characters"


def test_a_jwk_given_as_json_may_start_with_whitespace() -> None:
    assert jwk.load_public_key("\n  " + json.dumps(ED)).kid == ED["kid"]


@pytest.mark.parametrize("alg", ALGS)
def test_a_private_jwk_may_name_the_alg_its_type_gives(alg: str) -> None:
    assert jwk.load_signing_key({**private_jwk(alg), "alg": alg}).alg == alg
    other = next(a for a in ALGS if a != alg)
    with pytest.raises(ValueError, match=r"^the JWK's alg does not match its key type$"):
        jwk.load_signing_key({**private_jwk(alg), "alg": other})

"""The codec's edges, each pinned exactly: padding, canonical base64url, allow-lists, limits.

These cases close what mutation testing (``make mutate``) showed no test observed: a check
that could be weakened, a boundary that could move by one, a constant that could widen,
with every other test still green. Each test names the behaviour it pins; the mutant it
kills is in the comment beside it. No Django here, as in the rest of ``tests/codec``.
"""

from __future__ import annotations

import json
import string

import pytest

from django_nextauth_jwt.exceptions import (
    InvalidToken,
    TokenClaimsInvalid,
    TokenMalformed,
    TokenMissing,
    TokenUnsupported,
)
from django_nextauth_jwt.jose import codec, jwk
from tests import forge

KEYS = codec.Keyring([forge.SECRET])
PAYLOAD = {"sub": "42", "exp": 4_000_000_000}
BODY = json.dumps(PAYLOAD).encode()
ALPHABET = string.ascii_uppercase + string.ascii_lowercase + string.digits + "-_"


def v5_plaintext(plaintext: bytes) -> str:
    """A v5 token whose CBC plaintext is exactly ``plaintext`` (no padding added), MAC valid."""
    assert len(plaintext) % 16 == 0
    return forge.v5(None, plaintext=plaintext, pad=False)


def body_then(tail: bytes) -> bytes:
    """The JSON payload, JSON whitespace, then ``tail``, ending on a block boundary."""
    return BODY + b" " * (-(len(BODY) + len(tail)) % 16) + tail


# --------------------------------------------------------------------------- #
# v5: PKCS#7 after the MAC
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("pad", range(1, 17))
def test_v5_every_pad_length_from_1_to_16_is_accepted(pad: int) -> None:
    # Kills `1 < pad` and `pad < 16`: both ends of the range are real PKCS#7 paddings.
    token = v5_plaintext(body_then(bytes((pad,)) * pad))
    assert codec.decode(token, KEYS) == PAYLOAD


@pytest.mark.parametrize(
    "tail",
    [b"\x01\x02", b"\x02\x03\x03", b"\x10" * 15 + b"\x0f\x10", b"\x00\x04\x04\x04"],
    ids=["2-over-1", "3-over-2", "16-over-15", "4-over-3"],
)
def test_v5_padding_bytes_must_all_equal_the_pad_length(tail: bytes) -> None:
    # The last byte is in range, the bytes before it disagree: `and` for `or` would pass it.
    with pytest.raises(InvalidToken) as caught:
        codec.decode(v5_plaintext(body_then(tail)), KEYS)
    assert caught.type is InvalidToken


@pytest.mark.parametrize("pad", [0, 17, 32])
def test_v5_a_pad_byte_outside_1_to_16_is_refused_even_when_consistent(pad: int) -> None:
    # `pad <= 17` would take 17 bytes of 0x11; 0 is refused by either half of the check.
    tail = bytes((pad,)) * max(pad, 1)
    with pytest.raises(InvalidToken) as caught:
        codec.decode(v5_plaintext(body_then(tail)), KEYS)
    assert caught.type is InvalidToken


def test_v5_ciphertext_that_is_not_whole_blocks_is_malformed() -> None:
    head, _, iv, ct, _ = forge.jwe_parts(forge.v5(PAYLOAD))
    key = forge.v5_key()
    for cut in (ct[:-1], ct + b"\x00", b""):
        token = forge.compact(head, "", iv, cut, forge.cbc_hs512_tag(key, head, iv, cut))
        with pytest.raises(TokenMalformed):
            codec.decode(token, KEYS)


# --------------------------------------------------------------------------- #
# Canonical base64url: the spare bits of the last character are zero
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize(("prefix", "canonical"), [("A", "AQgw"), ("AA", "AEIMQUYcgkosw048")])
def test_the_last_character_of_a_short_group_must_have_zero_spare_bits(
    prefix: str, canonical: str
) -> None:
    # Every one of the 64 last characters, for both leftover lengths: a widened or
    # narrowed set of canonical characters fails here, whichever character it moves.
    for char in ALPHABET:
        value = prefix + char
        if char in canonical:
            assert codec.b64url_encode(codec.b64url_decode(value)) == value
        else:
            with pytest.raises(TokenMalformed):
                codec.b64url_decode(value)


def test_a_single_leftover_character_is_never_base64url() -> None:
    for value in ("A", "AAAAA", "AAAAAAAAA"):
        with pytest.raises(TokenMalformed):
            codec.b64url_decode(value)
    assert codec.b64url_decode("") == b""
    assert codec.b64url_decode("AAAA") == b"\x00\x00\x00"


def twins(segment: str) -> list[str]:
    """Every other spelling of ``segment`` that a lenient decoder reads as the same bytes."""
    spare = {2: 4, 3: 2}[len(segment) % 4]
    index = ALPHABET.index(segment[-1])
    group = index & ~((1 << spare) - 1)
    others = [ALPHABET[i] for i in range(group, group + (1 << spare)) if i != index]
    found = [segment[:-1] + c for c in others]
    assert all(forge.unb64(t) == forge.unb64(segment) for t in found)
    return found


@pytest.mark.parametrize(
    ("fmt", "part"),
    [
        ("nextauth-v4", 4),  # the 16-byte tag: two leftover characters
        ("authjs-v5", 2),  # the 16-byte IV: two leftover characters
        ("authjs-v5", 4),  # the 32-byte tag: three
        ("jws", 2),  # the HS256 signature: three
    ],
    ids=["v4-tag", "v5-iv", "v5-tag", "jws-signature"],
)
def test_every_non_canonical_twin_of_an_authentic_segment_is_malformed(fmt: str, part: int) -> None:
    token = codec.encode(PAYLOAD, KEYS, format=fmt)
    parts = token.split(".")
    assert codec.decode(token, KEYS) == PAYLOAD
    for twin in twins(parts[part]):
        forged = ".".join([*parts[:part], twin, *parts[part + 1 :]])
        with pytest.raises(TokenMalformed):
            codec.decode(forged, KEYS)


# --------------------------------------------------------------------------- #
# The compact form
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("char", ["+", "/", "=", " ", "%", "\u00e9", "~", "!"])
def test_characters_outside_base64url_and_dots_are_malformed_anywhere(char: str) -> None:
    # Every segment's alphabet (checked as it is decoded, before any key is tried) and a lone
    # segment's stay exactly base64url; a non-ASCII token is refused before it is split.
    token = codec.encode(PAYLOAD, KEYS, format="jws")
    head, body, sig = token.split(".")
    for forged in (f"{head}.{body}{char}.{sig}", f"{char}{token}", f"{token}{char}"):
        with pytest.raises(TokenMalformed):
            codec.decode(forged, KEYS)
    with pytest.raises(TokenMalformed):
        codec.b64url_decode(f"AA{char}A")


def test_every_base64url_character_is_allowed_in_a_token() -> None:
    # The other direction: a narrowed alphabet refuses a genuine token that uses the character.
    for char in ALPHABET:
        token = forge.hs256_over(forge.js({"alg": "HS256"}), forge.js({**PAYLOAD, "x": char * 3}))
        assert codec.decode(token, KEYS)["x"] == char * 3
    assert codec.b64url_decode(ALPHABET) == codec.b64url_decode(ALPHABET)
    assert codec.b64url_encode(codec.b64url_decode(ALPHABET)) == ALPHABET


@pytest.mark.parametrize(
    "token",
    [
        "a.b",
        "a.b.c.d",
        "a..c",
        ".b.c",
        "a.b.",
        "a.b.c.d.e.f",
        "h..iv.ct.",
        "h..iv..tag",
        "..iv.c.t",
    ],
)
def test_only_three_or_five_segments_with_only_the_jwe_key_empty(token: str) -> None:
    with pytest.raises(TokenMalformed):
        codec.decode(token, KEYS)


def test_an_empty_token_is_missing_and_a_non_string_is_malformed() -> None:
    with pytest.raises(TokenMissing):
        codec.decode("", KEYS)
    with pytest.raises(TokenMalformed):
        codec.decode(b"a.b.c", KEYS)  # type: ignore[arg-type]


def test_the_size_limit_is_inclusive() -> None:
    token = codec.encode(PAYLOAD, KEYS, format="jws")
    assert codec.decode(token, KEYS, max_length=len(token)) == PAYLOAD
    with pytest.raises(TokenMalformed, match=r"^Token is too large\.$"):
        codec.decode(token, KEYS, max_length=len(token) - 1)
    long = codec.encode({**PAYLOAD, "x": "y" * codec.DEFAULT_MAX_TOKEN_LENGTH}, KEYS, format="jws")
    with pytest.raises(TokenMalformed, match=r"^Token is too large\.$"):
        codec.decode(long, KEYS)
    # The default limit: the largest token that fits is read, whatever its content.
    limit = codec.DEFAULT_MAX_TOKEN_LENGTH
    size = (limit - len(forge.jws({**PAYLOAD, "x": ""}))) * 3 // 4
    while len(padded := forge.jws({**PAYLOAD, "x": "y" * size})) > limit:
        size -= 1
    assert len(padded) > limit - 4
    assert codec.decode(padded, KEYS)["sub"] == "42"


# --------------------------------------------------------------------------- #
# Header allow-lists, one parameter at a time
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("fmt", ["jws", "nextauth-v4", "authjs-v5"])
@pytest.mark.parametrize("extra", ["crit", "zip", "jku", "jwk", "x5u", "cty", "b64", "epk", "iv"])
def test_a_header_parameter_outside_the_format_allow_list_is_unsupported(
    fmt: str, extra: str
) -> None:
    if fmt == "jws":
        token = forge.jws(PAYLOAD, header={"alg": "HS256", "typ": "JWT", extra: "x"})
    elif fmt == "nextauth-v4":
        token = forge.v4(PAYLOAD, header={"alg": "dir", "enc": "A256GCM", extra: "x"})
    else:
        kid = forge.thumbprint(forge.v5_key())
        token = forge.v5(
            PAYLOAD, header={"alg": "dir", "enc": "A256CBC-HS512", "kid": kid, extra: 1}
        )
    with pytest.raises(TokenUnsupported):
        codec.decode(token, KEYS)


def test_each_allowed_header_parameter_is_accepted() -> None:
    # Narrowing an allow-list refuses what NextAuth and stock signers really send.
    kid = forge.thumbprint(forge.v5_key())
    accepted = [
        forge.jws(PAYLOAD, header={"alg": "HS256"}),
        forge.jws(PAYLOAD, header={"alg": "HS256", "typ": "JWT"}),
        forge.jws(PAYLOAD, header={"alg": "HS256", "typ": "jwt"}),
        forge.jws(PAYLOAD, header={"alg": "HS256", "kid": "k1"}),
        forge.jws(PAYLOAD, header={"alg": "HS256", "typ": "JWT", "kid": "k1"}),
        forge.v4(PAYLOAD, header={"alg": "dir", "enc": "A256GCM"}),
        forge.v5(PAYLOAD, header={"alg": "dir", "enc": "A256CBC-HS512"}),
        forge.v5(PAYLOAD, header={"alg": "dir", "enc": "A256CBC-HS512", "kid": kid}),
    ]
    for token in accepted:
        assert codec.decode(token, KEYS) == PAYLOAD


@pytest.mark.parametrize(
    "header",
    [{"alg": "HS256", "typ": "JWS"}, {"alg": "HS256", "typ": 1}, {"alg": "HS256", "kid": 7}],
)
def test_jws_typ_must_be_jwt_and_kid_a_string(header: dict[str, object]) -> None:
    with pytest.raises(TokenUnsupported):
        codec.decode(forge.jws(PAYLOAD, header=header), KEYS)


@pytest.mark.parametrize(
    "header",
    [
        {"alg": "dir", "enc": "A256GCM", "kid": "k"},
        {"alg": "A256KW", "enc": "A256GCM"},
        {"alg": "dir", "enc": "A256GCM", "typ": "JWT"},
    ],
)
def test_the_v4_header_is_exactly_dir_and_a256gcm(header: dict[str, object]) -> None:
    with pytest.raises(TokenUnsupported):
        codec.decode(forge.v4(PAYLOAD, header=header), KEYS)


@pytest.mark.parametrize(
    "header",
    [
        {"alg": "A256KW", "enc": "A256CBC-HS512"},
        {"enc": "A256CBC-HS512"},
        {"alg": "dir", "enc": "A256CBC-HS512", "typ": "JWT"},
    ],
)
def test_the_v5_header_is_dir_a256cbc_hs512_and_an_optional_kid(header: dict[str, object]) -> None:
    with pytest.raises(TokenUnsupported):
        codec.decode(forge.v5(PAYLOAD, header=header), KEYS)


@pytest.mark.parametrize(("alg", "length"), [("HS256", 32), ("HS384", 48), ("HS512", 64)])
def test_each_jws_algorithm_uses_its_own_digest_and_signature_length(alg: str, length: int) -> None:
    token = codec.encode(PAYLOAD, KEYS, format="jws", jws_algorithm=alg)
    assert len(forge.unb64(token.split(".")[2])) == length
    assert codec.decode(token, KEYS, jws_algorithm=alg) == PAYLOAD
    assert codec.decode(forge.jws(PAYLOAD, alg=alg), KEYS, jws_algorithm=alg) == PAYLOAD
    head, body, sig = token.split(".")
    short = forge.b64(forge.unb64(sig)[:-1])
    with pytest.raises(InvalidToken):
        codec.decode(f"{head}.{body}.{short}", KEYS, jws_algorithm=alg)


# --------------------------------------------------------------------------- #
# Payloads no encoder can render
# --------------------------------------------------------------------------- #


def nested(depth: int) -> dict[str, object]:
    value: object = 1
    for _ in range(depth - 1):
        value = [value]
    return {**PAYLOAD, "deep": value}


def test_payload_nesting_is_accepted_up_to_the_limit_and_refused_past_it() -> None:
    # The top object is depth 1; "deep" holds depth - 1 lists.
    assert codec.MAX_PAYLOAD_DEPTH == 16
    for fmt in ("jws", "nextauth-v4", "authjs-v5"):
        assert codec.decode(codec.encode(nested(16), KEYS, format=fmt), KEYS) == nested(16)
        with pytest.raises(TokenClaimsInvalid):
            codec.decode(codec.encode(nested(17), KEYS, format=fmt), KEYS)
    objects: dict[str, object] = {"v": 1}
    for _ in range(15):
        objects = {"v": objects}
    assert codec.decode(forge.jws(objects), KEYS) == objects
    with pytest.raises(TokenClaimsInvalid):
        codec.decode(forge.jws({"v": objects}), KEYS)


@pytest.mark.parametrize(
    "raw",
    [
        '{"sub":"42","exp":4000000000,"x":"\\udc00"}',
        '{"sub":"42","exp":4000000000,"\\ud800":1}',
        '{"sub":"42","exp":4000000000,"x":{"y":["\\ud800"]}}',
    ],
    ids=["value", "key", "nested"],
)
def test_a_lone_surrogate_anywhere_in_the_payload_is_refused(raw: str) -> None:
    for token in (
        forge.hs256_over(forge.js({"alg": "HS256"}), forge.b64(raw)),
        forge.v4(None, plaintext=raw.encode()),
        forge.v5(None, plaintext=raw.encode()),
    ):
        with pytest.raises(TokenClaimsInvalid):
            codec.decode(token, KEYS)


def test_escaped_text_that_renders_is_accepted() -> None:
    raw = '{"sub":"42","exp":4000000000,"x":"\\u00e9\\ud83d\\ude00","y":[[["\\u0041"]]]}'
    token = forge.hs256_over(forge.js({"alg": "HS256"}), forge.b64(raw))
    assert codec.decode(token, KEYS)["x"] == "\u00e9\U0001f600"


# --------------------------------------------------------------------------- #
# Keys
# --------------------------------------------------------------------------- #


def test_derived_keys_match_the_reference_derivations() -> None:
    # An independent HKDF (tests.forge) pins the info strings, salts and lengths.
    assert KEYS.v5_signing_key == (forge.thumbprint(forge.v5_key()), forge.v5_key())
    salted = codec.Keyring([forge.SECRET], v5_salt="__Secure-authjs.session-token")
    key = forge.v5_key(salt="__Secure-authjs.session-token")
    assert salted.v5_signing_key == (forge.thumbprint(key), key)
    assert codec.v5_info("s") == b"Auth.js Generated Encryption Key (s)"
    assert codec.jwk_thumbprint(forge.v5_key()) == forge.thumbprint(forge.v5_key())
    token = codec.encode(PAYLOAD, KEYS, format="nextauth-v4")
    assert forge.v4(PAYLOAD).split(".")[0] == token.split(".")[0]
    assert codec.decode(forge.v4(PAYLOAD, key=forge.v4_key()), KEYS) == PAYLOAD


def test_a_rotated_keyring_signs_with_its_first_secret_and_keys_v5_by_kid() -> None:
    ring = codec.Keyring([forge.OTHER_SECRET, forge.SECRET])
    assert list(ring.v5_keys) == [
        forge.thumbprint(forge.v5_key(forge.OTHER_SECRET)),
        forge.thumbprint(forge.v5_key(forge.SECRET)),
    ]
    assert ring.v5_signing_key[1] == forge.v5_key(forge.OTHER_SECRET)
    assert len(ring.v4_ciphers) == 2
    for fmt in ("jws", "nextauth-v4", "authjs-v5"):
        token = codec.encode(PAYLOAD, ring, format=fmt)
        with pytest.raises(InvalidToken):
            codec.decode(token, KEYS)
    # A v5 token without kid is tried with the first secret only, as @auth/core does.
    old = forge.v5(PAYLOAD, header={"alg": "dir", "enc": "A256CBC-HS512"})
    with pytest.raises(InvalidToken):
        codec.decode(old, ring)
    assert codec.decode(old, KEYS) == PAYLOAD


@pytest.mark.parametrize("secrets", [[], "a-secret", [""], ["ok", ""], ["ok", 3]])
def test_a_keyring_needs_a_list_of_non_empty_strings(secrets: object) -> None:
    with pytest.raises(ValueError, match="secret"):
        codec.Keyring(secrets)  # type: ignore[arg-type]


def test_a_keyring_repr_names_no_secret() -> None:
    text = repr(codec.Keyring([forge.SECRET, forge.OTHER_SECRET], v5_salt="s"))
    assert text == "<Keyring secrets=2 v5_salt='s' signing_keys=0>"


def test_the_depth_walk_counts_one_level_per_object_or_array() -> None:
    # An escape in the text forces the walk even when few brackets would skip it.
    objects: dict[str, object] = {"v": "\u00e9"}
    for _ in range(15):
        objects = {"v": objects}
    lists: object = ["\u00e9"]
    for _ in range(14):
        lists = [lists]
    for payload in (objects, {**PAYLOAD, "deep": lists}):
        raw = json.dumps(payload, ensure_ascii=True)
        assert "\\u00e9" in raw
        token = forge.hs256_over(forge.js({"alg": "HS256"}), forge.b64(raw))
        assert codec.decode(token, KEYS) == payload
    raw = json.dumps({"v": objects}, ensure_ascii=True)
    with pytest.raises(TokenClaimsInvalid):
        codec.decode(forge.hs256_over(forge.js({"alg": "HS256"}), forge.b64(raw)), KEYS)


def token_of_length(length: int) -> str:
    """A genuine JWS of exactly ``length`` characters (a kid and a claim pad it out)."""
    for kid in range(4):
        header = {"alg": "HS256", "kid": "k" * kid}
        short = len(forge.jws({**PAYLOAD, "x": ""}, header=header))
        start = max(0, (length - short) * 3 // 4 - 4)
        for size in range(start, start + 12):
            token = forge.jws({**PAYLOAD, "x": "y" * size}, header=header)
            if len(token) == length:
                return token
    raise AssertionError(length)


def test_a_token_of_exactly_the_default_limit_is_read_and_one_more_is_not() -> None:
    limit = codec.DEFAULT_MAX_TOKEN_LENGTH
    assert limit == 32768
    assert codec.decode(token_of_length(limit), KEYS)["sub"] == "42"
    with pytest.raises(TokenMalformed, match=r"^Token is too large\.$"):
        codec.decode(token_of_length(limit + 1), KEYS)


# --------------------------------------------------------------------------- #
# Messages and encodings others read
# --------------------------------------------------------------------------- #


def test_error_messages_are_exact() -> None:
    # The 401's detail, and the ValueErrors a caller's programming error gets.
    stranger = codec.Keyring([forge.OTHER_SECRET])
    with pytest.raises(InvalidToken, match=r"^No matching decryption secret\.$"):
        codec.decode(codec.encode(PAYLOAD, stranger, format="authjs-v5"), KEYS)
    with pytest.raises(
        ValueError, match=r"^format must be one of jws, nextauth-v4, authjs-v5, jws-asymmetric$"
    ):
        codec.encode(PAYLOAD, KEYS, format="jwe")
    with pytest.raises(ValueError, match=r"^jws_algorithm must be one of HS256, HS384, HS512$"):
        codec.encode(PAYLOAD, KEYS, format="jws", jws_algorithm="RS256")
    with pytest.raises(ValueError, match=r"^jws_algorithm must be one of HS256, HS384, HS512$"):
        codec.decode("a.b.c", KEYS, jws_algorithm="none")
    with pytest.raises(ValueError, match=r"^secrets must be a non-empty sequence of strings$"):
        codec.Keyring([])
    with pytest.raises(ValueError, match=r"^every secret must be a non-empty string$"):
        codec.Keyring([""])


def test_claims_are_encoded_as_compact_utf8_json_like_json_stringify() -> None:
    # What JSON.stringify writes (no spaces, no \u escapes): the bytes other services read.
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    claims = {**PAYLOAD, "name": "Zo\u00eb \U0001f600"}
    expected = json.dumps(claims, separators=(",", ":"), ensure_ascii=False).encode()
    jws = codec.encode(claims, KEYS, format="jws")
    assert forge.unb64(jws.split(".")[1]) == expected
    v4 = codec.encode(claims, KEYS, format="nextauth-v4")
    head, _, iv, ct, tag = forge.jwe_parts(v4)
    assert AESGCM(forge.v4_key()).decrypt(iv, ct + tag, head.encode()) == expected
    assert codec.decode(v4, KEYS) == codec.decode(jws, KEYS) == claims


def test_duplicate_claims_in_a_payload_read_as_json_parse_does() -> None:
    # Headers refuse duplicate members; payloads are read as JSON.parse reads them (the
    # last one wins), as every service of the mesh does.
    raw = '{"sub":"1","sub":"42","exp":4000000000}'
    token = forge.hs256_over(forge.js({"alg": "HS256"}), forge.b64(raw))
    assert codec.decode(token, KEYS) == PAYLOAD


@pytest.mark.parametrize("fmt", ["nextauth-v4", "authjs-v5"])
@pytest.mark.parametrize("empty", [0, 2, 3, 4], ids=["header", "iv", "ciphertext", "tag"])
def test_an_empty_jwe_segment_other_than_the_key_is_malformed_before_any_decryption(
    fmt: str, empty: int
) -> None:
    parts = codec.encode(PAYLOAD, KEYS, format=fmt).split(".")
    parts[empty] = ""
    with pytest.raises(TokenMalformed) as caught:
        codec.decode(".".join(parts), KEYS)
    assert caught.type is TokenMalformed


# --------------------------------------------------------------------------- #
# Header parsing, asymmetric headers, keyring caches and messages
# --------------------------------------------------------------------------- #


def test_a_header_with_surrounding_whitespace_is_read_and_still_refuses_duplicates() -> None:
    # JSON with whitespace around it takes the slower parse: it must be as strict.
    # Kills `_JSON_UNIQUE if unique and False` (the lenient parser for headers).
    body = forge.b64(json.dumps(PAYLOAD))
    assert codec.decode(forge.hs256_over(forge.b64('{"alg":"HS256"} '), body), KEYS) == PAYLOAD
    for head in (' {"alg":"HS256","alg":"HS256"}', '{"alg":"HS256","typ":"JWT","typ":"JWT"}\n'):
        with pytest.raises(TokenMalformed):
            codec.decode(forge.hs256_over(forge.b64(head), body), KEYS)


def test_a_payload_with_surrounding_whitespace_reads_duplicates_as_json_parse_does() -> None:
    # Kills `_JSON_UNIQUE if unique or True`: payloads are never read as headers are.
    raw = ' {"sub":"1","sub":"42","exp":4000000000}\n'
    token = forge.hs256_over(forge.js({"alg": "HS256"}), forge.b64(raw))
    assert codec.decode(token, KEYS) == PAYLOAD


def asymmetric_keys() -> codec.Keyring:
    public = jwk.load_public_key(forge.public_pem("EdDSA"))
    return codec.Keyring([], public_keys=jwk.KeySet([public]))


@pytest.mark.parametrize("typ", [None, "JWT", "jwt"])
def test_an_asymmetric_token_may_omit_typ_or_say_jwt_in_any_case(typ: str | None) -> None:
    header = {"alg": "EdDSA"} if typ is None else {"alg": "EdDSA", "typ": typ}
    token = forge.asym_jws(PAYLOAD, "EdDSA", header=header)
    assert codec.decode(token, asymmetric_keys(), formats=["jws-asymmetric"]) == PAYLOAD


@pytest.mark.parametrize("typ", ["at+jwt", "JWS", 1, ["JWT"]])
def test_an_asymmetric_token_of_another_typ_is_unsupported(typ: object) -> None:
    token = forge.asym_jws(PAYLOAD, "EdDSA", header={"alg": "EdDSA", "typ": typ})
    with pytest.raises(TokenUnsupported):
        codec.decode(token, asymmetric_keys(), formats=["jws-asymmetric"])


@pytest.mark.parametrize("kid", [7, "", "k" * (jwk.MAX_KID_LENGTH + 1), None, ["k"]])
def test_an_asymmetric_kid_must_be_a_string_of_1_to_256_characters(kid: object) -> None:
    token = forge.asym_jws(PAYLOAD, "EdDSA", header={"alg": "EdDSA", "kid": kid})
    with pytest.raises(TokenUnsupported):
        codec.decode(token, asymmetric_keys(), formats=["jws-asymmetric"])


@pytest.mark.parametrize("kid", ["k", "k" * jwk.MAX_KID_LENGTH])
def test_an_unknown_kid_of_allowed_length_finds_no_key(kid: str) -> None:
    token = forge.asym_jws(PAYLOAD, "EdDSA", header={"alg": "EdDSA", "kid": kid})
    with pytest.raises(InvalidToken, match=r"^No matching verification key\.$") as caught:
        codec.decode(token, asymmetric_keys(), formats=["jws-asymmetric"])
    assert caught.type is InvalidToken


@pytest.mark.parametrize("kid", [["a"], {"k": 1}, 7])
def test_a_v5_kid_that_is_not_a_string_finds_no_secret(kid: object) -> None:
    # Looked up only when it is a string: a list would not even hash (a 500, not a 401).
    header = {"alg": "dir", "enc": "A256CBC-HS512", "kid": kid}
    with pytest.raises(InvalidToken, match=r"^No matching decryption secret\.$"):
        codec.decode(forge.v5(PAYLOAD, header=header), KEYS)


def test_a_keyring_derives_its_jws_keys_once_per_algorithm() -> None:
    ring = codec.Keyring([forge.SECRET, forge.OTHER_SECRET])
    first = ring.jws_macs("HS256")
    assert ring.jws_macs("HS256") is first
    assert len(first) == 2
    assert ring.jws_macs("HS512") is not first


def test_a_mac_key_repr_names_nothing_of_the_key() -> None:
    assert repr(codec._MacKey(forge.SECRET.encode())) == "<_MacKey>"


def test_keyring_programming_errors_say_what_is_missing() -> None:
    with pytest.raises(ValueError, match=r"^secrets must be a sequence of strings$"):
        codec.Keyring(forge.SECRET)
    public_only = asymmetric_keys()
    with pytest.raises(ValueError, match=r"^this format needs a secret, and the keyring has none$"):
        codec.encode(PAYLOAD, public_only, format="authjs-v5")
    with pytest.raises(
        ValueError, match=r"^jws-asymmetric needs a signing key, and the keyring has none$"
    ):
        codec.encode(PAYLOAD, KEYS, format="jws-asymmetric")

"""Attacks on the encrypted (JWE) paths: next-auth v4 (dir + A256GCM), Auth.js v5 (dir +
A256CBC-HS512 with kid), and format confusion between JWS and JWE.

The deployment accepts both JWE formats (v5 mints), so each hostile token reaches the
decoder its header names; the cases assert that decoder's exact refusal on the DRF view
and through the middleware.
"""

from __future__ import annotations

import json
import os
import zlib
from typing import Any

import pytest

from django_nextauth_jwt.jose import codec
from tests import forge
from tests.security.helpers import (
    SECURE_V5_COOKIE,
    V4_COOKIE,
    V4_HEADER,
    V5_COOKIE,
    V5_ENC,
    accepted_everywhere,
    elapsed,
    refused_everywhere,
    v5_header,
)

FAST = 0.5  # seconds: refused before any key derivation or inflation


@pytest.fixture(autouse=True)
def _jwe_deployment(settings: Any) -> None:
    settings.NEXTAUTH_JWT_FORMAT = "authjs-v5"
    settings.NEXTAUTH_ACCEPTED_FORMATS = ["authjs-v5", "nextauth-v4"]


def v4_token(**claims: Any) -> str:
    return forge.v4(forge.claims(**claims))


def v5_token(**claims: Any) -> str:
    return forge.v5(forge.claims(**claims))


def with_header(token: str, header: dict[str, Any], encrypted_key: bytes = b"") -> str:
    """``token``'s iv, ciphertext and tag under another protected header."""
    _, _, iv, ct, tag = forge.jwe_parts(token)
    return forge.compact(forge.js(header), encrypted_key, iv, ct, tag)


def with_parts(
    token: str, *, iv: bytes | None = None, ct: bytes | None = None, tag: bytes | None = None
) -> str:
    head, key, old_iv, old_ct, old_tag = forge.jwe_parts(token)
    return forge.compact(
        head,
        key,
        old_iv if iv is None else iv,
        old_ct if ct is None else ct,
        old_tag if tag is None else tag,
    )


def flip(data: bytes, index: int = 0) -> bytes:
    return data[:index] + bytes((data[index] ^ 0x01,)) + data[index + 1 :]


def test_genuine_v4_and_v5_tokens_are_accepted_as_the_control() -> None:
    accepted_everywhere(token=v4_token())
    accepted_everywhere(token=v5_token())
    accepted_everywhere(cookies={V5_COOKIE: v5_token()})


# --------------------------------------------------------------------------- #
# Format confusion, JWS <-> JWE
# --------------------------------------------------------------------------- #


def test_v4_jwe_sent_to_a_jws_only_deployment_is_refused(settings: Any) -> None:
    settings.NEXTAUTH_JWT_FORMAT = "jws"
    settings.NEXTAUTH_ACCEPTED_FORMATS = ["jws"]
    refused_everywhere("token_unsupported", token=v4_token())


def test_v5_jwe_sent_to_a_v4_only_deployment_is_refused(settings: Any) -> None:
    settings.NEXTAUTH_JWT_FORMAT = "nextauth-v4"
    settings.NEXTAUTH_ACCEPTED_FORMATS = ["nextauth-v4"]
    refused_everywhere("token_unsupported", token=v5_token())


def test_jws_sent_to_a_jwe_only_deployment_is_refused() -> None:
    refused_everywhere("token_unsupported", token=forge.jws(forge.claims()))


def test_five_segment_token_with_a_jws_header_is_refused() -> None:
    token = with_header(v4_token(), {"alg": "HS256", "typ": "JWT"})
    refused_everywhere("token_unsupported", token=token)


def test_three_segment_token_with_a_jwe_header_signed_with_the_secret_is_refused(
    settings: Any,
) -> None:
    settings.NEXTAUTH_ACCEPTED_FORMATS = ["jws", "nextauth-v4", "authjs-v5"]
    refused_everywhere("token_unsupported", token=forge.jws(forge.claims(), header=V4_HEADER))


def test_jws_signed_with_the_derived_v4_encryption_key_is_refused(settings: Any) -> None:
    settings.NEXTAUTH_ACCEPTED_FORMATS = ["jws", "nextauth-v4", "authjs-v5"]
    token = forge.hmac_jws({"alg": "HS256", "typ": "JWT"}, forge.claims(), forge.v4_key())
    refused_everywhere("token_invalid", token=token)


@pytest.mark.parametrize("count", [4, 6], ids=["four_segments", "six_segments"])
def test_jwe_with_the_wrong_segment_count_is_malformed(count: int) -> None:
    parts = v4_token().split(".")
    parts = [*parts, "AAAA"][:count] if count > 5 else parts[:count]
    refused_everywhere("token_malformed", token=".".join(parts))


# --------------------------------------------------------------------------- #
# alg / enc outside the allow-list
# --------------------------------------------------------------------------- #

WRAPPED_KEY = os.urandom(40)


@pytest.mark.parametrize(
    "header",
    [
        {"alg": "RSA-OAEP", "enc": "A256GCM"},
        {"alg": "RSA-OAEP-256", "enc": V5_ENC},
        {"alg": "RSA1_5", "enc": "A256GCM"},
        {"alg": "A256KW", "enc": V5_ENC},
        {"alg": "A256GCMKW", "enc": "A256GCM", "iv": "AAAAAAAAAAAAAAAA", "tag": "AAAA"},
        {"alg": "ECDH-ES", "enc": "A256GCM", "epk": {"kty": "EC", "crv": "P-256"}},
        {"alg": "ECDH-ES+A256KW", "enc": V5_ENC, "epk": {"kty": "EC", "crv": "P-256"}},
        {"alg": "none", "enc": "A256GCM"},
        {"alg": "DIR", "enc": "A256GCM"},
    ],
    ids=[
        "rsa_oaep",
        "rsa_oaep_256",
        "rsa1_5",
        "a256kw",
        "a256gcmkw",
        "ecdh_es",
        "ecdh_es_a256kw",
        "alg_none",
        "alg_dir_uppercase",
    ],
)
def test_jwe_key_management_alg_outside_the_allow_list_is_refused(header: dict[str, Any]) -> None:
    refused_everywhere("token_unsupported", token=with_header(v4_token(), header, WRAPPED_KEY))


@pytest.mark.parametrize(
    "enc",
    ["A128GCM", "A192GCM", "A128CBC-HS256", "A192CBC-HS384", "a256gcm", "A256CBC-HS512 ", None],
    ids=[
        "a128gcm",
        "a192gcm",
        "a128cbc_hs256",
        "a192cbc_hs384",
        "lowercase",
        "trailing_space",
        "null",
    ],
)
def test_jwe_enc_outside_the_allow_list_is_refused(enc: Any) -> None:
    refused_everywhere(
        "token_unsupported", token=with_header(v4_token(), {"alg": "dir", "enc": enc})
    )


@pytest.mark.parametrize("enc", ["A256GCM", V5_ENC], ids=["a256gcm", "a256cbc_hs512"])
def test_pbes2_with_a_huge_p2c_is_refused_before_any_key_derivation(enc: str) -> None:
    header = {
        "alg": "PBES2-HS512+A256KW",
        "enc": enc,
        "p2c": 2**31 - 1,
        "p2s": forge.b64(os.urandom(16)),
    }
    token = with_header(v5_token(), header, WRAPPED_KEY)
    _, seconds = elapsed(lambda: refused_everywhere("token_unsupported", token=token))
    assert seconds < FAST


@pytest.mark.parametrize(
    "token_of", [v4_token, v5_token], ids=["v4_dir_with_wrapped_key", "v5_dir_with_wrapped_key"]
)
def test_dir_with_a_non_empty_encrypted_key_is_refused(token_of: Any) -> None:
    head, _, iv, ct, tag = forge.jwe_parts(token_of())
    refused_everywhere("token_unsupported", token=forge.compact(head, WRAPPED_KEY, iv, ct, tag))


# --------------------------------------------------------------------------- #
# AES-GCM (v4): tag and IV truncation and shifting
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("length", [0, 4, 8, 12, 15], ids=lambda n: f"tag_{n}_bytes")
def test_gcm_tag_truncation_is_refused(length: int) -> None:
    _, _, _, _, tag = forge.jwe_parts(v4_token())
    refused_everywhere("token_malformed", token=with_parts(v4_token(), tag=tag[:length]))


def test_gcm_tag_extended_by_one_byte_is_refused() -> None:
    token = v4_token()
    tag = forge.jwe_parts(token)[4]
    refused_everywhere("token_malformed", token=with_parts(token, tag=tag + b"\0"))


def test_gcm_ciphertext_bytes_shifted_into_the_tag_are_refused() -> None:
    token = v4_token()
    _, _, _, ct, tag = forge.jwe_parts(token)
    refused_everywhere("token_invalid", token=with_parts(token, ct=ct[:-4], tag=ct[-4:] + tag[:12]))


@pytest.mark.parametrize("length", [8, 11, 13, 16], ids=lambda n: f"iv_{n}_bytes")
def test_gcm_iv_of_the_wrong_length_is_refused(length: int) -> None:
    token = v4_token()
    iv = forge.jwe_parts(token)[2]
    refused_everywhere("token_malformed", token=with_parts(token, iv=(iv * 2)[:length]))


def test_gcm_iv_bytes_shifted_into_the_ciphertext_are_refused() -> None:
    token = v4_token()
    _, _, iv, ct, _ = forge.jwe_parts(token)
    refused_everywhere("token_malformed", token=with_parts(token, iv=iv[:8], ct=iv[8:] + ct))


@pytest.mark.parametrize(
    "segment", ["iv", "ct", "tag"], ids=["iv_bit_flip", "ciphertext_bit_flip", "tag_bit_flip"]
)
def test_gcm_bit_flip_is_refused(segment: str) -> None:
    token = v4_token()
    _, _, iv, ct, tag = forge.jwe_parts(token)
    parts = {"iv": iv, "ct": ct, "tag": tag}
    parts[segment] = flip(parts[segment], len(parts[segment]) // 2)
    refused_everywhere("token_invalid", token=with_parts(token, **parts))


def test_gcm_reencoded_protected_header_is_refused() -> None:
    # Same JSON, different bytes: the header is the AAD exactly as received.
    token = v4_token()
    head = forge.b64('{"alg":"dir", "enc":"A256GCM"}')
    refused_everywhere("token_invalid", token=forge.compact(head, *token.split(".")[1:]))


# --------------------------------------------------------------------------- #
# A256CBC-HS512 (v5): MAC before decrypt, no padding oracle
# --------------------------------------------------------------------------- #


@pytest.fixture
def decrypt_calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts AES-CBC decryptions: a forged token must be refused before any."""
    calls: list[int] = []
    original = codec._cbc_decrypt

    def spy(key: bytes, iv: bytes, ciphertext: bytes) -> bytes:
        calls.append(len(ciphertext))
        return original(key, iv, ciphertext)

    monkeypatch.setattr(codec, "_cbc_decrypt", spy)
    return calls


def test_cbc_tampered_ciphertext_with_valid_or_invalid_padding_gets_the_same_answer(
    decrypt_calls: list[int],
) -> None:
    token = v5_token()
    key = forge.v5_key()
    good_pad = forge.cbc_padding_variant(token, key, valid_padding=True)
    bad_pad = forge.cbc_padding_variant(token, key, valid_padding=False)
    from django.test import Client

    answers = [
        Client().get("/api/me/", headers={"Authorization": f"Bearer {t}"})
        for t in (good_pad, bad_pad)
    ]
    assert [a.status_code for a in answers] == [401, 401]
    assert answers[0].content == answers[1].content
    assert answers[0].json()["code"] == "token_invalid"
    refused_everywhere("token_invalid", token=good_pad)
    refused_everywhere("token_invalid", token=bad_pad)
    assert decrypt_calls == []  # the MAC refused both before any decryption


@pytest.mark.parametrize(
    "segment", ["iv", "ct", "tag"], ids=["iv_bit_flip", "ciphertext_bit_flip", "tag_bit_flip"]
)
def test_cbc_bit_flip_is_refused_before_decrypting(segment: str, decrypt_calls: list[int]) -> None:
    token = v5_token()
    _, _, iv, ct, tag = forge.jwe_parts(token)
    parts = {"iv": iv, "ct": ct, "tag": tag}
    parts[segment] = flip(parts[segment], 3)
    refused_everywhere("token_invalid", token=with_parts(token, **parts))
    assert decrypt_calls == []


@pytest.mark.parametrize("length", [16, 24, 64], ids=lambda n: f"tag_{n}_bytes")
def test_cbc_tag_of_the_wrong_length_is_refused(length: int) -> None:
    token = v5_token()
    key = forge.v5_key()
    head, _, iv, ct, _ = forge.jwe_parts(token)
    full = forge.cbc_hs512_tag(key, head, iv, ct) + os.urandom(32)
    refused_everywhere("token_malformed", token=with_parts(token, tag=full[:length]))


def test_cbc_ciphertext_not_a_whole_number_of_blocks_is_refused() -> None:
    token = v5_token()
    ct = forge.jwe_parts(token)[3]
    refused_everywhere("token_malformed", token=with_parts(token, ct=ct[:-1]))


def test_cbc_authentic_ciphertext_with_broken_padding_is_refused() -> None:
    # Only a buggy encoder produces this (the MAC is genuine): still a plain 401.
    plaintext = json.dumps(forge.claims()).encode()
    plaintext += b"\0" * (-len(plaintext) % 16 or 16)
    refused_everywhere("token_invalid", token=forge.v5(None, plaintext=plaintext, pad=False))


def test_cbc_reordered_protected_header_is_refused() -> None:
    token = v5_token()
    header = v5_header()
    reordered = forge.js({"kid": header["kid"], "enc": V5_ENC, "alg": "dir"})
    refused_everywhere("token_invalid", token=forge.compact(reordered, *token.split(".")[1:]))


# --------------------------------------------------------------------------- #
# zip bombs, enc downgrade, nested tokens
# --------------------------------------------------------------------------- #


@pytest.fixture
def bomb() -> bytes:
    data = forge.raw_deflate(b"\0" * 20_000_000)  # 20 MB inflated, ~20 kB on the wire
    assert len(data) < 22_000
    return data


@pytest.fixture
def no_inflate(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("inflated attacker data")

    monkeypatch.setattr(zlib, "decompress", refuse)
    monkeypatch.setattr(zlib, "decompressobj", refuse)


@pytest.mark.usefixtures("no_inflate")
def test_zip_deflate_bomb_in_v4_is_refused_before_inflating(bomb: bytes) -> None:
    token = forge.v4(None, header={**V4_HEADER, "zip": "DEF"}, plaintext=bomb)
    _, seconds = elapsed(lambda: refused_everywhere("token_unsupported", token=token))
    assert seconds < FAST


@pytest.mark.usefixtures("no_inflate")
def test_zip_deflate_bomb_in_v5_is_refused_before_inflating(bomb: bytes) -> None:
    token = forge.v5(None, header={**v5_header(), "zip": "DEF"}, plaintext=bomb)
    _, seconds = elapsed(lambda: refused_everywhere("token_unsupported", token=token))
    assert seconds < FAST


def test_v5_enc_downgrade_to_a256gcm_with_the_mac_half_of_the_key_is_refused() -> None:
    # @auth/core would accept this: the same derived key, first 32 bytes, as AES-GCM.
    plaintext = json.dumps(forge.claims()).encode()
    header = {"alg": "dir", "enc": "A256GCM", "kid": v5_header()["kid"]}
    token = forge.gcm_jwe(header, plaintext, forge.v5_key()[:32])
    refused_everywhere("token_unsupported", token=token)


def test_v5_enc_downgrade_on_a_v5_only_deployment_is_refused(settings: Any) -> None:
    settings.NEXTAUTH_ACCEPTED_FORMATS = ["authjs-v5"]
    plaintext = json.dumps(forge.claims()).encode()
    token = forge.gcm_jwe(V4_HEADER, plaintext, forge.v5_key()[:32])
    refused_everywhere("token_unsupported", token=token)


def test_v5_enc_downgrade_without_kid_is_refused() -> None:
    # It now looks like v4, and the v4 key is not the v5 MAC half.
    plaintext = json.dumps(forge.claims()).encode()
    token = forge.gcm_jwe(V4_HEADER, plaintext, forge.v5_key()[:32])
    refused_everywhere("token_invalid", token=token)


def test_cty_jwt_nested_jwe_is_refused() -> None:
    inner = forge.jws(forge.claims())
    token = forge.v5(None, header={**v5_header(), "cty": "JWT"}, plaintext=inner.encode())
    refused_everywhere("token_unsupported", token=token)


@pytest.mark.parametrize(
    "plaintext",
    [
        json.dumps(forge.jws(forge.claims())).encode(),
        forge.jws(forge.claims()).encode(),
        json.dumps([forge.claims()]).encode(),
    ],
    ids=["json_string_holding_a_jws", "raw_jws", "claims_inside_an_array"],
)
def test_jwe_whose_plaintext_is_another_token_is_refused(plaintext: bytes) -> None:
    refused_everywhere("token_malformed", token=forge.v5(None, plaintext=plaintext))


@pytest.mark.parametrize(
    "plaintext",
    [
        b"[]",
        b'"sub"',
        b"42",
        b"null",
        b"true",
        b"",
        b'{"sub": "42", "exp": NaN}',
        b'{"sub": "42"} trailing',
        b'{"sub": "\xff\xfe"}',
        '{"sub":"42"}'.encode("utf-16"),
        b"\xef\xbb\xbf" + b'{"sub":"42"}',
    ],
    ids=[
        "array",
        "string",
        "number",
        "null",
        "boolean",
        "empty",
        "nan_constant",
        "trailing_garbage",
        "invalid_utf8",
        "utf16_with_bom",
        "utf8_bom",
    ],
)
def test_plaintext_that_is_not_a_json_object_is_refused(plaintext: bytes) -> None:
    refused_everywhere("token_malformed", token=forge.v5(None, plaintext=plaintext))
    refused_everywhere("token_malformed", token=forge.v4(None, plaintext=plaintext))


# --------------------------------------------------------------------------- #
# kid games and rotation
# --------------------------------------------------------------------------- #

OLD = "old-secret-rotated-out-000000000000"
NEW = "new-secret-rotated-in-1111111111111"


@pytest.fixture
def rotation(settings: Any, leak_guard: Any) -> None:
    settings.NEXTAUTH_SECRET = [NEW, OLD]
    leak_guard.watch_secret(OLD, NEW)


@pytest.mark.usefixtures("rotation")
def test_v5_token_of_the_second_secret_with_its_kid_is_accepted_as_the_control() -> None:
    accepted_everywhere(token=forge.v5(forge.claims(), OLD))


def test_v5_unknown_kid_is_refused() -> None:
    header = {**v5_header(), "kid": forge.b64(os.urandom(64))}
    refused_everywhere("token_invalid", token=forge.v5(forge.claims(), header=header))


def test_v5_kid_of_a_dropped_secret_is_refused(settings: Any, leak_guard: Any) -> None:
    leak_guard.watch_secret(OLD, NEW)
    settings.NEXTAUTH_SECRET = [NEW]
    refused_everywhere("token_invalid", token=forge.v5(forge.claims(), OLD))


@pytest.mark.usefixtures("rotation")
def test_v5_kid_of_secret_two_over_the_ciphertext_of_secret_one_is_refused() -> None:
    token = forge.v5(forge.claims(), NEW, header=v5_header(OLD))
    refused_everywhere("token_invalid", token=token)


@pytest.mark.usefixtures("rotation")
def test_v5_token_without_kid_is_tried_with_the_first_secret_only() -> None:
    header = {"alg": "dir", "enc": V5_ENC}
    refused_everywhere("token_invalid", token=forge.v5(forge.claims(), OLD, header=header))


@pytest.mark.parametrize(
    "kid",
    [1, ["x"], {"k": "v"}, "", "../../etc/passwd"],
    ids=["int", "list", "object", "empty", "path_traversal"],
)
def test_v5_kid_of_the_wrong_type_or_shape_is_refused(kid: Any) -> None:
    header = {**v5_header(), "kid": kid}
    refused_everywhere("token_invalid", token=forge.v5(forge.claims(), header=header))


def test_v5_kid_prefix_of_the_real_kid_is_refused() -> None:
    header = {**v5_header(), "kid": v5_header()["kid"][:43]}
    refused_everywhere("token_invalid", token=forge.v5(forge.claims(), header=header))


# --------------------------------------------------------------------------- #
# Old OAuth check cookies replayed as sessions; cookie name / salt mismatch
# --------------------------------------------------------------------------- #


@pytest.fixture
def v4_deployment(settings: Any) -> None:
    settings.NEXTAUTH_JWT_FORMAT = "nextauth-v4"
    settings.NEXTAUTH_ACCEPTED_FORMATS = ["nextauth-v4"]


def check_cookie(value: str, provider: str = "google") -> dict[str, Any]:
    # next-auth < 4.24.5 encrypted {value} with the session key; encode() adds iat/exp/jti.
    return forge.claims(sub=..., email=..., name=..., role=..., value=value, provider=provider)


@pytest.mark.usefixtures("v4_deployment")
@pytest.mark.parametrize(
    "value",
    ["state-0123456789abcdef", "pkce-code-verifier-0123456789abcdefghij", "nonce-0123456789"],
    ids=["oauth_state_cookie", "pkce_code_verifier_cookie", "nonce_cookie"],
)
def test_old_nextauth_oauth_check_cookie_replayed_as_a_session_is_refused(value: str) -> None:
    token = forge.v4(check_cookie(value))
    refused_everywhere("token_claims_invalid", cookies={V4_COOKIE: token})
    refused_everywhere("token_claims_invalid", token=token)


@pytest.mark.usefixtures("v4_deployment")
def test_new_nextauth_state_cookie_with_its_salted_key_replayed_as_a_session_is_refused() -> None:
    key = forge.v4_salted_key(forge.SECRET, "next-auth.state")
    token = forge.v4(forge.claims(), key=key)
    refused_everywhere("token_invalid", cookies={V4_COOKIE: token})


def test_authjs_pkce_cookie_replayed_as_a_v5_session_is_refused() -> None:
    token = forge.v5(check_cookie("verifier-0123456789"), salt="authjs.pkce.code_verifier")
    refused_everywhere("token_invalid", cookies={V5_COOKIE: token})


def test_v5_token_for_the_secure_cookie_sent_to_an_http_deployment_is_refused() -> None:
    token = forge.v5(forge.claims(), salt=SECURE_V5_COOKIE)
    refused_everywhere("token_invalid", cookies={V5_COOKIE: token})


def test_v5_token_for_the_http_cookie_sent_to_an_https_deployment_is_refused(settings: Any) -> None:
    settings.NEXTAUTH_SECURE_COOKIE = True
    refused_everywhere("token_invalid", cookies={SECURE_V5_COOKIE: forge.v5(forge.claims())})


def test_v5_token_salted_with_another_cookie_name_is_refused() -> None:
    token = forge.v5(forge.claims(), salt="other-app.session-token")
    refused_everywhere("token_invalid", token=token)

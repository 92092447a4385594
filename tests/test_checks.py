"""Every system check id fires on the misconfiguration it names, and only then."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from django_nextauth_jwt.checks import check_settings

GOOD = "x" * 32


def ids(settings: Any, **overrides: Any) -> list[str]:
    for name, value in overrides.items():
        setattr(settings, name, value)
    return [message.id for message in check_settings() if message.id]


def test_default_test_settings_pass(settings: Any) -> None:
    assert ids(settings) == []


def test_missing_secret_is_e001(settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("NEXTAUTH_SECRET", "AUTH_SECRET", "JWT_SECRET"):
        monkeypatch.delenv(name, raising=False)
    del settings.NEXTAUTH_SECRET
    assert ids(settings) == ["nextauth_jwt.E001"]
    assert ids(settings, NEXTAUTH_SECRET="") == ["nextauth_jwt.E001"]
    assert ids(settings, NEXTAUTH_SECRET=[]) == ["nextauth_jwt.E001"]


def test_secret_from_environment_satisfies_e001(
    settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    del settings.NEXTAUTH_SECRET
    monkeypatch.setenv("AUTH_SECRET", GOOD)
    assert ids(settings) == []


@pytest.mark.parametrize("value", [b"x" * 32, 123, [GOOD, ""], [GOOD, 5], {"a": GOOD}])
def test_secret_of_wrong_type_is_e002(settings: Any, value: Any) -> None:
    assert ids(settings, NEXTAUTH_SECRET=value) == ["nextauth_jwt.E002"]


@pytest.mark.parametrize("value", ["short", [GOOD, "short"], "é" * 15])
def test_short_secret_is_e003(settings: Any, value: Any) -> None:
    assert ids(settings, NEXTAUTH_SECRET=value) == ["nextauth_jwt.E003"]


def test_secret_of_32_bytes_passes(settings: Any) -> None:
    assert ids(settings, NEXTAUTH_SECRET=[GOOD, "é" * 16]) == []


@pytest.mark.parametrize("value", ["jwe", "JWS", "v5", ""])
def test_unknown_format_is_e004(settings: Any, value: str) -> None:
    assert "nextauth_jwt.E004" in ids(settings, NEXTAUTH_JWT_FORMAT=value)


@pytest.mark.parametrize("value", [[], ["jws", "nope"], ["nextauth-v4"], "authjs-v5", [1], b"jws"])
def test_bad_accepted_formats_is_e005(settings: Any, value: Any) -> None:
    assert ids(settings, NEXTAUTH_ACCEPTED_FORMATS=value) == ["nextauth_jwt.E005"]


def test_accepted_formats_that_include_the_signing_format_pass(settings: Any) -> None:
    assert ids(settings, NEXTAUTH_ACCEPTED_FORMATS=["nextauth-v4", "jws"]) == []


@pytest.mark.parametrize("value", ["RS256", "none", "hs256", "ES256"])
def test_unknown_algorithm_is_e006(settings: Any, value: str) -> None:
    assert ids(settings, NEXTAUTH_JWS_ALGORITHM=value) == ["nextauth_jwt.E006"]


@pytest.mark.parametrize(
    ("name", "check_id"),
    [
        ("NEXTAUTH_ISSUER", "nextauth_jwt.E007"),
        ("NEXTAUTH_AUDIENCE", "nextauth_jwt.E008"),
        ("NEXTAUTH_COOKIE_NAME", "nextauth_jwt.E011"),
        ("NEXTAUTH_SALT", "nextauth_jwt.E012"),
    ],
)
@pytest.mark.parametrize("value", ["", " padded ", 5, ["a"]])
def test_malformed_text_settings(settings: Any, name: str, check_id: str, value: Any) -> None:
    assert ids(settings, **{name: value}) == [check_id]


@pytest.mark.parametrize("value", [-1, 1.5, "15", True, None])
def test_bad_leeway_is_e009(settings: Any, value: Any) -> None:
    assert ids(settings, NEXTAUTH_LEEWAY=value) == ["nextauth_jwt.E009"]


@pytest.mark.parametrize("value", [0, -5, 3600.0, "3600", False])
def test_bad_max_age_is_e010(settings: Any, value: Any) -> None:
    assert ids(settings, NEXTAUTH_MAX_AGE=value) == ["nextauth_jwt.E010"]


@pytest.mark.parametrize(
    "value", [0, -5, 86400.0, "2592000", True, None, 10 * 365 * 24 * 3600 + 1, 10**16]
)
def test_bad_session_max_lifetime_is_e043(settings: Any, value: Any) -> None:
    # Past ten years every deny-list write would fail in Redis: every sign-out a 503.
    assert ids(settings, NEXTAUTH_SESSION_MAX_LIFETIME=value) == ["nextauth_jwt.E043"]


def test_a_session_max_lifetime_of_a_day_passes_e043(settings: Any) -> None:
    assert ids(settings, NEXTAUTH_SESSION_MAX_LIFETIME=86400) == []
    assert ids(settings, NEXTAUTH_SESSION_MAX_LIFETIME=10 * 365 * 24 * 3600) == []


@pytest.mark.parametrize("value", [0, 512, "32768", 1e6])
def test_bad_max_token_length_is_e013(settings: Any, value: Any) -> None:
    assert ids(settings, NEXTAUTH_MAX_TOKEN_LENGTH=value) == ["nextauth_jwt.E013"]


@pytest.mark.parametrize("name", ["NEXTAUTH_STAFF_ROLES", "NEXTAUTH_SUPERUSER_ROLES"])
@pytest.mark.parametrize("value", ["admin", [1], [""], None])
def test_bad_role_lists_are_e014(settings: Any, name: str, value: Any) -> None:
    assert ids(settings, **{name: value}) == ["nextauth_jwt.E014"]


def test_checks_run_in_manage_py_check(settings: Any) -> None:
    settings.NEXTAUTH_SECRET = "short"
    with pytest.raises(SystemCheckError, match=r"nextauth_jwt\.E003"):
        call_command("check")


def test_every_check_id_is_documented_in_the_docs() -> None:
    source = Path(__file__).parents[1] / "django_nextauth_jwt" / "checks.py"
    readme = (Path(__file__).parents[1] / "docs" / "checks.md").read_text()
    declared = set(re.findall(r"nextauth_jwt\.[EW]\d{3}", source.read_text()))
    assert declared
    assert declared <= set(re.findall(r"nextauth_jwt\.[EW]\d{3}", readme))


# --------------------------------------------------------------------------- #
# Sign-in settings
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("name", ["NEXTAUTH_REVOCATION", "NEXTAUTH_REVOCATION_FAIL_OPEN"])
@pytest.mark.parametrize("value", ["False", 0, None])
def test_revocation_flags_must_be_booleans_e030(settings: Any, name: str, value: Any) -> None:
    assert ids(settings, **{name: value}) == ["nextauth_jwt.E030"]


@pytest.mark.parametrize("name", ["NEXTAUTH_REVOCATION_CACHE", "NEXTAUTH_THROTTLE_CACHE"])
def test_retired_cache_alias_settings_are_e031(settings: Any, name: str) -> None:
    # Read no more: a deployment relying on them would silently lose its shared deny-list.
    assert ids(settings, **{name: "default"}) == ["nextauth_jwt.E031"]


@pytest.mark.parametrize(
    "overrides",
    [
        {"NEXTAUTH_REDIS_URL": "127.0.0.1:6379"},
        {"NEXTAUTH_REDIS_URL": "http://redis:6379/0"},
        {"NEXTAUTH_REDIS_URL": ""},
        {"NEXTAUTH_REDIS_KEY_PREFIX": ""},
        {"NEXTAUTH_REDIS_KEY_PREFIX": " app:"},
        {"NEXTAUTH_REDIS_KEY_PREFIX": 5},
        {"NEXTAUTH_REDIS_URL": "redis+sentinel://s1:26379,s2:26379"},  # no service
        {"NEXTAUTH_REDIS_URL": "redis+sentinel://s1:26379/mymaster/two"},
        {"NEXTAUTH_REDIS_URL": "redis+sentinel://s1/mymaster"},  # no port
        {"NEXTAUTH_REDIS_URL": "redis+sentinel://s1:26379/mymaster?ssl=1"},
        {"NEXTAUTH_REDIS_URL": "redis+cluster://n1:6379,n2:6379/2"},  # a cluster has only db 0
        {"NEXTAUTH_REDIS_URL": "redis+cluster://n1:70000"},
        {"NEXTAUTH_REDIS_URL": "redis+cluster://[::1:6379"},
    ],
)
def test_bad_state_store_settings_are_e038(settings: Any, overrides: dict[str, Any]) -> None:
    assert ids(settings, **overrides) == ["nextauth_jwt.E038"]


def test_redis_url_without_redis_py_is_e038(settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "redis" else real(name, *a)
    )
    assert ids(settings, NEXTAUTH_REDIS_URL="redis://127.0.0.1:6379/0") == ["nextauth_jwt.E038"]


@pytest.mark.parametrize(
    "value",
    [
        "redis://127.0.0.1:6379/2",
        "rediss://r:6380/0",
        None,
        "redis+sentinel://s1:26379,s2:26379,s3:26379/mymaster/2",
        "rediss+sentinel://:secret@s1:26379/mymaster",
        "redis+cluster://n1:6379,n2:6379,n3:6379",
        "rediss+cluster://user:secret@[::1]:6379,n2:6379/",
    ],
)
def test_good_redis_urls_pass(settings: Any, value: Any) -> None:
    assert ids(settings, NEXTAUTH_REDIS_URL=value) == []


@pytest.mark.parametrize("value", [0, 0.0009, 5.1, "0.05", True, float("nan"), None])
def test_a_redis_timeout_out_of_range_is_e070(settings: Any, value: Any) -> None:
    assert ids(settings, NEXTAUTH_REDIS_TIMEOUT=value) == ["nextauth_jwt.E070"]


@pytest.mark.parametrize("value", [-1, 17, 1.0, "1", True])
def test_replicas_not_a_small_whole_number_is_e071(settings: Any, value: Any) -> None:
    assert ids(settings, NEXTAUTH_REDIS_REPLICAS=value) == ["nextauth_jwt.E071"]


@pytest.mark.parametrize("value", [-0.1, 301, "10", False, float("inf"), None])
def test_a_revocation_grace_out_of_range_is_e072(settings: Any, value: Any) -> None:
    assert ids(settings, NEXTAUTH_REVOCATION_GRACE=value) == ["nextauth_jwt.E072"]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("NEXTAUTH_REDIS_TIMEOUT", 0.001),
        ("NEXTAUTH_REDIS_TIMEOUT", 5),
        ("NEXTAUTH_REDIS_REPLICAS", 0),
        ("NEXTAUTH_REDIS_REPLICAS", 16),
        ("NEXTAUTH_REDIS_REPLICAS", None),
        ("NEXTAUTH_REVOCATION_GRACE", 0),
        ("NEXTAUTH_REVOCATION_GRACE", 300),
        ("NEXTAUTH_REVOCATION_GRACE", 2.5),
    ],
)
def test_redis_numbers_at_their_bounds_pass(settings: Any, name: str, value: Any) -> None:
    assert ids(settings, **{name: value}) == []


@pytest.mark.parametrize("value", [0, 601, "60", 1.5, None])
def test_bad_client_address_max_age_is_e039(settings: Any, value: Any) -> None:
    assert ids(settings, NEXTAUTH_CLIENT_ADDRESS_MAX_AGE=value) == ["nextauth_jwt.E039"]


@pytest.mark.parametrize("value", ["", " .example.com", ".example.com; Path=/x", 5])
def test_bad_cookie_domain_is_e040(settings: Any, value: Any) -> None:
    assert ids(settings, NEXTAUTH_COOKIE_DOMAIN=value) == ["nextauth_jwt.E040"]


def test_cookie_domain_on_a_host_prefixed_cookie_is_e040(settings: Any) -> None:
    assert ids(settings, NEXTAUTH_COOKIE_DOMAIN=".example.com") == []
    assert ids(settings, NEXTAUTH_COOKIE_NAME="__Host-session") == ["nextauth_jwt.E040"]


def test_cookie_auth_on_plain_views_without_csrf_middleware_is_e041(settings: Any) -> None:
    base = list(settings.MIDDLEWARE)
    with_ours = [*base, "django_nextauth_jwt.middleware.NextAuthJWTMiddleware"]
    assert ids(settings, MIDDLEWARE=with_ours) == []
    without_csrf = [m for m in with_ours if not m.endswith("CsrfViewMiddleware")]
    assert ids(settings, MIDDLEWARE=without_csrf) == ["nextauth_jwt.E041"]
    # Without the middleware, plain views see no token: nothing to protect.
    plain = [m for m in base if not m.endswith("CsrfViewMiddleware")]
    assert ids(settings, MIDDLEWARE=plain) == []


@pytest.mark.parametrize("value", ["", "//evil.example", "https://evil.example", "home", None])
def test_login_redirect_must_be_a_local_path_e032(settings: Any, value: Any) -> None:
    assert ids(settings, NEXTAUTH_LOGIN_REDIRECT_URL=value) == ["nextauth_jwt.E032"]


@pytest.mark.parametrize(
    "value",
    [
        "https://app.example.com",
        ["app.example.com"],
        ["https://app.example.com/path"],
        ["javascript://x"],
        ["https://user:pw@app.example.com"],
        ["https://app.example.com?x=1"],
    ],
)
def test_redirect_origins_must_be_origins_e033(settings: Any, value: Any) -> None:
    assert ids(settings, NEXTAUTH_ALLOWED_REDIRECT_ORIGINS=value) == ["nextauth_jwt.E033"]


def test_good_redirect_origins_pass(settings: Any) -> None:
    value = ["https://app.example.com", "http://localhost:3000/"]
    assert ids(settings, NEXTAUTH_ALLOWED_REDIRECT_ORIGINS=value) == []


@pytest.mark.parametrize(
    "name", ["NEXTAUTH_LOGIN_RATE_PER_CLIENT", "NEXTAUTH_LOGIN_RATE_PER_ACCOUNT"]
)
@pytest.mark.parametrize("value", [5, (5,), (0, 60), (5, "60"), (5, 60, 1), (True, 60)])
def test_bad_rates_are_e034(settings: Any, name: str, value: Any) -> None:
    assert ids(settings, **{name: value}) == ["nextauth_jwt.E034"]


@pytest.mark.parametrize("value", [-1, "1", 1.0, None])
def test_bad_proxy_count_is_e035(settings: Any, value: Any) -> None:
    assert ids(settings, NEXTAUTH_TRUSTED_PROXY_COUNT=value) == ["nextauth_jwt.E035"]


@pytest.mark.parametrize("value", [8, 10**6, "1024"])
def test_bad_max_password_length_is_e036(settings: Any, value: Any) -> None:
    assert ids(settings, NEXTAUTH_MAX_PASSWORD_LENGTH=value) == ["nextauth_jwt.E036"]


@pytest.mark.parametrize("value", [0, 1023, 2 * 1024 * 1024, "8192", True, None])
def test_bad_max_body_size_is_e042(settings: Any, value: Any) -> None:
    assert ids(settings, NEXTAUTH_MAX_BODY_SIZE=value) == ["nextauth_jwt.E042"]


def test_social_pipeline_without_issue_token_is_e037(settings: Any) -> None:
    pipeline = [p for p in settings.SOCIAL_AUTH_PIPELINE if not p.endswith("issue_token")]
    assert ids(settings, SOCIAL_AUTH_PIPELINE=pipeline) == ["nextauth_jwt.E037"]


def test_shipped_pipeline_passes_e037(settings: Any) -> None:
    from django_nextauth_jwt.pipeline import PIPELINE

    assert ids(settings, SOCIAL_AUTH_PIPELINE=PIPELINE) == []


def test_per_process_revocation_cache_warns_on_deploy_w001(settings: Any) -> None:
    from django_nextauth_jwt.checks import check_deployment

    assert [m.id for m in check_deployment()] == ["nextauth_jwt.W001"]
    settings.NEXTAUTH_REVOCATION = False
    assert check_deployment() == []
    settings.NEXTAUTH_REVOCATION = True
    # A Redis *cache* is not enough: the deny-list lives in its own store now.
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:6379/15",
        }
    }
    assert [m.id for m in check_deployment()] == ["nextauth_jwt.W001"]
    settings.NEXTAUTH_REDIS_URL = "redis://127.0.0.1:6379/15"
    assert check_deployment() == []


def test_database_mode_without_a_chosen_lookup_claim_warns_w002(settings: Any) -> None:
    assert ids(settings, NEXTAUTH_USER_MODE="database") == ["nextauth_jwt.W002"]
    assert ids(settings, NEXTAUTH_USER_LOOKUP_CLAIM="email") == []
    assert ids(settings, NEXTAUTH_USER_LOOKUP_CLAIM="id") == []


def _redis_cache(location: Any) -> dict[str, Any]:
    return {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": location}
    }


@pytest.mark.parametrize(
    ("state", "cache"),
    [
        ("redis://redis:6379/0", "redis://redis:6379/0"),
        ("redis://redis:6379", "redis://redis/0"),  # default port and database
        ("redis://REDIS:6379/2", ["redis://other:6379/0", "redis://redis:6379?db=2"]),
        ("rediss://:pw@redis:6380/3", "rediss://user:other@redis:6380/3"),
        ("unix:///run/redis.sock?db=1", "unix:///run/redis.sock?db=1"),
    ],
)
def test_redis_url_that_is_also_a_cache_location_warns_w030(
    settings: Any, state: str, cache: Any
) -> None:
    # cache.clear() there is FLUSHDB: the deny-list and every sign-in lock would go with it.
    assert ids(settings, NEXTAUTH_REDIS_URL=state, CACHES=_redis_cache(cache)) == [
        "nextauth_jwt.W030"
    ]


@pytest.mark.parametrize(
    ("state", "cache"),
    [
        ("redis://redis:6379/1", "redis://redis:6379/0"),
        ("redis://redis:6379/0", "redis://cache:6379/0"),
        ("redis://redis:6380/0", "redis://redis:6379/0"),
        ("redis://redis:6379/0", None),
    ],
)
def test_redis_url_of_its_own_passes_w030(settings: Any, state: str, cache: Any) -> None:
    caches = _redis_cache(cache) if cache else {"default": {"BACKEND": LOCMEM}}
    assert ids(settings, NEXTAUTH_REDIS_URL=state, CACHES=caches) == []


LOCMEM = "django.core.cache.backends.locmem.LocMemCache"


def test_secure_host_only_cookie_without_host_prefix_warns_on_deploy_w040(settings: Any) -> None:
    from django_nextauth_jwt.checks import check_deployment

    settings.NEXTAUTH_REDIS_URL = "redis://127.0.0.1:6379/15"  # no W001 in the way
    assert check_deployment() == []  # plain http in development: __Host- is not possible
    settings.NEXTAUTH_SECURE_COOKIE = True
    assert [m.id for m in check_deployment()] == ["nextauth_jwt.W040"]
    settings.NEXTAUTH_COOKIE_NAME = "__Host-next-auth.session-token"
    assert check_deployment() == []
    settings.NEXTAUTH_COOKIE_NAME = "__Secure-next-auth.session-token"
    settings.NEXTAUTH_COOKIE_DOMAIN = ".example.com"  # shared with subdomains on purpose
    assert check_deployment() == []

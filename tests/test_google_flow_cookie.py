"""The Google flow's state in its signed cookie: bound to the browser, single use, short-lived.

The start writes no session row (``tests/test_flood.py``); these are the guarantees the
database session gave and the cookie must keep: a callback needs the cookie its own start set,
a copy of that cookie replayed after the flow ended is refused (the state is spent in the state
store, not only deleted from the browser), a tampered or stale cookie is no flow, and the
project's own session is left as it was.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from django_nextauth_jwt import views
from tests.google_server import TOKEN_PATH
from tests.test_google import _settings, come_back, consent, google, google_server  # noqa: F401 - fixtures

pytestmark = [pytest.mark.django_db, pytest.mark.db]

FLOW = views.FLOW_COOKIE
DEFAULT = "/home"


@pytest.fixture
def standin(request: pytest.FixtureRequest) -> Any:
    """The Google stand-in (test_google's ``google`` fixture), under a name of this module's."""
    return request.getfixturevalue("google")


def refused(response: Any) -> bool:
    return bool(response.status_code == 302 and "error=OAuthCallback" in response["Location"])


@pytest.mark.usefixtures("_settings")
def test_a_copy_of_the_flow_cookie_replayed_after_the_callback_is_refused(standin: Any) -> None:
    browser = Client()
    query = consent(browser, standin, "/dashboard")
    copy = browser.cookies[FLOW].value
    assert come_back(browser, query)["Location"] == "/dashboard"

    # The attacker kept the cookie and the callback URL: the state is spent all the same.
    replay = Client()
    replay.cookies[FLOW] = copy
    response = come_back(replay, query)
    assert refused(response)
    assert len(standin.calls(TOKEN_PATH)) == 1  # refused before the code is spent


@pytest.mark.usefixtures("_settings")
def test_a_callback_without_the_flow_cookie_of_its_start_is_refused(standin: Any) -> None:
    query = consent(Client(), standin, "/dashboard")
    assert refused(come_back(Client(), query))  # another browser: no cookie, no state
    assert standin.calls(TOKEN_PATH) == []


@pytest.mark.usefixtures("_settings")
def test_a_tampered_flow_cookie_is_no_flow(standin: Any) -> None:
    browser = Client()
    query = consent(browser, standin, "/dashboard")
    value = browser.cookies[FLOW].value
    browser.cookies[FLOW] = value[:-2] + ("AA" if value[-2:] != "AA" else "BB")
    assert refused(come_back(browser, query))


@pytest.mark.usefixtures("_settings")
def test_a_flow_cookie_past_its_life_is_no_flow(
    standin: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    browser = Client()
    query = consent(browser, standin, "/dashboard")
    # Checked against the age the cookie's signature carries: as if FLOW_MAX_AGE had passed.
    monkeypatch.setattr(views, "FLOW_MAX_AGE", -1)
    assert refused(come_back(browser, query))


@pytest.mark.usefixtures("_settings")
def test_the_flow_leaves_the_projects_own_session_alone(standin: Any) -> None:
    browser = Client()
    session = browser.session
    session["cart"] = "three apples"
    session.save()
    browser.cookies["sessionid"] = session.session_key or ""

    response = come_back(browser, consent(browser, standin, "/dashboard"))

    assert response["Location"] == "/dashboard"
    assert browser.session["cart"] == "three apples"
    assert "_auth_user_id" not in browser.session  # no Django login either
    assert browser.cookies[FLOW].value == ""  # the flow cookie is gone


def test_a_session_cookie_of_the_project_is_no_flow_cookie(settings: Any) -> None:
    # Its own salt: a value signed for a signed-cookie session engine does not load as a flow.
    from django.contrib.sessions.backends.signed_cookies import SessionStore

    session = SessionStore()
    session["google-oauth2_oauth2_state_x"] = {"state": "x", "timestamp": 1}
    session.save()
    assert views.FlowSession(session.session_key).load() == {}

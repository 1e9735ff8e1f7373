"""Every URL of the URL conf × every person (SPEC §4): anonymous, rep, teammate, outsider
(another team's rep), manager, other_manager (another team's manager), admin.

The routes come from `get_resolver()` (includes followed), the expected answers from
url_rules.RULES; a URL without a rule fails `test_every_url_has_a_rule`, naming it. The
records the URLs name are rep's (url_world.py), made once per module.
"""

import pytest
from django.conf import settings
from django.shortcuts import resolve_url
from django.test import Client

from tests.security.url_matrix import (
    LOGIN,
    Rule,
    accepted_methods,
    body_for,
    routes,
    send,
    url_for,
)
from tests.security.url_rules import ADMIN_SAMPLES, RULES
from tests.security.url_world import ACTORS

ROUTES = routes()
NAMED = {route.name: route for route in ROUTES if route.name}


def _is_admin_site(route) -> bool:
    return route.path.startswith("admin/")


def test_every_url_has_a_rule():
    problems = []
    for route in ROUTES:
        if _is_admin_site(route):
            continue  # summarised by ADMIN_SAMPLES
        if route.name is None:
            problems.append(f"/{route.path} has no name: name it and add a rule")
        elif route.name not in RULES:
            methods = ", ".join(accepted_methods(route.callback))
            problems.append(
                f"/{route.path} ({route.name}) has no rule in tests/security/url_rules.py: "
                f"add one for {methods}"
            )
        elif tuple(RULES[route.name].methods) != accepted_methods(route.callback):
            problems.append(
                f"/{route.path} ({route.name}) accepts {accepted_methods(route.callback)}, "
                f"its rule lists {tuple(RULES[route.name].methods)}"
            )
    stale = sorted(set(RULES) - set(NAMED))
    problems += [f"rule {name} names no URL any more" for name in stale]
    assert not problems, "\n".join(problems)


def test_the_admin_site_is_in_the_url_conf_and_sampled():
    admin_routes = [r for r in ROUTES if _is_admin_site(r)]
    assert len(admin_routes) > 50
    assert all(name in NAMED for name in ADMIN_SAMPLES)


def _check(response, expected, where):
    if expected == LOGIN:
        assert response.status_code == 302, where
        assert response["Location"].startswith(resolve_url(settings.LOGIN_URL)), where
    else:
        assert response.status_code == expected, where


@pytest.fixture(scope="module")
def shared_client():
    """One test client for the module: a new one builds Django's middleware chain again, and
    WhiteNoise's with it indexes every static file (about 0.13 s, more than most requests)."""
    return Client()


@pytest.fixture
def client_as(shared_client, world, db):
    def sign_in(actor):
        shared_client.cookies.clear()
        if actor != "anonymous":
            shared_client.cookies[settings.SESSION_COOKIE_NAME] = world.sessions[actor]
        return shared_client

    return sign_in


@pytest.mark.parametrize(
    ("name", "actor"),
    [pytest.param(name, actor, id=f"{name}-{actor}") for name in RULES for actor in ACTORS],
)
def test_url_answers_each_person_by_the_rule(name, actor, world, client_as):
    route, rule = NAMED[name], RULES[name]
    client = client_as(actor)
    url = url_for(name, route, rule, world)
    for method, expected in rule.methods.items():
        response = send(client, method, url, body_for(rule, method, world))
        _check(response, expected[actor], f"{method} {url} as {actor}")


@pytest.mark.parametrize(
    ("name", "actor"),
    [pytest.param(name, actor, id=f"{name}-{actor}") for name in ADMIN_SAMPLES for actor in ACTORS],
)
def test_the_admin_site_answers_admins_only(name, actor, world, client_as):
    rule = Rule(methods={"GET": ADMIN_SAMPLES[name]}, kwargs={"object_id": "deal"})
    response = client_as(actor).get(url_for(name, NAMED[name], rule, world))
    expected = ADMIN_SAMPLES[name][actor]
    if expected == 302:  # to the admin's own login form
        assert response.status_code == 302
        assert response["Location"].startswith("/admin/login/")
    else:
        assert response.status_code == expected

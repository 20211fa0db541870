"""Every request parameter, fuzzed: a bad value is a 4xx, never a 5xx."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

PATHS = [
    "/feeds/residual.rss",
    "/feeds/residual.json",
    "/feeds/search.atom",
    "/topics/vit",
    "/search",
    "/opml",
    "/status",
]
# Digits of every script, signs, spaces, huge numbers, and any text at all.
VALUES = st.one_of(
    st.text(alphabet=st.characters(categories=["Nd", "No", "Zs", "Pd"]), max_size=12),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.text(max_size=40),
)


@pytest.fixture(scope="module")
def client(shared_app):  # type: ignore[no-untyped-def]
    return shared_app.test_client()


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(path=st.sampled_from(PATHS), limit=VALUES, q=VALUES)
def test_no_parameter_value_gives_a_5xx(client, path: str, limit: str, q: str) -> None:
    response = client.get(f"{path}?limit={quote(limit)}&q={quote(q or 'vit')}")
    assert response.status_code < 500, (path, limit, q, response.data[:300])


HEADER_VALUES = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"),
    max_size=60,
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    path=st.sampled_from(PATHS[:4] + ["/", "/opml"]),
    name=st.sampled_from(
        [
            "X-Forwarded-Proto",
            "X-Forwarded-Host",
            "If-None-Match",
            "If-Modified-Since",
            "Accept-Encoding",
            "X-Forwarded-For",
        ]
    ),
    value=HEADER_VALUES,
)
def test_no_header_value_gives_a_5xx(client, path: str, name: str, value: str) -> None:
    response = client.get(path, headers={name: value})
    assert response.status_code < 500, (path, name, value, response.data[:300])

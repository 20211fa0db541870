"""The bundled samples, stored at a fixed time and rendered at a fixed base URL, give exactly
the feeds recorded in golden_etags.json (an ETag is a hash of the body, so equal ETags mean
equal bytes). It guards refactors: a change that alters feed bytes must say so by updating
the file, with the reason in the commit."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

import parsing
from app import create_app
from tests.helpers import LISTINGS, ROOT

GOLDEN = Path(__file__).with_name("golden_etags.json")
T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def render_samples(database_url: str) -> dict[str, str]:
    app = create_app(
        {
            "config_path": str(ROOT / "samples" / "paperfeed.toml"),
            "database_url": database_url,
            "scheduler": "off",
            "generation_check_seconds": 0,
            "base_url": "http://paperfeed.test",
        }
    )
    svc = app.extensions["paperfeed"]
    svc.refresher.sync_topics()
    for hour, listing in enumerate(sorted(LISTINGS.glob("*.txt"))):
        papers = parsing.parse("hf-text", listing.read_bytes(), today=T0.date()).papers
        svc.store.upsert(
            papers, "samples", now=T0.replace(hour=12 + hour), topics=svc.refresher.topics
        )
    svc.store.bump_generation(now=T0)
    svc.invalidate()
    client = app.test_client()
    etags = {}
    for name in sorted(svc.config.topics):
        for fmt in ("rss", "atom", "json"):
            response = client.get(f"/feeds/{name}.{fmt}")
            assert response.status_code == 200, (name, fmt)
            etags[f"{name}.{fmt}"] = response.headers["ETag"]
    svc.store.dispose()
    return etags


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_the_bundled_samples_render_to_the_recorded_bytes(request, backend: str) -> None:
    url = request.getfixturevalue("database_url" if backend == "sqlite" else "pg_url")
    assert render_samples(url) == json.loads(GOLDEN.read_text())

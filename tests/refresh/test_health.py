"""refresh.health with fixed clocks: suspect bodies, quiet days, and batches served again past
their listing's cadence (arXiv's calendar in New York time, Hugging Face's weekdays, a
source's own stale_hours)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

import parsing
from parsing import ParseResult
from parsing.model import Paper
from refresh.health import ARXIV, HUGGING_FACE, Health, cadence, judge
from settings import ConfigError, SourceConfig, load_config
from store import SourceState

NEW_YORK = ZoneInfo("America/New_York")
EVERY = timedelta(minutes=30)
ARXIV_RSS = SourceConfig("cv", "arxiv-rss", url="https://rss.arxiv.org/rss/cs.CV")
HF_API = SourceConfig("hf", "hf-api", url="https://huggingface.co/api/daily_papers")


def ny(day: int, hour: int, month: int = 2) -> datetime:
    """A moment in New York time, February 2027 by default (Thursday the 4th, Friday the
    5th, ..., Monday the 8th)."""
    return datetime(2027, month, day, hour, tzinfo=NEW_YORK)


def utc(day: int, hour: int, month: int = 2) -> datetime:
    return datetime(2027, month, day, hour, tzinfo=UTC)


def batch(*ids: str) -> ParseResult:
    return ParseResult(papers=[Paper(title=f"Paper {i}", arxiv_id=i) for i in ids])


def refreshes(
    source: SourceConfig, reads: Sequence[tuple[datetime, list[ParseResult]]]
) -> list[Health]:
    """Judge each read in turn, recording each judgement as the pipeline does."""
    state, judged = SourceState(name=source.name), []
    for now, bodies in reads:
        health = judge(source, bodies, state, now, EVERY)
        state = replace(
            state,
            health=health.state,
            health_reason=health.reason,
            batch_digest=health.digest,
            batch_since=health.since,
        )
        judged.append(health)
    return judged


def test_arxiv_repeats_over_a_weekend_are_not_stale_and_monday_morning_is() -> None:
    # Thursday's announcement (20:00) first read early Friday, then the same all weekend.
    same = batch("2702.00001", "2702.00002")
    judged = refreshes(
        ARXIV_RSS,
        [
            (ny(5, 1), [same]),  # Friday
            (ny(6, 12), [same]),  # Saturday: no announcement Friday night
            (ny(7, 12), [same]),  # Sunday noon
            (ny(7, 23), [same]),  # Sunday 23:00: the Sunday batch may still come
            (ny(8, 3), [same]),  # Monday 03:00: 20:00 + 6 h grace + 30 min interval passed
        ],
    )
    assert [h.state for h in judged] == [None, None, None, None, "stale"]
    assert {h.since for h in judged} == {ny(5, 1)}
    assert judged[-1].reason == (
        "the same batch since 2027-02-05 06:00 UTC; a new one was due by 2027-02-08 07:30 UTC "
        "(arXiv announces Sunday to Thursday at 20:00 New York time)"
    )


def test_an_arxiv_weekday_repeat_is_stale_once_the_next_batch_is_overdue() -> None:
    monday = batch("2702.00010")
    judged = refreshes(
        ARXIV_RSS,
        [(ny(9, 1), [monday]), (ny(10, 2), [monday]), (ny(10, 3), [monday])],
    )
    assert [h.state for h in judged] == [None, None, "stale"]
    # A new batch on Wednesday morning: the clock starts again.
    moved = refreshes(
        ARXIV_RSS,
        [(ny(9, 1), [monday]), (ny(10, 1), [batch("2702.00020")]), (ny(10, 3), [monday])],
    )
    assert [h.state for h in moved] == [None, None, None]
    assert moved[-1].since == ny(10, 3)


def test_the_arxiv_calendar_follows_new_york_time_across_daylight_saving() -> None:
    # Sunday 20:00 is 01:00 UTC in winter and 00:00 UTC in summer time.
    assert ARXIV.next_after(ny(13, 12, month=3)) == utc(15, 0, month=3)  # 14 March 2027: EDT
    assert ARXIV.next_after(ny(6, 12)) == utc(8, 1)  # February: EST
    # Thursday after 20:00: nothing until Sunday.
    assert ARXIV.next_after(ny(4, 21)) == utc(8, 1)


def test_hugging_face_moves_every_weekday_in_utc() -> None:
    friday = batch("2702.00100")
    judged = refreshes(
        HF_API,
        [
            (utc(5, 10), [friday]),
            (utc(7, 23), [friday]),  # Sunday
            (utc(8, 12), [friday]),  # Monday noon: within 12 h grace + interval
            (utc(8, 13), [friday]),
        ],
    )
    assert [h.state for h in judged] == [None, None, None, "stale"]
    assert HUGGING_FACE.describe in (judged[-1].reason or "")


def test_answers_304_are_the_same_batch_and_can_be_stale() -> None:
    judged = refreshes(ARXIV_RSS, [(ny(9, 1), [batch("2702.00010")]), (ny(10, 3), [])])
    assert [h.state for h in judged] == [None, "stale"]
    assert judged[1].digest == judged[0].digest


def test_a_quiet_day_is_never_stale_nor_suspect() -> None:
    # arXiv's RSS for a small archive is empty day after day; Hugging Face's `[]` too.
    empty = parsing.parse("hf-api", b"[]")
    judged = refreshes(HF_API, [(utc(day, 10), [empty]) for day in range(1, 15)])
    assert {h.state for h in judged} == {None}
    assert judged[-1] == Health()


def test_a_suspect_body_wins_and_keeps_the_batch_before_it() -> None:
    refused = parsing.parse("hf-api", json.dumps([{"paper": {"title": "x"}}] * 30).encode())
    assert refused.suspect is not None and refused.papers == []
    good = batch("2702.00001")
    judged = refreshes(HF_API, [(utc(1, 10), [good]), (utc(20, 10), [good, refused])])
    assert judged[1].state == "suspect"
    assert judged[1].reason == (
        "every one of its 30 records was refused (first: entry 0: no arXiv id in paper.id None)"
    )
    assert (judged[1].digest, judged[1].since) == (judged[0].digest, utc(1, 10))


def test_each_kind_has_its_cadence_and_stale_hours_overrides_it(tmp_path: Path) -> None:
    api = "http://export.arxiv.org/api/query?search_query=cat:cs.CV"
    assert cadence(ARXIV_RSS) is ARXIV and cadence(HF_API) is HUGGING_FACE
    assert cadence(SourceConfig("a", "arxiv-api", url=api + "&sortBy=submittedDate")) is ARXIV
    assert cadence(SourceConfig("a", "arxiv-api", url=api)) is None  # by relevance
    assert cadence(SourceConfig("a", "arxiv-api", url=api + "&id_list=2101.00001")) is None
    assert cadence(SourceConfig("f", "feed", url="https://example.org/rss")) is None
    assert cadence(SourceConfig("t", "hf-text", path=str(tmp_path / "*.txt"))) is None
    assert cadence(SourceConfig("h", "hf-api", path=str(tmp_path / "x.json"))) is None
    assert cadence(replace(ARXIV_RSS, stale_hours=0)) is None  # never stale

    weekly = SourceConfig("f", "feed", url="https://example.org/rss", stale_hours=48)
    same = batch("2702.00001")
    judged = refreshes(weekly, [(utc(1, 0), [same]), (utc(3, 0), [same]), (utc(3, 1), [same])])
    assert [h.state for h in judged] == [None, None, "stale"]
    assert (judged[-1].reason or "").endswith("(stale_hours = 48)")


def test_stale_hours_is_checked_in_the_config(tmp_path: Path) -> None:
    def source(value: str) -> str:
        return (
            f'[[sources]]\nname = "s"\nkind = "feed"\nurl = "https://example.org/rss"\n'
            f"stale_hours = {value}\n"
        )

    config = tmp_path / "paperfeed.toml"
    config.write_text(source("36"))
    assert load_config(config).sources[0].stale_hours == 36.0
    for value, says in [
        ("-1", "not between 0 (never stale) and 8784"),
        ("9000", "not between 0 (never stale) and 8784"),
        ('"two days"', "is not a number of hours"),
        ("true", "is not a number of hours"),
        ("nan", "is not a number of hours"),
    ]:
        config.write_text(source(value))
        with pytest.raises(ConfigError, match="source 's': stale_hours") as error:
            load_config(config)
        assert says in str(error.value), value

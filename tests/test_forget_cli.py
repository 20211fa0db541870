"""`paperfeed forget SOURCE`: what it removes, what it says, and its one-line errors."""

from __future__ import annotations

import cli
from store import Store
from tests.helpers import LISTINGS, parser_fixture, toml_sources

SOURCES = toml_sources(
    {"name": "samples", "kind": "hf-text", "path": str(LISTINGS / "*.txt")},
    {"name": "hf", "kind": "hf-api", "path": str(parser_fixture("real/hf_api_2025-07-22.json"))},
)


def test_forget_removes_a_sources_own_papers_and_warns_while_configured(
    write_config, database_url, capsys
) -> None:  # type: ignore[no-untyped-def]
    config = str(write_config(SOURCES))
    common = ["--config", config, "--database-url", database_url]
    assert cli.main([*common, "refresh"]) == 0
    assert "447 papers stored" in capsys.readouterr().out  # 431 samples + 16 from the API
    assert cli.main([*common, "forget", "samples"]) == 0
    out, err = capsys.readouterr()
    assert out.strip() == "samples: 431 papers removed, 0 kept (another source lists them too)"
    assert "still a source" in err and "next refresh reads it again" in err
    store = Store(database_url)
    assert store.count_papers() == 16 and "samples" not in store.source_names()
    store.dispose()


def test_forget_an_unknown_source_is_one_line_with_exit_code_2(
    write_config, database_url, capsys
) -> None:  # type: ignore[no-untyped-def]
    config = str(write_config(SOURCES))
    code = cli.main(["--config", config, "--database-url", database_url, "forget", "sampels"])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "no source named 'sampels'" in err and "did you mean 'samples'?" in err

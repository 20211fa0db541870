"""The top-level modules import-linter cannot read as packages keep to their layer too:
settings reads only the rules and the parsers; logs only the URL redaction of refresh;
progress (the CLI's bars) nothing of ours."""

from __future__ import annotations

import ast

import pytest

from tests.helpers import ROOT

OURS = {
    "app",
    "cli",
    "progress",
    "logs",
    "web",
    "feeds",
    "refresh",
    "settings",
    "migrations",
    "store",
    "topics",
    "parsing",
}


def imported_packages(module: str) -> set[str]:
    tree = ast.parse((ROOT / f"{module}.py").read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module.split(".")[0])
    return names & OURS


@pytest.mark.parametrize(
    "module, allowed",
    [("settings", {"topics", "parsing"}), ("logs", {"refresh"}), ("progress", set())],
)
def test_top_level_modules_import_only_below_them(module: str, allowed: set[str]) -> None:
    assert imported_packages(module) <= allowed

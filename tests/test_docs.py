"""The README's tables against what they describe: settings, HTTP routes, architecture.

A table that drifts from the code fails here. The settings table is the code's own list
rendered: `PAPERFEED_WRITE_DOCS=1 pytest tests/test_docs.py` writes it into the README (read
the diff before committing). The other two are written by hand and read back here."""

from __future__ import annotations

import json
import os
import re
import tomllib
from pathlib import Path

from settings import SETTINGS, Setting
from tests.helpers import ROOT

README = ROOT / "README.md"
SETTINGS_HEADER = "| setting | environment | default | what |"
ROUTES_HEADER = "| route | what |"
ARCHITECTURE_HEADER = "| package | its job | may import |"


def table_lines(text: str, header: str) -> list[str]:
    """The README table that starts with header, line by line."""
    lines = text.splitlines()
    start = lines.index(header)
    end = next((i for i in range(start, len(lines)) if not lines[i].startswith("|")), len(lines))
    return lines[start:end]


def table(text: str, header: str) -> list[list[str]]:
    """The rows of the README table under header (not its |---| line), each as its cells."""
    rows = table_lines(text, header)[2:]
    return [[c.strip() for c in re.split(r"(?<!\\)\|", row.strip())[1:-1]] for row in rows]


def code_spans(cell: str) -> list[str]:
    return re.findall(r"`([^`]+)`", cell)


# ---- settings ------------------------------------------------------------------------------


def settings_row(setting: Setting) -> str:
    variables = [f"PAPERFEED_{setting.name.upper()}", *([setting.env] if setting.env else [])]
    default = json.dumps(setting.default) if isinstance(setting.default, str) else setting.default
    what = setting.help.replace("|", "\\|")
    return f"| `{setting.name}` | {', '.join(f'`{v}`' for v in variables)} | `{default}` | {what} |"


def settings_table() -> str:
    return "\n".join([SETTINGS_HEADER, "|---|---|---|---|", *map(settings_row, SETTINGS)])


def test_the_settings_table_is_the_code_s_settings() -> None:
    text = README.read_text("utf-8")
    written = "\n".join(table_lines(text, SETTINGS_HEADER))
    if os.environ.get("PAPERFEED_WRITE_DOCS") and written != settings_table():
        README.write_text(text.replace(written, settings_table()), "utf-8")
        written = settings_table()
    assert written == settings_table(), (
        "README's settings table differs from settings.SETTINGS; "
        "PAPERFEED_WRITE_DOCS=1 pytest tests/test_docs.py rewrites it"
    )


# ---- routes --------------------------------------------------------------------------------


def documented_routes(text: str) -> list[tuple[str, str]]:
    """(method, example path) for each route the README names: `<name>` becomes a value,
    the query string goes, and each extra `.ext` after a path is a route of its own."""
    routes = []
    for row in table(text, ROUTES_HEADER):
        spans = code_spans(row[0])
        method, _, target = spans[0].rpartition(" ")  # `POST /admin/refresh`
        method = method or "GET"
        path = re.sub(r"<[^>]+>", "x", target.split("?")[0])
        routes.append((method, path))
        stem = path.rsplit(".", 1)[0]
        routes += [(method, stem + span) for span in spans[1:] if span.startswith(".")]
    return routes


def test_every_route_is_in_the_readme_and_every_readme_route_exists(make_app) -> None:
    app = make_app(admin_token="documented")  # the admin route exists only with a token
    adapter = app.url_map.bind("localhost")
    found = set()
    for method, path in documented_routes(README.read_text("utf-8")):
        rule, _ = adapter.match(path, method=method, return_rule=True)
        found.add(rule.rule)
    app.extensions["paperfeed"].close()
    undocumented = {rule.rule for rule in app.url_map.iter_rules()} - found
    assert not undocumented, f"routes missing from README's routes table: {undocumented}"


# ---- architecture --------------------------------------------------------------------------


def app_modules() -> set[str]:
    """Every module of the application, as a path from the repository's root: the top-level
    .py files and every module of the packages pyproject.toml ships."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
    patterns = project["tool"]["setuptools"]["packages"]["find"]["include"]
    packages = [ROOT / p.rstrip("*") for p in patterns if (ROOT / p.rstrip("*")).is_dir()]
    modules = {p.name for p in ROOT.glob("*.py")}
    for package in packages:
        modules |= {
            str(p.relative_to(ROOT)) for p in package.rglob("*.py") if p.name != "__init__.py"
        }
    return modules | {f"{p.name}/" for p in packages}


def documented_modules(text: str) -> set[str]:
    """The modules and folders the architecture table names, as paths from the root: a row's
    first cell names a package (`feeds/`) or top-level modules, its second cell names that
    package's modules (`routes.py`) and folders (`versions/`)."""
    named = set()
    for row in table(text, ARCHITECTURE_HEADER):
        owners = code_spans(row[0])
        named |= set(owners)
        folder = owners[0] if len(owners) == 1 and owners[0].endswith("/") else ""
        named |= {
            folder + span for span in code_spans(row[1]) if re.fullmatch(r"[\w/.]+(\.py|/)", span)
        }
    return named


def covered(module: str, named: set[str]) -> bool:
    """module is named, or a folder inside its package that holds it (a package's own row
    does not cover its modules)."""
    folders = [f"{p}/" for p in Path(module).parents][:-2]
    return module in named or any(folder in named for folder in folders)


def test_the_architecture_table_names_every_module_and_only_modules_that_exist() -> None:
    named = documented_modules(README.read_text("utf-8"))
    modules = app_modules()
    missing = sorted(m for m in modules if not covered(m, named))
    assert not missing, f"modules missing from README's architecture table: {missing}"
    gone = sorted(n for n in named if not (ROOT / n).exists())
    assert not gone, f"README's architecture table names what does not exist: {gone}"


def test_the_figures_behind_code_comments_name_files_that_exist() -> None:
    """BENCHMARKS.md keeps the numbers code comments used to carry, each by the file that
    makes the choice: a file moved or gone fails here, not in a reader's search."""
    rows = table((ROOT / "BENCHMARKS.md").read_text("utf-8"), "| where | figure | from |")
    assert rows
    gone = [path for row in rows if not (ROOT / (path := code_spans(row[0])[0])).exists()]
    assert not gone, f"BENCHMARKS.md names files that do not exist: {gone}"

"""How many papers each spelling of a word finds in the bundled data: the sample listings
(samples/listings) and the parser fixtures' expected records (tests/parsing/data), each
paper once (by title). Spellings of one word should find the same papers.

    .venv/bin/python bench/spellings.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import parsing  # noqa: E402
from topics.analysis import Document  # noqa: E402
from topics.query import parse  # noqa: E402

PAIRS = [
    ("pretraining", "pre-training", '"pre training"'),
    ("finetuning", "fine-tuning"),
    ("resnet50", "ResNet-50"),
    ("multimodal", "multi-modal"),
    ("modeling", "modelling"),
    ("optimization", "optimisation"),
]


def papers() -> dict[str, Document]:
    found: dict[str, Document] = {}
    for path in sorted((ROOT / "samples" / "listings").glob("*.txt")):
        for paper in parsing.parse("hf-text", path.read_bytes()).papers:
            found[paper.title] = Document.of(title=paper.title, abstract=paper.abstract)
    for path in sorted((ROOT / "tests" / "parsing" / "data").rglob("*.expected.json")):
        expected = json.loads(path.read_text())
        for paper in expected.get("papers", []) if isinstance(expected, dict) else []:
            title = paper.get("title") or ""
            found[title] = Document.of(title=title, abstract=paper.get("abstract") or "")
    return found


def main() -> None:
    docs = list(papers().values())
    print(f"{len(docs)} papers")
    for forms in PAIRS:
        counts = [sum(parse(form).matches(doc) for doc in docs) for form in forms]
        print(
            "  " + "  ".join(f"{form} {count}" for form, count in zip(forms, counts, strict=True))
        )


if __name__ == "__main__":
    main()

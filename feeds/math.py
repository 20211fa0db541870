"""Titles with TeX math as readable text, one way whatever the listing: arXiv writes
`$H^3$Fusion` and `{\\Lambda}CDM`, Hugging Face `GUI-G^2`; readers and pages show `H³Fusion`,
`ΛCDM`, `GUI-G²`. The stored title is unchanged (search and the title key read it)."""

from __future__ import annotations

import functools
import re

from pylatexenc.latex2text import LatexNodes2Text

_LATEX = LatexNodes2Text(math_mode="text", strict_latex_spaces=True)
SUPERSCRIPTS = str.maketrans("0123456789+-=()ni", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ⁿⁱ")
SUBSCRIPTS = str.maketrans("0123456789+-=()aeoxhklmnpst", "₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎ₐₑₒₓₕₖₗₘₙₚₛₜ")
_SUPER = re.compile(r"\^(\{[0-9+\-=()ni]+\}|[0-9+\-ni])")
_SUB = re.compile(r"_(\{[0-9+\-=()aeoxhklmnpst]+\}|[0-9aeoxhklmnpst])")


@functools.lru_cache(maxsize=4096)
def readable(title: str) -> str:
    """title with its TeX turned into text: commands into their characters, simple
    super- and subscripts into Unicode ones (^ everywhere, _ only inside $...$, where it
    cannot be part of a name). A title whose TeX cannot be read is kept as it is."""
    if "$" not in title and "\\" not in title and "^" not in title:
        return title
    text = title
    if "$" in title or "\\" in title:
        # % starts a TeX comment and ~ is a hard space: neither means that in a title.
        protected = re.sub(r"(?<!\\)%", r"\\%", title).replace("~", r"\textasciitilde{}")
        protected = re.sub(r"\$[^$]*\$", lambda m: _SUB.sub(_subscript, m.group(0)), protected)
        text = _LATEX.latex_to_text(protected)
        if not text.strip() or len(text) < len(title) // 2:
            return title
    return " ".join(_SUPER.sub(_superscript, text).split())


def _superscript(found: re.Match[str]) -> str:
    return found.group(1).strip("{}").translate(SUPERSCRIPTS)


def _subscript(found: re.Match[str]) -> str:
    return found.group(1).strip("{}").translate(SUBSCRIPTS)

"""Subjects a publisher joined into one string: "Physics, Applied, Physics" is two Web of
Science categories, "Physics, Applied" and "Physics".

A comma inside a subject is ambiguous: Web of Science names a field and its branch with one
("Physics, Applied", "Chemistry, Physical"), MeSH inverts terms with one ("Neurons,
Afferent"). So semicolons always separate subjects, and commas only where the string holds a
Web of Science category (which proves it a list of them); elsewhere the string stays whole.
"""

from __future__ import annotations

# Web of Science categories whose names hold a comma (the complete list of such names is
# longer; these are the science and engineering ones a paper feed carries).
# fmt: off
WOS_CATEGORIES = frozenset({
    "Agriculture, Dairy & Animal Science", "Agriculture, Multidisciplinary",
    "Chemistry, Analytical", "Chemistry, Applied", "Chemistry, Inorganic & Nuclear",
    "Chemistry, Medicinal", "Chemistry, Multidisciplinary", "Chemistry, Organic",
    "Chemistry, Physical",
    "Computer Science, Artificial Intelligence", "Computer Science, Cybernetics",
    "Computer Science, Hardware & Architecture", "Computer Science, Information Systems",
    "Computer Science, Interdisciplinary Applications",
    "Computer Science, Software Engineering", "Computer Science, Theory & Methods",
    "Engineering, Aerospace", "Engineering, Biomedical", "Engineering, Chemical",
    "Engineering, Civil", "Engineering, Electrical & Electronic", "Engineering, Environmental",
    "Engineering, Geological", "Engineering, Industrial", "Engineering, Manufacturing",
    "Engineering, Marine", "Engineering, Mechanical", "Engineering, Multidisciplinary",
    "Engineering, Ocean", "Engineering, Petroleum",
    "Geosciences, Multidisciplinary", "Humanities, Multidisciplinary",
    "Materials Science, Biomaterials", "Materials Science, Ceramics",
    "Materials Science, Characterization & Testing", "Materials Science, Coatings & Films",
    "Materials Science, Composites", "Materials Science, Multidisciplinary",
    "Materials Science, Paper & Wood", "Materials Science, Textiles",
    "Mathematics, Applied", "Mathematics, Interdisciplinary Applications",
    "Medicine, General & Internal", "Medicine, Legal", "Medicine, Research & Experimental",
    "Physics, Applied", "Physics, Atomic, Molecular & Chemical", "Physics, Condensed Matter",
    "Physics, Fluids & Plasmas", "Physics, Mathematical", "Physics, Multidisciplinary",
    "Physics, Nuclear", "Physics, Particles & Fields",
    "Psychology, Applied", "Psychology, Biological", "Psychology, Clinical",
    "Psychology, Developmental", "Psychology, Educational", "Psychology, Experimental",
    "Psychology, Mathematical", "Psychology, Multidisciplinary", "Psychology, Social",
    "Public, Environmental & Occupational Health",
    "Social Sciences, Biomedical", "Social Sciences, Interdisciplinary",
    "Social Sciences, Mathematical Methods",
})
# fmt: on
_LONGEST = max(name.count(",") for name in WOS_CATEGORIES) + 1


def split_subjects(subject: str) -> list[str]:
    """The subjects in one string: split at semicolons, and at commas where it is a list of
    Web of Science categories."""
    subjects: list[str] = []
    for part in subject.split(";"):
        subjects += _wos_list(part) or ([part.strip()] if part.strip() else [])
    return subjects


def _wos_list(text: str) -> list[str] | None:
    """text read as Web of Science categories, longest name first; None if it names none."""
    pieces = [piece.strip() for piece in text.split(",")]
    names, start, joined = [], 0, False
    while start < len(pieces):
        for size in range(min(_LONGEST, len(pieces) - start), 0, -1):
            name = ", ".join(pieces[start : start + size])
            if size == 1 or name in WOS_CATEGORIES:
                joined = joined or size > 1
                if name:
                    names.append(name)
                start += size
                break
    return names if joined else None

"""The kinds of page the site has: where one of each is, and what it shows once it has rendered.

A new kind of page is one more entry here: the browser tests load it, check its proof, its requests
and axe-core, and tools/screenshots.py photographs it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PageKind:
    """One kind of page: a name (the screenshot's), a path, and the text the rendered page shows."""

    name: str
    path: str  # may name {determination}: the id of the seed case's determination, stored for the session
    proof: str
    selector: str | None = None  # an element the page must have besides its text
    waived: tuple[str, ...] = ()  # axe rules broken by markup that is not ours (a vendor's), and only those


SWAGGER_UI = ("color-contrast", "nested-interactive", "target-size")
SEED_CASE = "examples/cases/sij-seed-neurectomy.json"

KINDS = [
    PageKind("landing", "/", "Guideline knowledge", "form.search input#code"),
    PageKind("policy", "/policies/sij-clinical-pathway", "SIJ clinical pathway", "#criteria"),
    PageKind("letter", "/determinations/{determination}", "Determination: Not medically necessary"),
    PageKind("criterion", "/criteria/sij-clinical-pathway/provocative-tests", "Provocative tests"),
    PageKind("code", "/procedures/64772", "Extradural transection of other spinal nerve"),
    PageKind("reference", "/references/ref-vanelderen-2010", "Vanelderen et al. 2010"),
    # Where the example determinations will be is a guess: set it when merging.
    PageKind("example", "/examples/sij-seed-neurectomy", "Not medically necessary"),
    PageKind("sparql", "/sparql", "SPARQL", "#query"),
    PageKind("review", "/review", "Review", "#queue"),
    # Swagger UI's own markup: its grey version stamp, its operation rows (a button holding links), small targets.
    PageKind("api-docs", "/docs", "guideline-reasoner", ".swagger-ui", waived=SWAGGER_UI),
]


def kind(name: str) -> PageKind:
    """The kind called ``name``."""
    return next(k for k in KINDS if k.name == name)

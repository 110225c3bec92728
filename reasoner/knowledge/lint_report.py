"""What lint reports: findings, each where it is, and the files it could not read.

Apart from reasoner/knowledge/lint.py so that reading a remembered verdict (reasoner/knowledge/lint_cache.py)
does not import the checks themselves.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem, where it is."""

    file: str
    line: int
    column: int
    check: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.check}: {self.message}"

    def as_dict(self) -> dict[str, object]:
        """For ``--format json``."""
        return asdict(self)


@dataclass(frozen=True, slots=True)
class LintReport:
    """Everything lint found, and the files it could not read."""

    findings: tuple[Finding, ...]
    unreadable: tuple[str, ...]
    files: int

    @property
    def exit_code(self) -> int:
        """0 clean, 1 with findings, 2 when a file could not be read."""
        return 2 if self.unreadable else 1 if self.findings else 0

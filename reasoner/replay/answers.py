"""One case's answer under one knowledge base: its outcome and each criterion's status, or why there is none."""

from __future__ import annotations

from dataclasses import dataclass

from reasoner.errors import ReasonerError
from reasoner.intake.turtle import CaseFormat
from reasoner.knowledge.base import KnowledgeBase
from reasoner.model import Determination
from reasoner.pipeline import determine

#: The outcome written for a case that could not be determined (the error's code says why).
NOT_DETERMINED = "not-determined"
INTERNAL_ERROR = "internal-error"


@dataclass(frozen=True, slots=True)
class Answer:
    """What a determination decided, reduced to what a replay compares; ``error`` is a code, never a message.

    A message may quote the case (a value, a code), and a replay's output is read by people who
    may not see patient data; the code (docs/errors.md) says what kind of problem it was.
    """

    outcome: str
    statuses: tuple[tuple[str, str], ...] = ()  # (criterion id, status), by criterion id
    policy: str | None = None
    error: str | None = None

    @classmethod
    def of(cls, d: Determination) -> Answer:
        """The answer a determination gives."""
        return cls(d.outcome.value, tuple(sorted((c.id, c.status.value) for c in d.criteria)), d.policy.id)

    @classmethod
    def failed(cls, code: str) -> Answer:
        """No answer: the case could not be determined, for the reason ``code`` names."""
        return cls(NOT_DETERMINED, error=code)


def answer(payload: bytes, fmt: CaseFormat, kb: KnowledgeBase, policy: str | None) -> Answer:
    """Determine the case; a case the reasoner refuses gives its error code instead.

    Any other exception is the engine's fault, not the case's: it is counted as ``internal-error``
    rather than ending a replay of millions, and (like every failure) never logged with the case.
    """
    try:
        return Answer.of(determine(payload, fmt, kb, policy=policy))
    except ReasonerError as exc:
        return Answer.failed(exc.code)
    except Exception:  # noqa: BLE001 - see the docstring
        return Answer.failed(INTERNAL_ERROR)

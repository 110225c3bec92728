"""The pathway diagram: a policy's steps and prerequisite edges as an inline SVG, marked for a determination.

Laid out here, without Graphviz: a step's column is the length of its longest prerequisite chain
(left to right), the steps of one column stacked in pathway order, so steps that can run in
parallel sit one above the other. Edges are not routed around boxes: an edge that skips a column
curves below the boxes it passes, which keeps it clear of them in the bundled pathways but not in
every graph. A prerequisite outside the policy's pathway, and an edge closing a cycle, are not
drawn. Every mark is written in its box as well as coloured and dashed.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from html import escape
from typing import TYPE_CHECKING, Any

from reasoner._memo import per_knowledge_base
from reasoner.model import Determination, Outcome

if TYPE_CHECKING:
    from reasoner.knowledge.base import KnowledgeBase

Step = Mapping[str, Any]
"""A pathway step as ``policy_view(kb, id)["pathway"]`` gives it: order, id, step, action, requires, evidence."""


class Mark(StrEnum):
    """Where a step stands for one determination."""

    DONE = "done"
    REQUESTED = "requested"
    REQUIRED = "required"
    """Not done, and a prerequisite (directly or not) of the requested step."""
    NEXT = "next"
    """Not done, recommended, and not a prerequisite of the requested step."""


# Mark: (words in the box, stroke, fill, stroke width, dash pattern); every text colour has at least 4.5:1 on its fill.
_STYLE: dict[Mark | None, tuple[str, str, str, str, str | None]] = {
    Mark.DONE: ("Done", "#1a6b2a", "#eaf4ec", "2", None),
    Mark.REQUESTED: ("Requested", "#0b4f8a", "#e8f1fa", "3.5", None),
    Mark.REQUIRED: ("Required first", "#a11111", "#fdf1f1", "2", "7 4"),
    Mark.NEXT: ("Next", "#6b4e00", "#ffffff", "2", "2 3"),
    None: ("", "#4d4d4d", "#ffffff", "1.5", None),
}
_INK = "#1b1b1b"
_W, _GAP_X, _GAP_Y, _PAD, _LINE, _MARGIN = 150, 28, 22, 8, 16, 12
_WRAP = 17  # characters per line of a step's label: a 150-unit box holds 17 bold glyphs at 13 units


def step_marks(d: Determination, pathway: Sequence[Step]) -> dict[str, Mark] | None:
    """Each step's mark (by step id) for a determination made under this pathway's policy.

    The determination lists the steps not yet done (``nextSteps``, by label, the requested one
    flagged); every other step is taken as done. None where that does not tell: no applicable
    guideline (no step was judged), a step listed that the pathway lacks (another knowledge base),
    or two steps of the pathway with one label. A requested step the case shows done already (a
    repeat) is not listed, so it is marked done, not requested.
    """
    if d.outcome is Outcome.NO_APPLICABLE_GUIDELINE or not pathway:
        return None
    by_label = {s["step"]: s["id"] for s in pathway}
    if len(by_label) != len(pathway) or any(n.step not in by_label for n in d.nextSteps):
        return None
    todo = {by_label[n.step]: n.requested for n in d.nextSteps}
    requested = {i for i, flagged in todo.items() if flagged}
    before = _ancestors(pathway, requested)
    marks: dict[str, Mark] = {}
    for s in pathway:
        i = s["id"]
        if i not in todo:
            marks[i] = Mark.DONE
        elif i in requested:
            marks[i] = Mark.REQUESTED
        else:
            marks[i] = Mark.REQUIRED if i in before else Mark.NEXT
    return marks


def _ancestors(pathway: Sequence[Step], ids: set[str]) -> set[str]:
    requires = {s["id"]: list(s["requires"]) for s in pathway}
    seen: set[str] = set()
    stack = [r for i in ids for r in requires.get(i, ())]
    while stack:
        i = stack.pop()
        if i not in seen:
            seen.add(i)
            stack.extend(requires.get(i, ()))
    return seen


def columns(pathway: Sequence[Step]) -> dict[str, int]:
    """Each step's column: the length of its longest chain of prerequisites within the pathway."""
    requires = {s["id"]: [r for r in s["requires"] if r != s["id"]] for s in pathway}
    out: dict[str, int] = {}
    visiting: set[str] = set()

    def column(i: str) -> int:
        if i in out:
            return out[i]
        visiting.add(i)  # a prerequisite still being visited closes a cycle: it does not count
        before = [column(r) for r in requires[i] if r in requires and r not in visiting]
        visiting.discard(i)
        out[i] = 1 + max(before) if before else 0
        return out[i]

    for s in pathway:
        column(s["id"])
    return out


def edges(pathway: Sequence[Step]) -> list[tuple[str, str]]:
    """The prerequisite edges drawn (prerequisite, step): both in the pathway, leading to a later column."""
    col = columns(pathway)
    return [(r, s["id"]) for s in pathway for r in s["requires"] if r in col and col[r] < col[s["id"]]]


@dataclass(frozen=True, slots=True)
class _Box:
    number: int
    step: Step
    x: int
    y: int
    lines: list[str]


def _layout(pathway: Sequence[Step], height: int) -> dict[str, _Box]:
    col = columns(pathway)
    rows: dict[int, int] = {}
    boxes: dict[str, _Box] = {}
    for n, s in enumerate(sorted(pathway, key=lambda s: s["order"]), start=1):
        c = col[s["id"]]
        row = rows[c] = rows.get(c, -1) + 1
        x, y = _MARGIN + c * (_W + _GAP_X), _MARGIN + row * (height + _GAP_Y)
        boxes[s["id"]] = _Box(n, s, x, y, textwrap.wrap(str(s["step"]), _WRAP) or [""])
    return boxes


def pathway_svg(
    pathway: Sequence[Step], title: str, marks: Mapping[str, Mark] | None = None, ident: str = "pathway"
) -> str:
    """The pathway as an inline SVG (``role="img"``, a title and a description); ``marks`` by step id.

    ``ident`` prefixes every id in it: two diagrams on one page need two prefixes.
    """
    lines = max((len(textwrap.wrap(str(s["step"]), _WRAP)) for s in pathway), default=1)
    height = 2 * _PAD + _LINE * (max(lines, 1) + 1) + (_LINE + 4 if marks else 0)
    boxes = _layout(pathway, height)
    drawn = edges(pathway)
    width = max((b.x + _W for b in boxes.values()), default=0) + _MARGIN
    bottom = max((b.y + height for b in boxes.values()), default=0)
    skips = any(boxes[b].x - boxes[a].x > _W + _GAP_X for a, b in drawn)
    total = bottom + _MARGIN + (2 * _GAP_Y if skips else 0)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-labelledby="{ident}-title {ident}-desc" '
        f'viewBox="0 0 {width} {total}" width="{width}" height="{total}" class="pathway-diagram" '
        f'font-family="system-ui, sans-serif" font-size="13" fill="{_INK}">',
        f'<title id="{ident}-title">{escape(title)}</title>',
        f'<desc id="{ident}-desc">{escape(_describe(pathway, boxes, marks))}</desc>',
        f'<defs><marker id="{ident}-arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#4d4d4d"/></marker></defs>',
        *(_edge(boxes[a], boxes[b], height, bottom, ident) for a, b in drawn),
        *(_box(b, height, marks.get(i) if marks else None, ident) for i, b in boxes.items()),
        "</svg>",
    ]
    return "\n".join(parts)


def _edge(a: _Box, b: _Box, height: int, bottom: int, ident: str) -> str:
    label = escape(f"{a.step['step']} comes before {b.step['step']}")
    if b.x - a.x > _W + _GAP_X:  # skips a column: below the boxes between
        sx, tx, low = a.x + _W // 2, b.x + _W // 2, bottom + 2 * _GAP_Y
        sy, ty = a.y + height, b.y + height
        d = f"M{sx},{sy} C{sx},{low} {tx},{low} {tx},{ty}"
    else:
        sx, sy, tx, ty = a.x + _W, a.y + height // 2, b.x, b.y + height // 2
        mid = (sx + tx) // 2
        d = f"M{sx},{sy} C{mid},{sy} {mid},{ty} {tx},{ty}"
    return (
        f'<path class="edge" d="{d}" fill="none" stroke="#4d4d4d" stroke-width="1.5" '
        f'marker-end="url(#{ident}-arrow)"><title>{label}</title></path>'
    )


def _box(b: _Box, height: int, mark: Mark | None, ident: str) -> str:
    words, stroke, fill, stroke_width, dash = _STYLE[mark]
    s = b.step
    grade = f"Evidence {s['evidence']['grade']}" if s.get("evidence") else "Evidence not graded"
    tip = f"{b.number}. {s['step']}: {s['action']}" + (f" ({words.lower()})" if words else "")
    dashes = f' stroke-dasharray="{dash}"' if dash else ""
    cx = b.x + _PAD
    y = b.y + _PAD + 12
    texts = [f'<text x="{cx}" y="{y}" font-weight="600">']
    texts += [f'<tspan x="{cx}" dy="{0 if k == 0 else _LINE}">{escape(line)}</tspan>' for k, line in enumerate(b.lines)]
    texts.append("</text>")
    y += _LINE * len(b.lines)
    texts.append(f'<text x="{cx}" y="{y}" font-size="12">{escape(grade)}</text>')
    if words:
        y = b.y + height - _PAD - 4
        texts.append(f'<text x="{cx}" y="{y}" font-weight="700" fill="{stroke}">{escape(words)}</text>')
    return "\n".join(
        [
            f'<g class="step" id="{ident}-step-{b.number}" data-step="{escape(str(s["id"]))}"'
            + (f' data-mark="{mark.value}"' if mark else "")
            + f"><title>{escape(tip)}</title>",
            f'<rect x="{b.x}" y="{b.y}" width="{_W}" height="{height}" rx="6" fill="{fill}" stroke="{stroke}" '
            f'stroke-width="{stroke_width}"{dashes}/>',
            *texts,
            "</g>",
        ]
    )


def _describe(pathway: Sequence[Step], boxes: Mapping[str, _Box], marks: Mapping[str, Mark] | None) -> str:
    number = {i: b.number for i, b in boxes.items()}
    items = []
    for i, b in boxes.items():
        s = b.step
        bits = [f"after {', '.join(str(number[r]) for r in s['requires'] if r in number)}" if s["requires"] else ""]
        bits.append(f"evidence {s['evidence']['grade']}" if s.get("evidence") else "")
        bits.append(_STYLE[marks.get(i)][0].lower() if marks else "")
        detail = "; ".join(x for x in bits if x)
        items.append(f"{b.number}. {s['step']}" + (f" ({detail})" if detail else ""))
    return f"{len(pathway)} steps, each after the steps it names: " + "; ".join(items) + "."


@per_knowledge_base(maxsize=64)
def policy_pathway_svg(kb: KnowledgeBase, policy_id: str) -> str | None:
    """The policy's pathway diagram, unmarked, laid out once per knowledge base; None without a pathway.

    Raises:
        UnknownPolicyError: no such policy.
    """
    steps = pathway_steps(kb, policy_id)
    return pathway_svg(steps, f"Pathway of {kb.policy(policy_id).label}") if steps else None


@per_knowledge_base(maxsize=64)
def pathway_steps(kb: KnowledgeBase, policy_id: str) -> tuple[Step, ...]:
    """The policy's pathway steps as the policy view gives them (shared: not to be changed).

    Raises:
        UnknownPolicyError: no such policy.
    """
    from reasoner.knowledge.catalogue import policy_view

    return tuple(policy_view(kb, policy_id)["pathway"])


def letter_pathway_svg(kb: KnowledgeBase, d: Determination) -> str | None:
    """The pathway marked for a determination, for its letter; None where the marks would not hold.

    That is: the determination was made under another knowledge base (its steps may differ), its
    policy is not in this one or has no pathway, or :func:`step_marks` cannot tell.
    """
    if d.knowledgeBase != kb.content_hash or d.policy.id not in kb.policies:
        return None
    steps = pathway_steps(kb, d.policy.id)
    marks = step_marks(d, steps)
    if marks is None:
        return None
    title = f"Pathway of {kb.policy(d.policy.id).label}, marked for this request"
    return pathway_svg(steps, title, marks, "letter-pathway")

"""Generated cases for load: every policy's examples, varied the way real requests vary.

Each generated case starts from an example case (every policy has some) and is then varied: its
figures (relief, weeks of care, months of pain, scores, measurements, nightly usage) scaled up or
down, an optional record sometimes left out (so some cases pend), its dates moved together, and a
few made malformed as real intake sees them (a field of the wrong type). The mix follows the
examples' own spread over policies unless ``weights`` says otherwise; the same seed gives the
same cases.

    python -m bench.mix --count 100000 --out cases.jsonl [--seed 1]
"""

from __future__ import annotations

import argparse
import copy
import json
import random
import re
import sys
from collections.abc import Iterator, Mapping
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from reasoner.replay.cases import Case, line_case

ROOT = Path(__file__).resolve().parent.parent

#: Figures worth varying, with the bounds they stay within.
_FIGURES = {
    "percentRelief": (0, 100),
    "weeks": (0, 104),
    "durationMonths": (0, 240),
    "reliefMonths": (0, 36),
    "score": (0, 100),
    "disabilityScore": (0, 100),
    "functionalImprovement": (0, 100),
    "value": (0, 10000),
}
_OPTIONAL = ("painHistory", "conservativeCare", "imagingFindings", "examFindings", "observations", "treatments")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def examples() -> list[dict[str, Any]]:
    """The example cases in the JSON case form (the Turtle one is left out)."""
    found = []
    for path in sorted((ROOT / "examples" / "cases").glob("*.json")):
        if not path.name.endswith(".expected.json"):
            found.append(json.loads(path.read_text()))
    return found


def _scaled(value: Any, factor: float, bounds: tuple[int, int]) -> Any:
    low, high = bounds
    if isinstance(value, bool) or not isinstance(value, int | float):
        return value
    scaled = min(high, max(low, value * factor))
    return round(scaled) if isinstance(value, int) else round(scaled, 1)


def _vary(node: Any, rng: random.Random, shift: timedelta) -> Any:
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key in _FIGURES and rng.random() < 0.35:
                value = _scaled(value, rng.uniform(0.5, 1.5), _FIGURES[key])
            elif key == "values" and isinstance(value, list) and rng.random() < 0.35:
                factor = rng.uniform(0.6, 1.3)
                value = [_scaled(v, factor, (0, 24)) for v in value]
            out[key] = _vary(value, rng, shift)
        return out
    if isinstance(node, list):
        return [_vary(item, rng, shift) for item in node]
    if isinstance(node, str) and _DATE.match(node):
        try:
            return (date.fromisoformat(node) + shift).isoformat()
        except ValueError:
            return node
    return node


def case(base: Mapping[str, Any], ident: str, rng: random.Random, *, malformed: float = 0.005) -> dict[str, Any]:
    """One generated case from ``base``."""
    varied: dict[str, Any] = _vary(copy.deepcopy(dict(base)), rng, timedelta(days=rng.randint(-120, 120)))
    varied["id"] = ident
    varied["patient"] = f"patient-{ident}"
    for key in _OPTIONAL:
        if key in varied and rng.random() < 0.04:
            del varied[key]
    if rng.random() < malformed:
        varied["request"]["codes"] = "not a list"  # a case the intake refuses (case-schema)
    return varied


def cases(count: int, *, seed: int = 1, weights: Mapping[str, float] | None = None) -> Iterator[dict[str, Any]]:
    """``count`` generated cases, ids ``gen-0000001`` on; ``weights`` by policy id (default: the examples' spread)."""
    rng = random.Random(seed)
    bases = examples()
    chances = [weights.get(b["policy"], 0.0) for b in bases] if weights else None
    for n in range(1, count + 1):
        base = rng.choices(bases, weights=chances)[0]
        yield case(base, f"gen-{n:07d}", rng)


def line_case_of(generated: Mapping[str, Any]) -> Case:
    """A generated case as a replay source gives it (a line of JSON Lines)."""
    return line_case(json.dumps(generated).encode(), str(generated["id"]))


def write_jsonl(path: Path, count: int, *, seed: int = 1) -> Path:
    """Write ``count`` generated cases as JSON Lines to ``path``."""
    with path.open("w") as f:
        for item in cases(count, seed=seed):
            f.write(json.dumps(item, separators=(",", ":")) + "\n")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    write_jsonl(args.out, args.count, seed=args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())

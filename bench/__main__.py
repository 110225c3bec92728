"""Every benchmark, one command: ``python -m bench`` rewrites bench/results.md.

Sections (issue 7): (a) one determination per example case, median and p99; (b) the naive way
(pyshacl with the whole knowledge base as ont_graph and RDFS inference) in the same run, and the
ratio; (c) knowledge base scale with N generated policies (bench/generated.py): lint, prepare,
the load from the cache folder, a cold command, peak memory and a determination, each in its own
process; the cold start of a command against earlier revisions (bench/cold_start.py); the first
command after an author's edit against an earlier revision (bench/edit_loop.py); (d) case
scale with 10, 100 and 1,000 history items; (e) HTTP over loopback with 1 and 2 workers, POST
/determinations and the CDS Hooks call (wrk), and POST /determinations against a no-op route of
the same server; (f) each SPARQL query of queries/; (g) what hostile cases cost a fresh process
(bench/hostile_input.py); (h) serving under faults: a worker killed and a reload under load
(bench/resilience.py), /health while large determinations run (bench/responsiveness.py). Every
number in results.md comes from this run.

    python -m bench [--quick] [--skip-http] [--output bench/results.md]
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import gc
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "results.md"


def _stats(fn, runs: int) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    ordered = sorted(times)
    return statistics.median(times), ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]


def examples(runs: int, naive_runs: int) -> tuple[list[str], dict[str, Any]]:
    """(a) and (b): every example case under every policy its expectations name."""
    from reasoner import KnowledgeBase, determine
    from reasoner.authoring.casetests import case_files, expectations
    from reasoner.pipeline import agrees_with_reference, determine_naively

    kb = KnowledgeBase.load(ROOT)
    gc.collect()
    gc.freeze()
    rows = [
        "| case | policy | prepared median ms | p99 ms | naive median ms | ratio | agree |",
        "|---|---|---|---|---|---|---|",
    ]
    ratios, prepared, named = [], [], []
    for case in case_files(ROOT / "examples" / "cases"):
        fmt = "json" if case.suffix == ".json" else "turtle"
        payload = case.read_bytes()
        for e in expectations(case):
            policy = e["policy"]
            fast = functools.partial(determine, payload, fmt, kb, policy=policy)
            naive = functools.partial(determine_naively, payload, fmt, kb, policy=policy)
            for _ in range(3):
                fast()
            median, p99 = _stats(fast, runs)
            naive_median, _ = _stats(naive, naive_runs)
            answer = fast()
            same = agrees_with_reference(answer, naive())
            if answer.outcome.value != "no-applicable-guideline":  # neither path validates anything then
                ratios.append(naive_median / median)
                prepared.append(median)
                named.append((naive_median / median, f"{case.name} [{policy}]"))
            rows.append(
                f"| {case.name} | {policy} | {median:.2f} | {p99:.2f} | {naive_median:.0f} | "
                f"{naive_median / median:.0f}x | {same} |"
            )
            if not same:
                raise SystemExit(f"{case.name} [{policy}]: the prepared and naive determinations disagree")
    summary = {
        "median_ms": statistics.median(prepared),
        "ratio_median": statistics.median(ratios),
        "ratio_min": min(ratios),
        "at_least_100": sum(r >= 100 for r in ratios),
        "compared": len(ratios),
        "lowest": min(named)[1],
    }
    return rows, summary


def _child_kb(n: int, root: Path, cache: Path, first: bool) -> dict[str, Any]:
    """(c), in a fresh process: the knowledge base under ``root`` (bundled plus ``n`` generated policies).

    ``first``: lint (its verdict is then remembered), then prepare it, which writes the prepared
    knowledge base to ``cache``, then time determinations. Otherwise: the load a later process
    pays on the same files, from the cache folder (reasoner/knowledge/prepared_cache.py).
    """
    from reasoner import KnowledgeBase, determine
    from reasoner.knowledge import lint_cache
    from reasoner.knowledge.files import KnowledgeFiles

    os.environ["GR_CACHE_DIR"] = str(cache)
    out: dict[str, Any] = {"n": n}
    if first:
        start = time.perf_counter()
        assert lint_cache.checked(KnowledgeFiles.read(root)).exit_code == 0
        out["lint_s"] = time.perf_counter() - start
    start = time.perf_counter()
    kb = KnowledgeBase.load(root)
    out["load_s"] = time.perf_counter() - start
    if not first:
        return out
    payload = (ROOT / "examples/cases/facet-rfa-initial.json").read_bytes()
    gc.collect()
    gc.freeze()
    for _ in range(5):
        determine(payload, "json", kb, policy="medicare-facet-lcd")
    median, p99 = _stats(lambda: determine(payload, "json", kb, policy="medicare-facet-lcd"), 40)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out.update({"policies": len(kb.policies), "triples": len(kb.ontology) + len(kb.shapes), "peak_mb": peak,
                "median_ms": median, "p99_ms": p99})  # fmt: skip
    return out


def kb_scale(sizes: list[int], runs: int) -> tuple[list[str], dict[str, float]]:
    """(c): per N, lint and prepare once, then the load from the cache folder and a cold command, ``runs`` times."""
    from bench.cold_start import time_determine
    from bench.generated import knowledge_base_with

    rows = [
        "| generated policies | policies | triples | lint s (once) | first load s (prepare) | load s (cached) "
        "| cold determine s | peak MB | determination median ms | p99 ms |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            root = ROOT if n == 0 else knowledge_base_with(n, Path(tmp) / f"kb-{n}")
            cache = Path(tmp) / f"cache-{n}"

            def child(first: bool, n: int = n, root: Path = root, cache: Path = cache) -> dict[str, Any]:
                command = [sys.executable, "-m", "bench", "--child-kb", str(n), str(root), str(cache)]
                out = subprocess.run([*command, *(["--first"] if first else [])], capture_output=True, text=True,
                                     check=True, cwd=ROOT)  # fmt: skip
                return dict(json.loads(out.stdout.strip().splitlines()[-1]))

            r = child(True)
            r["cached_s"] = statistics.median(child(False)["load_s"] for _ in range(runs))
            case = "examples/cases/facet-rfa-initial.json"
            r["cold_s"] = statistics.median(time_determine(ROOT, cache, case, kb=root) for _ in range(runs))
            results.append(r)
            rows.append(
                f"| {n} | {r['policies']} | {r['triples']} | {r['lint_s']:.2f} | {r['load_s']:.2f} | "
                f"{r['cached_s']:.3f} | {r['cold_s']:.2f} | {r['peak_mb']:.0f} | {r['median_ms']:.2f} | "
                f"{r['p99_ms']:.2f} |"
            )
    first, last = results[0], results[-1]
    return rows, {
        "det_ratio": last["median_ms"] / first["median_ms"],
        "load_last": last["load_s"],
        "lint_last": last["lint_s"],
        "prepare_ratio": last["load_s"] / first["load_s"],
        "cached_ratio": last["cached_s"] / first["cached_s"],
        "cold_ratio": last["cold_s"] / first["cold_s"],
    }


def case_scale(sizes: list[int]) -> tuple[list[str], dict[str, float]]:
    """(d): the facet RFA example with longer and longer histories.

    Two histories: the generated mix (injections of other kinds, care, exam and imaging findings,
    conditions), on which the goal is measured, and one whose every item the facet policy reads.
    The mix is also timed on the whole case (every history fact in the graph, as
    ``determine_parsed`` builds it), to show what leaving out what the policy cannot see saves.
    """
    from bench.generated import case_with_history, case_with_relevant_history
    from reasoner import KnowledgeBase, determine
    from reasoner.pipeline import determine_parsed, parse_case

    kb = KnowledgeBase.load(ROOT)
    gc.collect()
    gc.freeze()
    policy = "medicare-facet-lcd"
    rows = [
        "| history | items | bytes | median ms | p99 ms | whole case median ms |",
        "|---|---|---|---|---|---|",
    ]
    medians: dict[str, list[float]] = {"mixed": [], "relevant": [], "whole": []}
    for name, make in (("mixed", case_with_history), ("relevant", case_with_relevant_history)):
        for n in sizes:
            payload = make(n)
            for _ in range(3):
                determine(payload, "json", kb, policy=policy)
            median, p99 = _stats(lambda p=payload: determine(p, "json", kb, policy=policy), 15)
            medians[name].append(median)
            whole = ""
            if name == "mixed":
                w, _ = _stats(lambda p=payload: determine_parsed(parse_case(p, "json", kb), kb, policy=policy), 15)
                medians["whole"].append(w)
                whole = f"{w:.1f}"
            rows.append(f"| {name} | {n} | {len(payload)} | {median:.1f} | {p99:.1f} | {whole} |")
    return rows, {k: v[-1] / v[0] for k, v in medians.items()}


def http(seconds: int) -> tuple[list[str], dict[str, float]]:
    """(e): wrk against `guideline-reasoner serve --workers N`, for both endpoints."""
    from bench import http as h

    rows = [
        "| endpoint | workers | connections | requests/s | p50 ms | p99 ms | non-2xx |",
        "|---|---|---|---|---|---|---|",
    ]
    best: dict[str, float] = {}
    bodies = {
        "POST /determinations": (
            "/determinations",
            "application/json",
            ROOT / "examples/cases/sij-seed-neurectomy.json",
        ),
        "POST /cds-services/guideline-reasoner-order-sign": (
            "/cds-services/guideline-reasoner-order-sign",
            "application/json",
            ROOT / "examples/fhir/sij-seed-neurectomy.order-sign.json",
        ),
    }
    with tempfile.TemporaryDirectory() as tmp:
        for name, (path, ctype, body) in bodies.items():
            script = Path(tmp) / f"{path.strip('/').replace('/', '-')}.lua"
            script.write_text(h.LUA.replace("application/json", ctype).format(path=body))
            for workers in (1, 2):
                for r in h.run(workers, seconds, [1, 4, 32], script, path=path):
                    rows.append(
                        f"| {name} | {workers} | {r['connections']:.0f} | {r['rps']:.0f} | {r['p50']:.1f} | "
                        f"{r['p99']:.1f} | {r['errors']:.0f} |"
                    )
                    best[f"{name}|{workers}|{r['connections']:.0f}|rps"] = r["rps"]
                    best[f"{name}|{workers}|{r['connections']:.0f}|p99"] = r["p99"]
    return rows, best


def http_floor(seconds: int, rounds: int) -> tuple[list[str], dict[int, float]]:
    """(e): POST /determinations and the no-op route of the same server, in turn, 2 workers."""
    from bench import http as h

    rows = [
        "| workers | connections | determinations/s | no-op/s | ratio | p50 ms | p99 ms | no-op p99 ms | non-2xx |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    ratios: dict[int, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "post.lua"
        script.write_text(h.LUA.format(path=h.SEED))
        for r in h.against_noop(2, seconds, [4, 32], script, rounds):
            ratios[int(r["connections"])] = r["ratio"]
            rows.append(
                f"| 2 | {r['connections']:.0f} | {r['rps']:.0f} | {r['noop_rps']:.0f} | {r['ratio'] * 100:.0f} % | "
                f"{r['p50']:.1f} | {r['p99']:.1f} | {r['noop_p99']:.1f} | {r['errors']:.0f} |"
            )
    return rows, ratios


def sparql(runs: int) -> list[str]:
    """(f): each query of queries/ over what the endpoint serves, in-process."""
    from reasoner import KnowledgeBase
    from reasoner.sparql.worker import queryable

    dataset = queryable(KnowledgeBase.load(ROOT))
    rows = ["| query | rows | median ms |", "|---|---|---|"]
    for path in sorted((ROOT / "queries").glob("*.rq")):
        text = path.read_text()
        count = len(list(dataset.query(text)))
        median, _ = _stats(lambda t=text: list(dataset.query(t)), runs)
        rows.append(f"| {path.name} | {count} | {median:.1f} |")
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs (for a smoke test, not for results)")
    parser.add_argument("--skip-http", action="store_true", help="leave out (e), which needs wrk")
    parser.add_argument("--output", type=Path, default=OUT)
    parser.add_argument("--child-kb", nargs=3, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--first", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child_kb is not None:
        n, root, cache = args.child_kb
        print(json.dumps(_child_kb(int(n), Path(root), Path(cache), args.first)))
        return 0
    quick = args.quick
    started = time.perf_counter()
    lines = [
        "# Benchmark results",
        "",
        "Written by `python -m bench` (do not edit by hand). Medians and p99 in milliseconds; ratios against",
        "a baseline measured in the same run.",
        "",
        f"- date: {dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- machine: {platform.machine()}, {len(os.sched_getaffinity(0))} cores, {platform.system()} "
        f"{platform.release()}, {platform.python_implementation()} {platform.python_version()}",
        "",
    ]
    rows, a = examples(runs=10 if quick else 30, naive_runs=1 if quick else 3)
    lines += ["## (a, b) One determination per example, prepared and naive", "", *rows, ""]
    lines += [
        f"Median over the examples: {a['median_ms']:.1f} ms prepared. Naive/prepared ratio: median "
        f"{a['ratio_median']:.0f}x, lowest {a['ratio_min']:.0f}x ({a['lowest']}); {a['at_least_100']:.0f} of "
        f"{a['compared']:.0f} at least 100x (goal: 100x). Both paths agree on every determination (identical,",
        "or the same status for each criterion the prepared path decides where values are unstated). Cases with no",
        "applicable guideline validate nothing on either path and are left out of these figures.",
        "",
    ]
    rows, c = kb_scale([0, 10] if quick else [0, 10, 50], runs=3 if quick else 5)
    lines += ["## (c) Knowledge base scale (bundled plus N generated policies; facet RFA example)", "", *rows, ""]
    lines += [
        f"Determination at the largest N / at N = 0: {c['det_ratio']:.2f}x (goal: at most 1.5x). Load at the largest",
        f"N / at N = 0 (issue 21's goal: at most 2x at N = 50): {c['cached_ratio']:.2f}x from the cache folder, what",
        f"every later process pays; {c['prepare_ratio']:.1f}x for the first load of the files, which prepares it",
        f"({c['load_last']:.2f} s; goal of issue 7: under 10 s); {c['cold_ratio']:.1f}x for a whole cold `determine`.",
        f"A knowledge base is used only if it lints clean: the lint at the largest N took {c['lint_last']:.2f} s, "
        "once per content of the files (remembered).",
        "",
    ]
    from bench.cold_start import measure as cold_start
    from bench.cold_start import table as cold_table

    lines += ["## Cold start: `guideline-reasoner determine` of the seed, new process (bench/cold_start.py)", ""]
    lines += [*cold_table(cold_start(3 if quick else 7, ["e1ba785", "e873713"])), ""]
    lines += [
        "Issue 21's goal: under 1 s, at least 5x faster than the cold start it measured (e1ba785, a lint verdict",
        "remembered). Each version runs on its own knowledge base, unchanged since its previous run.",
        "",
    ]
    from bench.edit_loop import table as edit_loop

    lines += ["## An author's edit loop: the first `determine` after an edit (bench/edit_loop.py)", ""]
    lines += [*edit_loop("27ffcbd", 1 if quick else 3, first=not quick), ""]
    lines += [
        "Issue 21: authors run a command after every edit. 27ffcbd is the tree before lint and the load remembered",
        "SHACL-for-SHACL shape by shape and owlrl's closures on disk; bench/README.md has what changed.",
        "",
    ]
    rows, d = case_scale([10, 100] if quick else [10, 100, 1000])
    lines += ["## (d) Case scale (facet RFA example with generated history)", "", *rows, ""]
    lines += [
        f"Largest / 10 items: {d['mixed']:.1f}x on the mixed history (goal of issue 7: 1,000 items at most 10x); "
        f"{d['whole']:.1f}x on the same cases with every",
        f"history fact in the graph; {d['relevant']:.1f}x on a history whose every item the policy reads (goal of "
        "issue 21: at most 10x; bench/README.md, issue 7, on (d), and issue 21).",
        "",
    ]
    from bench.parallel import parallel

    rows, p = parallel(3 if quick else 10)
    lines += ["## What the two cores give (in-process, seed case, one loop per process)", "", *rows, ""]
    lines += [
        f"Two processes together: {p['scaling']:.2f}x the determinations per second of one. HTTP",
        "throughput with 2 workers cannot exceed this however the server is built.",
        "",
    ]
    if not args.skip_http:
        if shutil.which("wrk") is None:
            raise SystemExit("wrk is not installed (Debian: apt-get install wrk); or pass --skip-http")
        rows, e = http(5 if quick else 15)
        lines += ["## (e) HTTP over loopback (wrk, 1 thread; 1, 4 and 32 open connections)", "", *rows, ""]
        name = "POST /determinations"
        lines += [
            "Goals: p99 under 50 ms and at least 200 determinations per second with 2 workers. With 2 workers and",
            f"4 connections: {e[f'{name}|2|4|rps']:.0f} per second, p99 {e[f'{name}|2|4|p99']:.1f} ms. With 32 "
            f"connections: {e[f'{name}|2|32|rps']:.0f} per second, p99 {e[f'{name}|2|32|p99']:.1f} ms, which is the "
            "queue (32 requests in flight wait for each other).",
            "",
        ]
        rows, ratios = http_floor(5 if quick else 10, rounds=1 if quick else 3)
        lines += ["### POST /determinations against a no-op route of the same server (bench/http.py)", "", *rows, ""]
        lines += [
            f"Issue 21's goal: at least 40 % of the no-op's throughput at 4 and 32 connections with 2 workers: "
            f"{ratios[4] * 100:.0f} % and {ratios[32] * 100:.0f} %.",
            "",
        ]
    lines += [
        "## (f) SPARQL queries of queries/ (in-process, over what /sparql serves)",
        "",
        *sparql(5 if quick else 20),
    ]
    from bench.hostile_input import BUDGET_CPU_S, BUDGET_MIB
    from bench.hostile_input import run as hostile_input

    rows = hostile_input(timeout=30, echo=False)
    lines += ["", "## (g) Hostile input (bench/hostile_input.py: one fresh process per payload)", "", *rows, ""]
    lines += [
        f"Budget: {BUDGET_CPU_S:.0f} s of CPU and {BUDGET_MIB} MiB for a payload, answered without a server error; "
        f"{sum(r.endswith('| yes |') for r in rows[2:])} of {len(rows) - 2} within it.",
    ]
    from bench.resilience import run as resilience
    from bench.responsiveness import run as responsiveness

    rows, held = resilience(seconds=15 if quick else 30, connections=8)
    lines += ["", "## (h) Serving under faults (bench/resilience.py, bench/responsiveness.py)", "", *rows, ""]
    lines += [
        "Goals (issue 13): a killed worker replaced within 5 s, at most the requests in flight lost; after a reload",
        f"returns, no answer from the old knowledge base. {'Held' if held else 'NOT held'} in this run.",
        "",
        *responsiveness(workers=1, probes=20 if quick else 50),
    ]
    lines += ["", f"Run time: {time.perf_counter() - started:.0f} s.", ""]
    args.output.write_text("\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())

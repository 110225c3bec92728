"""What keeping a determination adds over real HTTP: POST /determinations kept, against ?store=false.

One `guideline-reasoner serve` (one worker, an embedded store in a temporary folder) answers both;
wrk (one connection) posts the seed case with a new case id on every request, so that each is a
determination of its own, as in service. Two loads, in the same run, kept and not-kept runs
alternating:

- **paced** (a pause of ``--pause`` ms before each request, by a Lua delay): the server is idle
  between requests, so a request's latency is its own service time. This is the p50 issue 18
  bounds (at most 2 ms added): the server answers once the record, JSON and case are durable and
  writes the determination's RDF after the answer.
- **back to back** (the next request as soon as an answer arrives): a request also waits for the
  RDF of the one before it, so this measures what keeping costs in throughput.

The result for each load is the median of the kept runs' p50s minus the median of the others'.

    python -m bench.store_http [--seconds 8] [--rounds 3] [--pause 25]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.http import ROOT, SEED, _free_port, _parse, _wait, _wrk

LUA = """wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local template = io.open("{path}", "rb"):read("*a")
local n = 0
math.randomseed(os.time())
local run = math.random(1, 1000000000)
request = function()
  n = n + 1
  local body = template:gsub('"id"%s*:%s*"[^"]*"', '"id": "bench-' .. run .. '-' .. n .. '"', 1)
  return wrk.format(nil, nil, nil, body)
end
{delay}
"""


def main(argv: list[str] | None = None) -> int:
    """Print each run's p50 and what keeping adds under each load; exit 1 when the paced p50 grows by more than 2 ms."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pause", type=float, default=25.0, help="ms before each request of the paced load")
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (Debian: apt-get install wrk)")
    loads = {"paced": f"delay = function() return {args.pause:.1f} end", "back to back": ""}
    p50: dict[tuple[str, str], list[float]] = {}
    rps: dict[tuple[str, str], list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        scripts = {}
        for load, delay in loads.items():
            scripts[load] = Path(tmp) / f"{load.replace(' ', '-')}.lua"
            scripts[load].write_text(LUA.format(path=SEED, delay=delay))
        port = _free_port()
        exe = Path(sys.executable).with_name("guideline-reasoner")
        command = [str(exe), "serve", "--port", str(port), "--data", str(Path(tmp) / "data")]
        server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
        try:
            base = f"http://127.0.0.1:{port}"
            _wait(base + "/health")
            _wrk(["-c1", "-d3s"], scripts["back to back"], base + "/determinations")  # warm up
            print("| load | run | round | p50 ms | p99 ms | requests/s | non-2xx |\n|---|---|---|---|---|---|---|")
            for round_ in range(1, args.rounds + 1):
                for load in loads:
                    for name, path in (("kept", "/determinations"), ("not kept", "/determinations?store=false")):
                        out = _wrk(["-c1", f"-d{args.seconds}s", "--latency"], scripts[load], base + path)
                        r = _parse(out, 1)
                        p50.setdefault((load, name), []).append(r["p50"])
                        rps.setdefault((load, name), []).append(r["rps"])
                        print(
                            f"| {load} | {name} | {round_} | {r['p50']:.2f} | {r['p99']:.2f} | {r['rps']:.0f} "
                            f"| {r['errors']:.0f} |"
                        )
        finally:
            server.terminate()
            server.wait(30)
    added = {load: statistics.median(p50[load, "kept"]) - statistics.median(p50[load, "not kept"]) for load in loads}
    kept_share = statistics.median(rps["back to back", "kept"]) / statistics.median(rps["back to back", "not kept"])
    pause = f"{args.pause:g} ms before each request"
    print(f"paced ({pause}), keeping adds {added['paced']:.2f} ms to the p50 (issue 18: at most 2)")
    print(
        f"back to back, it adds {added['back to back']:.2f} ms (the RDF of the request before is written meanwhile): "
        f"{kept_share:.2f}x the requests/s not kept (medians of {args.rounds} runs each)"
    )
    return 0 if added["paced"] <= 2 else 1


if __name__ == "__main__":
    sys.exit(main())

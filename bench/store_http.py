"""What keeping a determination adds over real HTTP: POST /determinations kept, against ?store=false.

One `guideline-reasoner serve` (one worker, an embedded store in a temporary folder) answers both;
wrk (one connection, so a request's latency is its service time, no queueing) posts the seed case
with a new case id on every request, so that each is a determination of its own, as in service.
Kept and not-kept runs alternate, and the table gives each run's p50; the result is the median of
the kept runs' p50s minus the median of the others'. Issue 18 asks for at most 2 ms.

    python -m bench.store_http [--seconds 8] [--rounds 3] [--rate 0]

``--rate`` (requests per second, wrk2 style pacing by a Lua delay; 0: as fast as answered) leaves
the server idle between requests, where work done after a response would not be counted.
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
    """Print each run's p50 and what keeping adds; exit 1 when it adds more than 2 ms."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--rate", type=float, default=0.0, help="requests per second (0: back to back)")
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (Debian: apt-get install wrk)")
    delay = f"delay = function() return {1000 / args.rate:.1f} end" if args.rate else ""
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "post.lua"
        script.write_text(LUA.format(path=SEED, delay=delay))
        port = _free_port()
        exe = Path(sys.executable).with_name("guideline-reasoner")
        command = [str(exe), "serve", "--port", str(port), "--data", str(Path(tmp) / "data")]
        server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
        try:
            base = f"http://127.0.0.1:{port}"
            _wait(base + "/health")
            _wrk(["-c1", "-d3s"], script, base + "/determinations")  # warm up
            p50: dict[str, list[float]] = {"kept": [], "not kept": []}
            print("| run | round | p50 ms | p99 ms | requests/s | non-2xx |\n|---|---|---|---|---|---|")
            for round_ in range(1, args.rounds + 1):
                for name, path in (("kept", "/determinations"), ("not kept", "/determinations?store=false")):
                    r = _parse(_wrk(["-c1", f"-d{args.seconds}s", "--latency"], script, base + path), 1)
                    p50[name].append(r["p50"])
                    print(
                        f"| {name} | {round_} | {r['p50']:.2f} | {r['p99']:.2f} | {r['rps']:.0f} | {r['errors']:.0f} |"
                    )
        finally:
            server.terminate()
            server.wait(30)
    added = statistics.median(p50["kept"]) - statistics.median(p50["not kept"])
    print(f"keeping adds {added:.2f} ms to the p50 over HTTP (medians of {args.rounds} runs each; issue 18: at most 2)")
    return 0 if added <= 2 else 1


if __name__ == "__main__":
    sys.exit(main())

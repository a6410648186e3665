"""Count the instructions of the numba loop kernel calls only (callgrind), per JIT function and per instruction.

LOBSTER GOOG + AMZN 2012-06-21 level 1 (``../shared/data``), the two legs on one clock (`replay_legs`) or each
instrument alone, pure replay (``idle``) or ``mm``, the numba engine; the second of two runs in one process is
counted, and only inside the loop kernel calls (`NbEngine._entry`'s kernel, wrapped with
``CALLGRIND_START/STOP_INSTRUMENTATION`` from a small C shim built with ``gcc``)::

    python bench/callgrind_loop.py legs idle --out /tmp/cg      # then: single idle, legs mm, single mm
    python bench/callgrind_loop.py single queue_quote           # a kernel with the full context (single only)

writes ``cg_<mode>_<strategy>.out`` (callgrind, ``--dump-instr=yes``), ``ann_<mode>_<strategy>.txt`` (``run_l3``'s
machine code with each instruction's count per event) and prints the instructions per event by function.

valgrind cannot run AVX-512 code, so the kernels are compiled for ``NUMBA_CPU_NAME=znver3`` with this host's
features minus AVX-512 / GFNI / VAES / VPCLMULQDQ, once outside valgrind (``--features`` to override); valgrind then
loads that cache in seconds. The counts are exact and do not depend on the load; the machine code is close to, not
the same as, a normal run's (bench/JOURNAL.md, "legs7").
"""

from __future__ import annotations

import argparse
import bisect
import collections
import ctypes
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
EVENTS = 106_997  # GOOG + AMZN level 1 messages
# ``queue_quote``: the example strategy kernel with the full context (docs/examples/queue_quote.py)
QUEUE_QUOTE = str(HERE.parent / "docs" / "examples" / "queue_quote.py") + ":QueueQuoteNb"
QUEUE_QUOTE_PARAMS = {"size": 1, "max_position": 10, "k_pct": 50}
_SHIM = ("#include <valgrind/callgrind.h>\nvoid cg_start(void){ CALLGRIND_START_INSTRUMENTATION; }\n"
         "void cg_stop(void){ CALLGRIND_STOP_INSTRUMENTATION; }\n")


def _features() -> str:
    """This host's LLVM feature string without what valgrind cannot run."""
    import llvmlite.binding as llb

    out = []
    for f in llb.get_host_cpu_features().flatten().split(","):
        name = f[1:]
        out.append("-" + name if name.startswith("avx512") or name in ("gfni", "vaes", "vpclmulqdq") else f)
    return ",".join(out)


def _inner(mode: str, strategy: str, out: Path, shim: str) -> None:
    """Inside valgrind (or outside, to compile): two runs, the second counted; then the perf-style map of the JIT
    functions and the object holding ``run_l3``."""
    import perf_map

    perf_map.install()
    lib = ctypes.CDLL(shim)
    from hft.sim.engine_nb import driver

    on = [False]
    orig = driver.NbEngine._entry

    def entry(self):  # the kernel's entry, with the instrumentation switched on around it
        e, a = orig(self)
        if not on[0]:
            return e, a

        def counted(*x):
            lib.cg_start()
            try:
                return e(*x)
            finally:
                lib.cg_stop()
        return counted, a

    driver.NbEngine._entry = entry
    from _common import shared_data

    from hft.data.sources import open_market_data
    from hft.sim.portfolio import replay_legs
    from hft.sim.replay import ReplayConfig, build_engine
    from hft.sim.strategies import make_strategy
    from hft.sim.strategy import Strategy

    data = shared_data()
    mds = [open_market_data([data / "lobster" / f"LOBSTER_SampleFile_{s}_2012-06-21_1.zip"]) for s in ("GOOG", "AMZN")]
    params = {"size": 1} if strategy == "mm" else QUEUE_QUOTE_PARAMS if strategy == "queue_quote" else {}
    cfg = ReplayConfig(strategies={strategy: params} if strategy not in ("idle", "queue_quote") else {},
                       exchange="no_partial_fill", queue_model="risk_averse", engine="numba")
    spec = QUEUE_QUOTE if strategy == "queue_quote" else strategy

    def run() -> list[str]:
        new = (lambda: Strategy()) if strategy == "idle" else (lambda: make_strategy(spec, params))
        if mode == "legs":
            return [replay_legs(mds, new(), strategy, cfg)[0].run_hash]
        hashes = []
        for md in mds:
            eng, mult = build_engine(md, new(), strategy, cfg)
            hashes.append(eng.run(multiplier=mult).run_hash)
        return hashes

    run()
    on[0] = True
    t0 = time.perf_counter()
    print("counted run hashes", run(), f"{time.perf_counter() - t0:.1f} s", file=sys.stderr)
    on[0] = False
    perf_map.write_map()
    os.replace(f"/tmp/perf-{os.getpid()}.map", out / f"map_{mode}_{strategy}.txt")
    for buf in perf_map._OBJECTS:
        if b"run_l3" in buf:
            (out / f"obj_{mode}_{strategy}.o").write_bytes(buf)


def self_costs(path: Path) -> collections.Counter:
    """Self instruction counts by address of a ``--dump-instr=yes`` callgrind file (call costs skipped)."""
    cost: collections.Counter = collections.Counter()
    addr = 0
    skip = False
    with open(path) as fh:
        for ln in fh:
            c = ln[0]
            if c.isdigit() or c in "+-*":
                tok = ln.split()
                a = tok[0]
                addr = addr if a == "*" else addr + int(a, 0) if a[0] in "+-" else int(a, 0)
                if skip:
                    skip = False
                else:
                    cost[addr] += int(tok[-1])
            elif ln.startswith("calls="):
                skip = True  # the next line is the call's inclusive cost
    return cost


def _load_map(path: Path) -> list[tuple[int, int, str]]:
    rows = []
    for ln in path.read_text().splitlines():
        a, s, n = ln.split(maxsplit=2)
        rows.append((int(a, 16), int(s, 16), n.strip()))
    return sorted(rows)


def report(out: Path, mode: str, strategy: str, function: str = "hft.sim.engine_nb.loop.run_l3") -> None:
    """Print instructions per event by function; write `function`'s annotated machine code."""
    cost = self_costs(out / f"cg_{mode}_{strategy}.out")
    rows = _load_map(out / f"map_{mode}_{strategy}.txt")
    starts = [r[0] for r in rows]
    by: collections.Counter = collections.Counter()
    for a, c in cost.items():
        i = bisect.bisect_right(starts, a) - 1
        by[rows[i][2] if i >= 0 and a < rows[i][0] + rows[i][1] else "?"] += c
    print(f"{mode} {strategy}: {sum(cost.values()) / EVENTS:.1f} instructions per event")
    for f, c in by.most_common(12):
        print(f"  {c / EVENTS:9.1f}  {f}")
    base = next(r for r in rows if r[2] == function)
    obj = out / f"obj_{mode}_{strategy}.o"
    syms = subprocess.run(["objdump", "-t", str(obj)], capture_output=True, text=True).stdout.splitlines()
    off0, name = next((int(p[0], 16), p[-1]) for p in (s.split() for s in syms)
                      if len(p) >= 6 and p[3] in (".text", ".ltext") and int(p[4], 16) == base[1]
                      and not p[-1].startswith(("cpython", "cfunc")))
    dis = subprocess.run(["objdump", "-d", "--no-show-raw-insn", "-M", "intel", f"--disassemble={name}", str(obj)],
                         capture_output=True, text=True).stdout
    with open(out / f"ann_{mode}_{strategy}.txt", "w") as fh:
        for ln in dis.splitlines():
            m = re.match(r"\s+([0-9a-f]+):\s+(.*)", ln)
            if m:
                o = int(m.group(1), 16) - off0
                text = re.sub(r"<_Z[^>]*?(\+0x[0-9a-f]+)?>", lambda mm: "<" + (mm.group(1) or "") + ">", m.group(2))
                fh.write(f"{cost.get(base[0] + o, 0) / EVENTS:9.3f} {o:6x}  {text}\n")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("mode", choices=["legs", "single"])
    ap.add_argument("strategy", choices=["idle", "mm", "queue_quote"])
    ap.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "callgrind_loop")
    ap.add_argument("--features", default=None, help="NUMBA_CPU_FEATURES (default: the host's, valgrind-safe)")
    ap.add_argument("--inner", default=None, help=argparse.SUPPRESS)  # the shim's path: the run itself
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    sys.path.insert(0, str(HERE))
    if args.inner:
        _inner(args.mode, args.strategy, args.out, args.inner)
        return 0
    shim_c, shim = args.out / "cgshim.c", args.out / "cgshim.so"
    shim_c.write_text(_SHIM)
    subprocess.run(["gcc", "-O2", "-shared", "-fPIC", "-o", str(shim), str(shim_c)], check=True)
    env = {**os.environ, "NUMBA_CPU_NAME": "znver3", "NUMBA_CPU_FEATURES": args.features or _features()}
    me = [sys.executable, str(Path(__file__).resolve()), args.mode, args.strategy, "--out", str(args.out),
          "--inner", str(shim)]
    subprocess.run(me, env=env, check=True)  # compiles the kernels for that target (the shim's calls are no-ops)
    cg = args.out / f"cg_{args.mode}_{args.strategy}.out"
    subprocess.run(["valgrind", "-q", "--tool=callgrind", "--instr-atstart=no", "--dump-instr=yes",
                    f"--callgrind-out-file={cg}", *me], env=env, check=True, stdout=subprocess.DEVNULL)
    report(args.out, args.mode, args.strategy)
    return 0


if __name__ == "__main__":
    sys.exit(main())

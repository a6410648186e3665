"""Name numba's JIT frames for `perf`: a perf map (``/tmp/perf-<pid>.map``) of every numba function loaded from the
cache, read from the symbol tables of the cached object code — the functions numba compiled as calls (the loop
kernels, the venue's and the gateway's kernels, ...); what LLVM inlined counts towards its caller.

Profile the LOBSTER GOOG day's `mm` (the L3 comparison of `bench_sim.py`), set-up included, skipping the start-up::

    perf record -D 4000 -F 10000 -o /tmp/mm.data python bench/perf_map.py --runs 200
    perf report -i /tmp/mm.data --no-children --sort dso,sym

`install()` must run before numba loads its first cached function (it records each object file as numba hands
it to LLVM); `write_map()` writes the map at the end, while the process (and its JIT code) still exists.
"""

from __future__ import annotations

import argparse
import os
import struct
import sys
import time
from pathlib import Path

_OBJECTS: list[bytes] = []


def install() -> None:
    """Record the object code numba loads from its cache from now on (wraps its object-cache hook)."""
    from numba.core import codegen

    lib_class = codegen.CPUCodeLibrary
    orig = lib_class._object_getbuffer_hook.__func__

    def hook(cls, ll_module):  # numba's hook signature
        buf = orig(cls, ll_module)
        if buf:
            _OBJECTS.append(bytes(buf))
        return buf

    lib_class._object_getbuffer_hook = classmethod(hook)


def _elf_functions(buf: bytes) -> list[tuple[str, int, int, int]]:
    """(name, section index, value, size) of the function symbols of an ELF64 little-endian object file."""
    shoff = struct.unpack_from("<Q", buf, 0x28)[0]
    shentsize, shnum = struct.unpack_from("<HH", buf, 0x3A)
    secs = [struct.unpack_from("<IIQQQQIIQQ", buf, shoff + i * shentsize) for i in range(shnum)]
    out = []
    for sec in secs:
        if sec[1] != 2:  # SHT_SYMTAB
            continue
        strtab = secs[sec[6]][4]
        for k in range(sec[5] // 24):
            name, info, _, shndx, value, size = struct.unpack_from("<IBBHQQ", buf, sec[4] + k * 24)
            if info & 0xF == 2:  # STT_FUNC
                out.append((buf[strtab + name: buf.index(b"\0", strtab + name)].decode(), shndx, value, size))
    return out


def _demangle(name: str) -> str:
    """``hft.sim.engine_nb.loop.run_l3`` of numba's mangled ``_ZN3hft3sim...`` (the name itself otherwise)."""
    i = name.find("_ZN")
    if i < 0:
        return name
    s, parts = name[i + 3:], []
    while s[:1].isdigit():
        j = 0
        while s[j].isdigit():
            j += 1
        n = int(s[:j])
        parts.append(s[j:j + n])
        s = s[j + n:]
    prefix = name[:i] if name[:i] else ""
    return prefix + ".".join(parts) if parts else name


def write_map() -> int:
    """Write ``/tmp/perf-<pid>.map`` for the recorded objects; returns the number of functions named."""
    import numba.core.registry as registry

    engine = registry.cpu_target.target_context.codegen()._engine._ee
    entries: dict[int, tuple[int, str]] = {}
    for buf in _OBJECTS:
        funcs = _elf_functions(buf)
        base: dict[int, int] = {}
        for name, sec, value, _ in funcs:  # where each text section was loaded: any symbol the engine knows
            addr = engine.get_function_address(name)
            if addr:
                base.setdefault(sec, addr - value)
        for name, sec, value, size in funcs:
            if sec in base and size:
                entries[base[sec] + value] = (size, _demangle(name))
    with open(f"/tmp/perf-{os.getpid()}.map", "w") as fh:
        for addr in sorted(entries):
            size, name = entries[addr]
            fh.write(f"{addr:x} {size:x} {name}\n")
    return len(entries)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=200, help="LOBSTER GOOG mm runs (set-up included)")
    ap.add_argument("--strategy", default="mm", choices=["mm", "idle"])
    args = ap.parse_args(argv)
    install()
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _common import shared_data
    from bench_sim import LOBSTER_L3_FILE, PEER_MM_MAX_POSITION, _ours

    from hft.data.sources import open_market_data

    data = shared_data()
    if data is None:
        print("../shared/data not present", file=sys.stderr)
        return 1
    md = open_market_data([data / LOBSTER_L3_FILE])
    params = {"size": 1, "max_position": PEER_MM_MAX_POSITION} if args.strategy == "mm" else {}
    _ours(md, args.strategy, params)  # warm-up: loads the cached kernels
    t0 = time.perf_counter()
    for _ in range(args.runs):
        _ours(md, args.strategy, params)
    per_run = (time.perf_counter() - t0) / args.runs
    print(f"{args.runs} runs, {per_run * 1e3:.2f} ms per run; perf map: {write_map()} functions", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

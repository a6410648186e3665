"""Reading one decompressed Binance capture into message and level tables (`hft.data.binance` for the format
and the accepted lines): the numba scanner (`hft.data._binance_scan`) over the whole file, `json.loads`
(`hft.data._binance_json`) for each line it refuses, and the check that the two read alike."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hft.core.dtypes import BUY
from hft.core.errors import DataError, DataValidationError
from hft.core.selftest import target
from hft.data._binance_json import Reading, Refusal, SymbolMismatch, read_line, short
from hft.data._binance_scan import (
    _ABSENT,
    _C_N,
    _L_COLS,
    _M_COLS,
    _TYPE_NAMES,
    C_LINE,
    C_LVLS,
    C_MSGS,
    C_POS,
    L_PD,
    L_PM,
    L_QD,
    L_QM,
    L_SIDE,
    M_E,
    M_ID,
    M_LINE,
    M_LV0,
    M_NLV,
    M_POS,
    M_PU,
    M_SHAPE,
    M_T,
    M_TS,
    M_TYPE,
    M_U_FIRST,
    P_DONE,
    P_FULL,
    P_SYMBOL,
    SH_NONMARKET,
    SH_PS,
    T_SNAPSHOT,
    T_TRADE,
    _scan,
)
from hft.data._convert import row_place


@dataclass
class _Tables:
    msgs: np.ndarray
    lv: np.ndarray
    lines: int


class ScannerDisagreement(DataError):
    """The compiled scanner and `json.loads` read a line differently: a fault of the compiled kernel (its CPU target,
    numba, LLVM), not of the data. Names the line, both readings and the CPU target."""


def cpu_target() -> str:
    """The CPU target numba compiles for (`hft.core.selftest.target`)."""
    return target()


def _disagree(path: Path, line_no: int, json_reads: str, scanner: str) -> ScannerDisagreement:
    cpu = cpu_target()
    return ScannerDisagreement(
        f"{row_place(path, line_no)}: the compiled scanner and json.loads disagree on this line (a fault of the "
        f"scanner compiled for CPU target {cpu}, not of the data): json.loads reads {json_reads}; the scanner "
        f"{scanner}", file=str(path), line=line_no, cpu_target=cpu, json_reading=json_reads, scanner_reading=scanner,
        hint="compile for a baseline CPU: set NUMBA_CPU_NAME=x86-64-v2 (and an empty NUMBA_CACHE_DIR) and run the "
             "command again; please report this with the CPU target named")


def _dec_text(m: int, d: int) -> str:
    t = str(m).rjust(d + 1, "0") if d else str(m)
    return t[:-d] + "." + t[-d:] if d else t


def _describe(msg: Any, levels: Any) -> str:
    """A reading (a message row and its level rows) in one line: type, times, ids, the first levels."""
    typ = int(msg[M_TYPE])
    ident = {T_TRADE: "t", T_SNAPSHOT: "lastUpdateId"}.get(typ, "u")
    parts = [_TYPE_NAMES.get(typ, f"type {typ}"), f"ts {int(msg[M_TS])}"]
    parts += [f"{k} {int(msg[c])}" for c, k in ((M_E, "E"), (M_T, "T"), (M_U_FIRST, "U"), (M_ID, ident),
                                                 (M_PU, "pu")) if msg[c] != _ABSENT]
    shape = int(msg[M_SHAPE])
    parts += [name for bit, name in ((SH_PS, "ps"), (SH_NONMARKET, "X not MARKET")) if shape & bit]
    lv = [f"{'b' if int(r[L_SIDE]) == BUY else 'a'} {_dec_text(int(r[L_PM]), int(r[L_PD]))} "
          f"{_dec_text(int(r[L_QM]), int(r[L_QD]))}" for r in levels[:3]]
    more = ", …" if len(levels) > 3 else ""
    return " ".join(parts) + f", {len(levels)} level{'s' if len(levels) != 1 else ''} [{', '.join(lv)}{more}]"


_ROW_COLS = [M_TS, M_TYPE, M_E, M_T, M_U_FIRST, M_ID, M_PU, M_NLV, M_SHAPE]  # a reading's own columns


def _same(reading: Reading, msg: np.ndarray, levels: np.ndarray) -> bool:
    """Whether the scanner's rows of a line are the json reading's (positions, line and file aside)."""
    return ([int(msg[c]) for c in _ROW_COLS] == [reading.msg[c] for c in _ROW_COLS]
            and [tuple(int(x) for x in r) for r in levels] == reading.levels)


def _scan_alone(compact: bytes, sym: np.ndarray, line_no: int, n_levels: int) -> tuple[int, np.ndarray, np.ndarray]:
    """The scanner on one line alone: (status, its message rows, its level rows)."""
    msgs = np.zeros((1, _M_COLS), np.int64)
    lv = np.zeros((n_levels + 2, _L_COLS), np.int64)
    cnt = np.zeros(_C_N, np.int64)
    cnt[C_LINE] = line_no
    status = _scan(np.frombuffer(compact, dtype=np.uint8), len(compact), sym, msgs, lv, cnt)
    return status, msgs[: cnt[C_MSGS]], lv[: cnt[C_LVLS]]


def _agree(path: Path, line_no: int, reading: Reading, sym: np.ndarray) -> None:
    """The scanner must read the compact spelling of a line the json reader accepted into the same rows."""
    status, msgs, lv = _scan_alone(reading.compact, sym, line_no, len(reading.levels))
    if status == P_DONE and len(msgs) == 1 and _same(reading, msgs[0], lv):
        return
    if status == P_DONE and len(msgs) == 1:
        scanner = f"reads its compact form {short(reading.compact, 60)} as {_describe(msgs[0], lv)}"
    elif status == P_SYMBOL:
        scanner = f"finds another symbol than {bytes(sym).decode()} in its compact form {short(reading.compact, 60)}"
    else:
        scanner = f"refuses its compact form {short(reading.compact, 60)}"
    raise _disagree(path, line_no, _describe(reading.msg, reading.levels), scanner)


def _cross_check(path: Path, data: bytes, msgs: np.ndarray, lv: np.ndarray, symbol: str) -> None:
    """A sample of the lines the scanner read must read the same through json (the first 16, 16 spread over the
    file, the last, every snapshot): a miscompiled scanner that misreads stops the import, naming both readings."""
    n = len(msgs)
    rows = set(range(min(n, 16))) | set(range(0, n, max(1, n // 16))) | ({n - 1} if n else set())
    rows |= {int(j) for j in np.flatnonzero(msgs[:, M_TYPE] == T_SNAPSHOT)}
    for j in sorted(rows):
        pos = int(msgs[j, M_POS])
        eol = data.find(b"\n", pos)
        line = data[pos: eol if eol >= 0 else len(data)]
        levels = lv[msgs[j, M_LV0]: msgs[j, M_LV0] + msgs[j, M_NLV]]
        line_no = int(msgs[j, M_LINE])
        try:
            reading = read_line(line, symbol)
        except Refusal as exc:
            raise _disagree(path, line_no, f"nothing: it refuses the line ({exc.reason})",
                            f"reads it as {_describe(msgs[j], levels)}") from None
        if not _same(reading, msgs[j], levels):
            raise _disagree(path, line_no, _describe(reading.msg, reading.levels),
                            f"reads it as {_describe(msgs[j], levels)}")


def _scan_file(path: Path, data: bytes, sym: np.ndarray) -> _Tables:
    """Run the numba scanner over one decompressed file; a line it refuses is read through json (`read_line`):
    imported from that reading when the scanner reads the line's compact spelling the same, else
    `ScannerDisagreement`; a line json refuses too is a DataValidationError naming why. A sample of the lines the
    scanner read is read through json as well (`_cross_check`)."""
    buf = np.frombuffer(data, dtype=np.uint8)
    if re.search(rb"\S", data) is None:
        raise DataValidationError(f"{row_place(path, 1)}: expected capture lines, found an empty capture",
                                  file=str(path), line=1, expected="capture lines", found="no lines")
    symbol = bytes(sym).decode()
    # Upper bounds without a counting pass: a message line takes > 24 bytes, a level >= 10 bytes
    # (``["1","1"],``). np.empty is mapped lazily, so only the rows written cost memory; P_FULL grows anyway.
    # Rows past the counts are never read (the tables are cut to them below).
    msgs = np.empty((len(data) // 24 + 8, _M_COLS), dtype=np.int64)
    lv = np.empty((len(data) // 10 + 8, _L_COLS), dtype=np.int64)
    cnt = np.zeros(_C_N, dtype=np.int64)
    cnt[C_LINE] = 1
    end = len(buf)
    while True:
        status = _scan(buf, end, sym, msgs, lv, cnt)
        if status == P_DONE:
            break
        if status == P_FULL:
            msgs = np.concatenate([msgs, np.empty_like(msgs)])
            lv = np.concatenate([lv, np.empty_like(lv)])
            continue
        pos, line_no = int(cnt[C_POS]), int(cnt[C_LINE])
        eol = data.find(b"\n", pos)
        eol = end if eol < 0 else eol
        line = data[pos:eol]
        if status != P_SYMBOL and not line.strip() and eol == end:
            break  # trailing whitespace at the end of the file
        try:
            reading = read_line(line, symbol, compact=True)
        except SymbolMismatch as exc:  # the scanner found it too, or refused the line: both say another symbol
            raise DataValidationError(f"{row_place(path, line_no)}: {exc.reason}", file=str(path), line=line_no,
                                      key=exc.key, expected=exc.expected, found=exc.found) from None
        except Refusal as exc:
            if status == P_SYMBOL:  # the scanner took the line's shape, json did not
                raise _disagree(path, line_no, f"nothing: it refuses the line ({exc.reason})",
                                f"reads a message of another symbol than {symbol}") from None
            raise DataValidationError(f"{row_place(path, line_no)}: {exc.reason}", file=str(path), line=line_no,
                                      key=exc.key, expected=exc.expected, found=exc.found) from None
        if status == P_SYMBOL:
            raise _disagree(path, line_no, _describe(reading.msg, reading.levels),
                            f"finds another symbol than {symbol} in it")
        _agree(path, line_no, reading, sym)
        n, k, m = int(cnt[C_MSGS]), int(cnt[C_LVLS]), len(reading.levels)
        if n >= len(msgs):
            msgs = np.concatenate([msgs, np.empty_like(msgs)])
        if k + m > len(lv):
            lv = np.concatenate([lv, np.empty((max(m, len(lv)), _L_COLS), dtype=np.int64)])
        msgs[n] = reading.msg
        msgs[n, M_LINE], msgs[n, M_LV0], msgs[n, M_POS] = line_no, k, pos
        if m:
            lv[k: k + m] = reading.levels
        cnt[C_MSGS], cnt[C_LVLS] = n + 1, k + m
        cnt[C_POS], cnt[C_LINE] = eol + 1, line_no + 1
    msgs, lv = msgs[: cnt[C_MSGS]], lv[: cnt[C_LVLS]]
    _cross_check(path, data, msgs, lv, symbol)
    return _Tables(msgs, lv, int(cnt[C_LINE]) - 1)

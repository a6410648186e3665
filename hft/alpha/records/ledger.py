"""The promotion record: every promotion step, hash-chained in the audit store; the YAML is a view of it.

A promotion YAML (`hft.alpha.governance.promotion`) is a file anyone with write access can edit. The record of truth is
the audit store: each step of a promotion — ``promote``, a ``retire`` when superseded, every canary decision —
writes its audit row (``audit.alpha_promotions`` / ``audit.alpha_canary_decisions``) with

* ``promotion_id`` — ``YYYYMMDD/<alpha_id>``, the promotion file's date folder and name;
* ``record`` — the whole promotion document after the step (canonical JSON: sorted keys, no NaN);
* ``prev_hash`` — the ``record_hash`` of the promotion's previous step (``""`` for ``promote``);
* ``record_hash`` — BLAKE2b-128 of ``prev_hash`` and ``record``.

Before a step is taken, the file is checked against the chain (`verified`): the chain must start at one
``promote`` row, link without a gap or a fork, every hash must recompute, and the file must equal the last
record. A file that differs is refused with a `GovernanceError` naming the first field that differs
(``approvers``, ``evidence.forced``, ``history[2].run_id`` …). A file equal to an *earlier* record is a view
left behind (the step was recorded, then the process stopped before writing the file): it is rewritten from
the record. A file with no record at all is refused (forged, or written before the record existed).

The row is written first (WAL first, then the store), the file after: a step that was not recorded never
shows in a file.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from hft.alpha.governance.promotion import parse_promotion, write_promotion
from hft.alpha.records.experiments import sql_literal
from hft.alpha.records.sink import AuditSink
from hft.core.errors import GovernanceError

__all__ = ["CHAIN_TOPICS", "Verified", "canonical", "chain_fields", "checked", "first_difference", "inspect",
           "promotion_id", "read_chain", "read_chains", "record_hash", "verified"]

CHAIN_TOPICS = ("audit.alpha_promotions", "audit.alpha_canary_decisions")

ChainReader = Callable[[str], list[dict[str, Any]]]


def promotion_id(p: Any) -> str:
    """``YYYYMMDD/<alpha_id>`` of a `Promotion`."""
    return f"{p.date}/{p.alpha_id}"


def canonical(doc: dict[str, Any]) -> str:
    """Canonical JSON of a promotion document (sorted keys, compact; NaN is refused: documents carry None)."""
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), allow_nan=False, ensure_ascii=False)


def record_hash(prev_hash: str, record: str) -> str:
    """BLAKE2b-128 (hex) of the previous step's hash and this step's record."""
    h = hashlib.blake2b(digest_size=16)
    h.update(prev_hash.encode())
    h.update(b"\n")
    h.update(record.encode())
    return h.hexdigest()


def chain_fields(p: Any, prev_hash: str) -> dict[str, str]:
    """The chain columns of the audit row of a step that leaves promotion `p` (a `Promotion`)."""
    rec = canonical(p.to_dict())
    return {"promotion_id": promotion_id(p), "prev_hash": prev_hash, "record_hash": record_hash(prev_hash, rec),
            "record": rec}


def head_hash(pid: str, reader: ChainReader) -> str:
    """The hash of the last step recorded for promotion `pid` ("" when there is none): where a new promote step
    of that promotion id links. A second promotion of an alpha on one day (its first file gone: removed by hand, or
    the demo's fresh lifecycle) thus continues the day's record instead of starting a second chain beside it,
    which every later read would refuse as a fork.

    Raises:
        GovernanceError: the recorded chain is broken or forked (see `verified`).
    """
    rows = reader(pid)
    return _order(pid, rows, pid)[-1]["record_hash"] if rows else ""


def read_chain(pid: str, *, sink: AuditSink) -> list[dict[str, Any]]:
    """Chain rows ``{promotion_id, prev_hash, record_hash, record}`` of promotion `pid` from `sink`'s store (both
    tables), after loading whatever the audit WAL still holds."""
    return read_chains(pid, sink=sink).get(pid, [])


def read_chains(pid: str | None = None, *, sink: AuditSink) -> dict[str, list[dict[str, Any]]]:
    """Chain rows of promotion `pid` (every promotion when None), by promotion id; one store query."""
    where = "record_hash != ''" + (f" AND promotion_id = {sql_literal(pid)}" if pid is not None else "")
    sql = " UNION ALL ".join(f"SELECT promotion_id, prev_hash, record_hash, record FROM {t} WHERE {where}"
                             for t in CHAIN_TOPICS)
    rows = sink.query(sql)
    out: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        out.setdefault(r["promotion_id"], []).append(r)
    return out


@dataclass(frozen=True)
class Verified:
    """The outcome of `verified`: the record's promotion document, its hash, and whether the file was a stale
    view of an earlier step."""
    doc: dict[str, Any]
    head_hash: str
    stale: bool


def _order(pid: str, rows: list[dict[str, Any]], file: str) -> list[dict[str, Any]]:
    """The chain from the promote row to the last step; GovernanceError for a broken, forked or gapped chain."""
    by_prev: dict[str, list[dict[str, Any]]] = {}
    seen: set[str] = set()
    for r in rows:
        if r["record_hash"] in seen:
            continue  # the same row loaded twice
        seen.add(r["record_hash"])
        if record_hash(r["prev_hash"], r["record"]) != r["record_hash"]:
            raise GovernanceError(f"audit store: promotion {pid}: expected record hash "
                                  f"{record_hash(r['prev_hash'], r['record'])}, was {r['record_hash']} (a record "
                                  f"was altered)", key="record_hash", file=file)
        by_prev.setdefault(r["prev_hash"], []).append(r)
    out, prev = [], ""
    while prev in by_prev:
        nxt = by_prev[prev]
        if len(nxt) > 1:
            raise GovernanceError(f"audit store: promotion {pid}: expected one step after {prev or 'the start'}, "
                                  f"found {len(nxt)} (a forked record)", key="prev_hash", file=file)
        out.append(nxt[0])
        prev = nxt[0]["record_hash"]
    if len(out) != len(seen):
        raise GovernanceError(f"audit store: promotion {pid}: expected every step linked to the promote step, "
                              f"{len(seen) - len(out)} are not", key="prev_hash", file=file)
    return out


def first_difference(want: Any, have: Any, path: str = "") -> tuple[str, Any, Any] | None:
    """The first field path where two JSON-like documents differ, with both values; None when equal."""
    if isinstance(want, dict) and isinstance(have, dict):
        for k in list(have) + [k for k in want if k not in have]:  # in the order of the file's document
            sub = f"{path}.{k}" if path else str(k)
            if k not in want or k not in have:
                return sub, want.get(k), have.get(k)
            d = first_difference(want[k], have[k], sub)
            if d is not None:
                return d
        return None
    if isinstance(want, list) and isinstance(have, list):
        if not any(isinstance(x, dict | list) for x in want + have):  # a list of values differs as a whole
            return None if want == have else (path, want, have)
        for i in range(max(len(want), len(have))):
            if i >= len(want) or i >= len(have):
                return f"{path}[{i}]", want[i] if i < len(want) else None, have[i] if i < len(have) else None
            d = first_difference(want[i], have[i], f"{path}[{i}]")
            if d is not None:
                return d
        return None
    return None if want == have else (path, want, have)


def inspect(p: Any, rows: list[dict[str, Any]]) -> tuple[dict[str, Any] | None, bool, str | None]:
    """``(the record's last document or None, stale, error message or None)`` of promotion `p` against its chain
    `rows` — `verified` without raising (for listings: `hft alpha status`)."""
    try:
        v = verified(p, lambda _pid: rows)
    except GovernanceError as exc:
        doc = None
        with contextlib.suppress(GovernanceError):
            doc = json.loads(_order(promotion_id(p), rows, str(p.file))[-1]["record"]) if rows else None
        return doc, False, exc.message
    return v.doc, v.stale, None


def verified(p: Any, reader: ChainReader) -> Verified:
    """Check promotion `p` (as read from its file) against its record in the audit store (`reader`: the
    promotion's chain rows, `read_chain` on a sink).

    Returns the record's last document (`Verified.stale` when the file equals an earlier step: a view left
    behind, to be rewritten from the record).

    Raises:
        GovernanceError: no record of the promotion, a broken chain, or a file that differs from the record
            (naming the first field that differs).
    """
    pid = promotion_id(p)
    file = str(p.file) if p.file else pid
    rows = reader(pid)
    if not rows:
        raise GovernanceError(f"{file}: expected a promotion recorded in the audit store (promotion {pid}), found "
                              f"no record: the file was not written by `hft alpha promote`", key="promotion_id",
                              file=file, hint="promote the alpha again (hft alpha promote); do not write promotion "
                                              "files by hand")
    chain = _order(pid, rows, file)
    have = json.loads(json.dumps(p.to_dict(), allow_nan=False))  # JSON types, the document's key order
    docs = [json.loads(r["record"]) for r in chain]
    if have == docs[-1]:
        return Verified(docs[-1], chain[-1]["record_hash"], False)
    if any(have == d for d in docs[:-1]):
        return Verified(docs[-1], chain[-1]["record_hash"], True)
    where, want, found = first_difference(docs[-1], have) or ("", None, None)
    raise GovernanceError(f"{file}: key '{where}': expected {want!r} (the audit store's record "
                          f"{chain[-1]['record_hash'][:12]}), was {found!r}: the promotion file differs from its "
                          f"record", key=where, file=file,
                          hint="promotion files are written by hft only (`hft alpha status` shows the record); "
                               "promote again to change a promotion")


def checked(p: Any, reader: ChainReader) -> tuple[Any, str]:
    """``(the promotion as recorded, the hash of its last step)`` for promotion `p` read from its file; a file
    left behind by an earlier step (`Verified.stale`) is rewritten from the record first.

    Raises:
        GovernanceError: see `verified`.
    """


    v = verified(p, reader)
    rec = replace(parse_promotion(v.doc, p.file), file=p.file)
    if v.stale and p.file:
        write_promotion(rec, p.file)
    return rec, v.head_hash


"""The binary TCP intake's answers, byte for byte, pinned against the behaviour of 1571340 (before the intake
path was reworked per batch): a fresh server fed fixed pipelined writes (clean runs, refused, denied, duplicate,
durable frames and cancels) must answer with the same bytes, apart from each DECISION's ``ts`` (the wall
clock), journal the same commands and reports at the loopback venue and write the same WAL records (decisions,
reports, fills; their times and record ids aside).

DECISION frames come back in decision order and ERROR frames in frame order, but an ERROR may overtake queued
decisions (docs/live.md), so each kind's stream is pinned on its own. The digests were taken on the unchanged
tree with this same test (``HFT_PIN_PRINT=1`` prints them).
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import struct

import numpy as np
from svckit import token

from hft.live import frames as F
from hft.live import order_ids
from hft.live.client import TcpOrderClient
from hft.recorder.reader import iter_records

_DEC = F.DECISION_FRAME.itemsize
PINNED = {  # sha256[:16] of each stream, taken at 1571340; sim.orders / sim.fills re-pinned when reports and fills
    # gained fee_frac (issue 51: exact fees; the frames carry the new column, the answers did not move);
    # audit.gateway_decisions re-pinned when pin-0's retry became an exact one (issue 52: a key retried with another
    # request is 409 KEY_REUSED): its duplicate decision records the retry's side and price, its answer is unchanged;
    # audit.gateway_decisions and sim.orders re-pinned when their rows gained columns (issue 54: a report's liquidity
    # and queue, a stop's trigger; then a GTD order's expiry and an iceberg's display; then a trailing stop's trail;
    # then an OCO link and a bracket's parent): without those columns both digests were the old pins (checked each
    # time), the answers and the journal did not move
    "d1": "9633fea377fb26b1", "e1": "60ff8502a63cc409", "d2": "17d8cda30bc532eb", "e2": "e3b0c44298fc1c14",
    "journal": "0d70a6a4fc064f79", "audit.gateway_decisions": "fc84664d8d484fa2", "sim.orders": "318be97413f9ae21",
    "sim.fills": "3c33124dc30fdd16"}



def _frames(c: TcpOrderClient, n: int, sock: socket.socket) -> tuple[bytes, bytes]:
    """Read `n` answer frames off the socket as raw bytes: (DECISION frames with ts zeroed, ERROR frames)."""
    buf = bytearray(c.buf)
    dec, err = bytearray(), bytearray()
    got = 0
    while got < n:
        while len(buf) >= 4:
            (length,) = struct.unpack_from("<I", buf)
            if len(buf) < 4 + length:
                break
            fr = bytes(buf[:4 + length])
            del buf[:4 + length]
            got += 1
            if fr[4] == F.DECISION:
                assert len(fr) == _DEC
                a = np.frombuffer(fr, F.DECISION_FRAME).copy()
                a["a"]["ts"] = 0
                dec += a.tobytes()
            else:
                err += fr
        if got < n:
            chunk = sock.recv(1 << 16)
            assert chunk, "the server closed the connection"
            buf += chunk
    assert not buf
    return bytes(dec), bytes(err)


def _write_one(c: TcpOrderClient) -> int:
    """The first pipelined write: 40 clean orders with refused, denied, duplicate, durable frames and an unknown
    cancel among them. Returns the frames queued."""
    n = 0

    def new(coid: str, **kw) -> None:
        nonlocal n
        a = {"account": "ACC1", "strategy": "mm1", "symbol": "AAPL", "side": "buy", "qty": 1, "price": 9990, **kw}
        c.send_new(coid, a.pop("account"), a.pop("strategy"), a.pop("symbol"), a.pop("side"), a.pop("qty"),
                   a.pop("price"), **a)
        n += 1

    for i in range(40):
        new(f"pin-{i}", side="buy" if i % 2 else "sell", price=9990 if i % 2 else 10010, qty=1 + i % 3)
        if i == 5:
            new("pin-q0", qty=0)
        if i == 9:
            new("pin-sym", symbol="ZZZ")
        if i == 11:
            new("pin-msft", symbol="MSFT", price=101)
        if i == 13:
            new("pin-acct", account="ACC2", strategy="mm2")
        if i == 17:
            new("pin-nokey", durable=True)
        if i == 21:
            new("pin-0", side="sell", price=10010)  # an exact retry of pin-0: its original decision (200)
        if i == 25:
            new("pin-tick", price=10001)  # off AAPL's tick multiple: denied (422)
        if i == 27:
            new("pin-big", qty=5000)  # over max_order_qty: denied
        if i == 29:
            new("pin-durable", durable=True, idempotency_key="pin-k")
        if i == 31:
            new("pin-side", side="sell", price=0)  # bad price: 400
        if i == 33:
            c.send_cancel(987654321, "pin-cx")  # unknown order: 404
            n += 1
    return n


def test_tcp_answers_are_byte_identical_to_the_pinned_behaviour(server_factory):
    srv = server_factory("--tcp-port", "0").start()
    tok = token(accounts=("ACC1",), strategies=("mm1",))
    with TcpOrderClient("127.0.0.1", srv.tcp_port(), tok, reports=False) as c:  # answers only, as pinned
        n = _write_one(c)
        c.flush()
        d1, e1 = _frames(c, n, c.sock)
        first = np.frombuffer(d1, F.DECISION_FRAME)["a"]
        # the second write: retries of the first (duplicates), a durable retry, cancels of decided orders
        for i in range(0, 40, 4):
            c.send_new(f"pin-{i}", "ACC1", "mm1", "AAPL", "sell" if i % 2 == 0 else "buy", 1 + i % 3,
                       10010 if i % 2 == 0 else 9990)
        c.send_new("pin-durable", "ACC1", "mm1", "AAPL", "buy", 1, 9990, durable=True, idempotency_key="pin-k")
        for oid in first["order_id"][first["accepted"] == 1][:3].tolist():
            c.send_cancel(oid, f"cx-{oid}")
        c.send_new("pin-last", "ACC1", "mm1", "AAPL", "buy", 2, 9990)
        c.flush()
        d2, e2 = _frames(c, 10 + 1 + 3 + 1, c.sock)
    srv.stop()
    journal = (srv.home / "wal" / "gateway-live-venue.jsonl").read_bytes()
    wal: dict[str, list] = {}
    ids: list[tuple[str, int]] = []  # the order ids' reservation (issue 52): beside the pinned streams
    for topic, rec in iter_records(srv.home / "wal" / "gateway-live"):
        if rec.get("source") in order_ids.SOURCES:
            ids.append((rec["source"], rec["order_id"]))
            continue
        wal.setdefault(topic, []).append({k: v for k, v in rec.items()
                                          if k not in ("ts", "recv_ts", "exch_ts", "record_id")})
    top = max(r["order_id"] for r in wal["audit.gateway_decisions"])
    # a block ahead of the first step's ids, then lowered to the highest id given at the clean stop
    assert [s for s, _ in ids] == [order_ids.RESERVE] * 2 and 1 <= ids[0][1] - order_ids.BLOCK <= top, ids
    assert ids[1][1] == top, ids
    assert min(len(wal.get(t, ())) for t in ("audit.gateway_decisions", "sim.orders", "sim.fills")) > 0
    got = {k: hashlib.sha256(v).hexdigest()[:16] for k, v in
           (("d1", d1), ("e1", e1), ("d2", d2), ("e2", e2), ("journal", journal),
            *((t, json.dumps(wal.get(t), sort_keys=True, default=str).encode())
              for t in ("audit.gateway_decisions", "sim.orders", "sim.fills")))}
    if os.environ.get("HFT_PIN_PRINT"):
        print(got, len(d1) // _DEC, len(e1), len(d2) // _DEC, len(e2), len(journal))
    assert got == PINNED

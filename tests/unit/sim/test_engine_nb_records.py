"""The numba engine's rows are laid out from the record declarations (issue 53): the kernel heap's payloads (a
command, a venue report), the order and fill rows and the logs' int64 words. A field added to a declaration moves
the columns by itself; a push or a word kernel that disagrees with its declaration fails here."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

from hft.core import orders as O
from hft.core.records import Field
from hft.sim.engine_nb import logs
from hft.sim.engine_nb import order_path as P
from hft.sim.engine_nb import state as S
from hft.sim.run_records import EQUITY, FILL_LOG, FILL_LOG_DTYPE, ORDER_LOG, ORDER_LOG_DTYPE


def _payload(push) -> tuple[str, ...]:
    params = tuple(inspect.signature(push.py_func).parameters)
    assert params[:4] == ("h", "st", "t", "prio")
    return params[4:]


def test_the_pushes_take_their_records_fields_in_declared_order() -> None:
    # the report's payload is every field of the venue report, in order: a field added there must be a parameter
    assert _payload(P.heap_push_rep) == S.HEAP_REP.names == O.VENUE_REPORT.names
    # a command's: its fields, then its optional fields as one tuple (`opt`), in declared order
    assert _payload(P.heap_push_cmd) == (*S.HEAP_CMD.names[:-O.N_OPT], "opt")
    assert S.HEAP_CMD.names[-O.N_OPT:] == O.OPTION_NAMES
    assert all(f is O.COMMAND.field(f.name) for f in S.HEAP_CMD.fields)


def test_the_heap_columns_are_the_declarations() -> None:
    head = ("t", "prio", "seq", "type")
    assert S.HEAP_HEAD.names == head and (S.H_T, S.H_P, S.H_SEQ, S.H_TYPE) == (0, 1, 2, 3) and S.H_PAY == 4
    assert S.H_COLS == 4 + max(len(O.VENUE_REPORT.fields), len(S.HEAP_CMD.fields)) == 17
    cmd = {"action": S.HC_ACTION, "order_id": S.HC_OID, "side": S.HC_SIDE, "price": S.HC_PRICE, "qty": S.HC_QTY,
           "order_type": S.HC_ORDER_TYPE, "tif": S.HC_TIF, "trigger": S.HC_TRIGGER, "expire": S.HC_EXPIRE,
           "display": S.HC_DISPLAY, "trail": S.HC_TRAIL, "oco": S.HC_OCO, "parent": S.HC_PARENT}
    assert [cmd[n] - S.H_PAY for n in S.HEAP_CMD.names] == list(range(len(cmd)))
    rep = {"ts": S.HR_TS, "order_id": S.HR_OID, "price": S.HR_PRICE, "qty": S.HR_QTY, "leaves": S.HR_LEAVES,
           "fee": S.HR_FEE, "fee_frac": S.HR_FEE_FRAC, "kind": S.HR_KIND, "liquidity": S.HR_LIQ, "queue": S.HR_QUEUE}
    assert [rep[n] - S.H_PAY for n in O.VENUE_REPORT.names] == list(range(len(rep)))


def test_a_pushed_item_is_its_record_in_declared_order() -> None:
    """Through the pushes themselves: a venue report row pushed by position (as the driver pushes one) is the
    heap row's payload in the record's order; a command pushed by name lands in `HEAP_CMD`'s order."""
    h = np.full((4, S.H_COLS), -7, dtype=np.int64)
    st = np.zeros(S.N_STATE, dtype=np.int64)
    rep = np.zeros(1, O.VENUE_REPORT_DTYPE)
    for k, n in enumerate(O.VENUE_REPORT.names):
        rep[n] = 11 + k
    assert P.heap_push_rep(h, st, 50, 2, *rep[0].tolist())
    assert h[0, :S.H_PAY].tolist() == [50, 2, 0, S.IT_REP]
    assert h[0, S.H_PAY:S.H_PAY + len(O.VENUE_REPORT.fields)].tolist() == list(rep[0].item())
    cmd = {"action": O.CMD_NEW, "order_id": 901, "side": -1, "price": 1234, "qty": 5,
           "order_type": O.ORDER_STOP_LIMIT, "tif": O.TIF_GTD, "trigger": 1240, "expire": 77, "display": 3,
           "trail": 4, "oco": 899, "parent": 898}
    opt = O.order_options(**{n: cmd[n] for n in O.OPTION_NAMES})
    args = {n: v for n, v in cmd.items() if n not in O.OPTION_NAMES}
    assert P.heap_push_cmd(h, st, 40, 1, **args, opt=opt)  # earlier: it becomes the heap's first item
    assert h[0, :S.H_PAY].tolist() == [40, 1, 1, S.IT_CMD] and st[S.S_NH] == 2 and st[S.S_SEQ] == 2
    assert h[0, S.H_PAY:S.H_PAY + len(cmd)].tolist() == [cmd[n] for n in S.HEAP_CMD.names]
    full = np.zeros((1, S.H_COLS), dtype=np.int64)
    st[S.S_NH] = 1
    assert not P.heap_push_cmd(full, st, 1, 1, **args, opt=opt) and st[S.S_NH] == 1


def test_the_order_and_fill_rows_are_their_logs() -> None:
    cols = {n: getattr(S, "OR_" + {"order_id": "OID"}.get(n, n.upper())) for n in ORDER_LOG.names}
    assert list(cols.values()) == list(range(S.O_COLS))
    short = {"order_id": "OID", "liquidity": "LIQ"}
    cols = {n: getattr(S, "FR_" + short.get(n, n.upper())) for n in FILL_LOG.names}
    assert list(cols.values()) == list(range(S.F_COLS))
    cols = {n: getattr(S, "EQ_" + n.upper()) for n in EQUITY.names}
    assert list(cols.values()) == list(range(S.EQ_COLS))


def test_the_word_layouts_are_derived_from_the_dtypes() -> None:
    assert logs._word_layout(ORDER_LOG_DTYPE) == (4, ("action", "side", "order_type", "tif"), (0, 8, 16, 24),
                                                  (255,) * 4)
    assert logs._word_layout(FILL_LOG_DTYPE) == (8, ("side", "kind", "liquidity"), (0, 8, 16), (255,) * 3)
    # a narrow field added to the fill log: its bytes in the last word (an int16: at its aligned offset, byte 4)
    venue = Field("venue", "i2", "code", "the venue", since=2)
    grown = FILL_LOG.layout("fill_log", (*FILL_LOG.names, "venue"), (venue,))
    n64, narrow, shifts, masks = logs._word_layout(grown.dtype)
    assert (n64, narrow[-1], shifts[-1], masks[-1]) == (8, "venue", 32, 0xFFFF)
    # an int64 field after the narrow ones is not the word layout: the import would fail, naming it
    bad = np.dtype([("ts", "<i8"), ("kind", "i1"), ("qty", "<i8")], align=True)
    with pytest.raises(ImportError, match="field qty"):
        logs._word_layout(bad)


def test_the_kernel_intent_columns_are_the_declaration() -> None:
    """The intent rows strategy kernels write: `KERNEL_INTENT`'s fields are `put_intent`'s parameters and the `IN_*`
    columns every reader uses; the five a user's kernel writes keep their documented numbers (docs/extending.md,
    `hft.sim.kernel_api`: kernels may have them as 0 to 4), the order type, TIF and a new order's optional fields
    appended after the leg (exported by name), the kinds their codes, the width its fourteen columns."""
    from hft.sim import kernel_api
    from hft.sim.engine_nb import strategy_kernels as K

    params = tuple(inspect.signature(K.put_intent.py_func).parameters)
    assert params[:2] == ("intents", "n") and params[2:] == S.KERNEL_INTENT.names
    cols = {n: getattr(S, "IN_" + n.upper()) for n in S.KERNEL_INTENT.names}
    assert list(cols.values()) == list(range(S.IN_COLS)) == list(range(14))
    assert S.KERNEL_INTENT.names[-O.N_OPT:] == O.OPTION_NAMES and S.IN_OPT == S.IN_COLS - O.N_OPT
    assert (S.IN_KIND, S.IN_SIDE, S.IN_PRICE, S.IN_QTY, S.IN_ORDER_ID) == (0, 1, 2, 3, 4)
    assert (S.IN_SUBMIT, S.IN_CANCEL) == (O.INTENT_NEW, O.INTENT_CANCEL) == (1, 2)
    for n in ("kind", "side", "price", "qty", "order_id", "order_type", "tif", *O.OPTION_NAMES):  # the intent's
        assert S.KERNEL_INTENT.field(n) is O.INTENT.field(n)
    assert S.KERNEL_INTENT.field("leg") is S.DECISION_ROW.field("leg")
    assert all(getattr(kernel_api, f"IN_{n.upper()}") == cols[n] for n in ("kind", "side", "price", "qty", "order_id",
                                                                           "order_type", "tif", *O.OPTION_NAMES))
    # through the kernel itself: each value lands in its field's column
    intents = np.zeros((S.MAX_INTENTS, S.IN_COLS), dtype=np.int64)
    vals = {n: 100 + k for k, n in enumerate(S.KERNEL_INTENT.names)}
    assert K.put_intent(intents, 3, **vals) == 4
    assert {n: int(intents[3, c]) for n, c in cols.items()} == vals and not intents[[0, 1, 2, 4]].any()


def test_the_gateway_working_order_rows_are_their_declaration() -> None:
    from hft.gateway import kernels as GK

    assert GK.WORKING_ORDER.names == ("order_id", "account", "strategy", "symbol", "status")
    cols = {"order_id": GK.WO_ORDER_ID, "account": GK.WO_ACCOUNT, "strategy": GK.WO_STRATEGY,
            "symbol": GK.WO_SYMBOL, "status": GK.WO_STATUS}
    assert [cols[n] for n in GK.WORKING_ORDER.names] == list(range(GK.WO_COLS))
    assert all(GK.WORKING_ORDER.field(n) is O.DECISION.field(n) for n in ("order_id", "account", "strategy", "symbol"))


def test_the_risk_read_out_rows_are_their_declarations() -> None:
    """`kernels.submit_buckets` / `margin_state` write the rows the metrics read, by `SUBMIT_BUCKET` /
    `MARGIN_STATE`'s columns (tests/unit/gateway/test_gw_rate_windows.py and test_gw_buying_power.py read the
    series they make)."""
    from hft.gateway import kernels as GK

    sb = {"level": GK.SB_LEVEL, "index": GK.SB_INDEX, "bucket": GK.SB_BUCKET, "count": GK.SB_COUNT,
          "window": GK.SB_WINDOW, "available": GK.SB_AVAILABLE}
    assert [sb[n] for n in GK.SUBMIT_BUCKET.names] == list(range(GK.SB_COLS)) == list(range(6))
    ms = {"cash": GK.MS_CASH, "required": GK.MS_REQUIRED, "computable": GK.MS_COMPUTABLE}
    assert [ms[n] for n in GK.MARGIN_STATE.names] == list(range(GK.MS_COLS)) == list(range(3))

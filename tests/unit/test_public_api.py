"""The public API (docs/api.md): the names users import keep their short paths, and moved modules their old ones.

`PUBLIC` is the contract, written out here on purpose: a name that disappears from a package (a rename, a move
without a re-export) fails `test_every_public_name_imports_from_its_stable_path`.
"""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from hft.core.exports import MOVED_MODULES

ROOT = Path(__file__).resolve().parents[2]

_EVENT_CODES = ("BUY SELL EV_ADD EV_CANCEL EV_DELETE EV_EXEC EV_HIDDEN_EXEC EV_TRADE EV_LEVEL_SET EV_CLEAR "
                "EV_SNAPSHOT_LEVEL EV_HALT EV_TICKER FLAG_EOM FLAG_RESYNC FLAG_PREOPEN EVENT_DTYPE")
_ORDER_CODES = ("BUY SELL INTENT_NEW INTENT_CANCEL INTENT_REPLACE ORDER_LIMIT ORDER_MARKET ORDER_POST_ONLY ORDER_STOP "
                "ORDER_STOP_LIMIT TIF_GTC TIF_IOC TIF_FOK TIF_DAY TIF_GTD REPORT_ACK REPORT_PARTIAL_FILL REPORT_FILL "
                "REPORT_CANCELED REPORT_REJECTED REPORT_EXPIRED REPORT_REPLACED REPORT_REPLACE_REJECTED "
                "REPORT_CANCEL_REJECTED REPORT_TRIGGERED MODE_ALLOW_ALL "
                "MODE_CANCEL_ONLY MODE_REJECT_ALL INTENT_DTYPE DECISION_DTYPE COMMAND_DTYPE EXEC_REPORT_DTYPE")

PUBLIC: dict[str, tuple[str, ...]] = {
    "hft.sim": ("Strategy", "Context", "OrderState", "OrderUpdate", "Trade", "Fill", "ConditionalStrategy",
                "ConditionalOrders", "EmulatedOrder", "KernelStrategy", "ReplayConfig",
                "load_replay_config", "parse_replay_config", "replay_result", "run_replay", "RunResult", "read_run",
                "diff_runs"),
    "hft.alpha": ("Alpha", "check_alpha_id", "validate_signal", "get_alpha", "list_alphas", "load_alpha_class",
                  "FeatureSpec", "compute_features", "horizon_column", "Check", "GateResult"),
    "hft.data": ("DataFormat OpenOptions MarketData FILES generate_day Instrument " + _EVENT_CODES).split(),
    "hft.gateway": ("GatewayService ListDispatcher GatewayConfig LimitSet Rate load_config OrderIntent IntentEnvelope "
                    "TypedIntentEnvelope typed_intent_v1 Decision OrderCommand ExecutionReport empty_intents "
                    "LocalIntentChannel PolicyTransition RiskCheck " + _ORDER_CODES).split(),
    # plug-in APIs, public as modules
    "hft.sim.kernel_api": ("KernelStrategy", "BUY", "SELL", "IN_CANCEL", "IN_SUBMIT", "LTOP_ASK", "LTOP_ASK_QTY",
                           "LTOP_BID", "LTOP_BID_QTY", "MAX_INTENTS", "MAX_PARAMS", "NO_PRICE", "SO_COLS", "SO_ID",
                           "SO_LEAVES", "SO_PENDING_CANCEL", "SO_PENDING_NEW", "SO_PENDING_REPLACE", "SO_PRICE",
                           "SO_QTY", "SO_SIDE", "SO_STATUS", "SO_WORKING", "S_NORD", "S_PARAMS", "S_POS",
                           # the full context of a seven-argument kernel
                           "SO_QUEUE", "DP_BID", "DP_BID_QTY", "DP_ASK", "DP_ASK_QTY", "DP_COLS", "TR_TS", "TR_SIDE",
                           "TR_PRICE", "TR_QTY", "TR_COLS", "AC_POS", "AC_CASH", "AC_FEES", "AC_MID2", "AC_NTRADES",
                           "AC_NOW", "AC_PNL", "AC_REAL", "AC_COLS",
                           # the intent row's columns (`hft.sim.engine_nb.state.KERNEL_INTENT`)
                           "IN_KIND", "IN_SIDE", "IN_PRICE", "IN_QTY", "IN_ORDER_ID", "IN_COLS", "IN_ORDER_TYPE",
                           "IN_TIF", "IN_TRIGGER"),
    "hft.data.formats": ("DataFormat", "OpenOptions", "register"),
    "hft.live": ("Venue", "Reconciling", "VenueContext", "venue_adapter"),
    "hft.live.venue": ("Venue", "Reconciling", "VenueContext", "venue_adapter", "register", "adapters",
                       "ENTRY_POINT_GROUP"),
    "hft.live.venue_conformance": ("run", "Profile", "CLAUSES", "ConformanceError"),
    "hft.live.fix": ("FixVenue", "fix", "data_dictionary"),
    "hft.live.fix_exchange": ("Exchange", "ExchangeProcess", "main"),
    "hft.gateway.risk_checks": ("RiskCheck", "OV_ACCOUNT", "OV_MULT", "OV_ORDER_TYPE", "OV_POSITION", "OV_PRICE",
                                "OV_QTY", "OV_REF_PX", "OV_SIDE", "OV_STRATEGY", "OV_SYMBOL", "OV_TS",
                                "OV_WORKING_BUY", "OV_WORKING_SELL"),
}


@pytest.mark.parametrize("module", sorted(PUBLIC))
def test_every_public_name_imports_from_its_stable_path(module):
    mod = importlib.import_module(module)
    missing = [n for n in PUBLIC[module] if not hasattr(mod, n)]
    assert not missing, f"{module} lost public names {missing} (keep a re-export: docs/api.md)"
    if module.count(".") == 1:  # the packages: their __all__ lists the contract and nothing it cannot import
        assert set(PUBLIC[module]) <= set(mod.__all__)
        assert all(getattr(mod, n) is not None for n in mod.__all__)


def test_the_same_objects_as_their_defining_modules():
    import hft.alpha
    import hft.gateway
    import hft.sim
    from hft.alpha.api.base import Alpha
    from hft.core.orders import DECISION_DTYPE
    from hft.sim.run_reader import read_run

    assert hft.alpha.Alpha is Alpha and hft.sim.read_run is read_run and hft.gateway.DECISION_DTYPE is DECISION_DTYPE


def test_docs_api_lists_every_name_of_the_packages():
    doc = (ROOT / "docs" / "api.md").read_text()
    for module in ("hft.sim", "hft.alpha", "hft.data", "hft.gateway", "hft.live"):
        section = doc.split(f"## `{module}`", 1)[1].split("\n## ", 1)[0]
        listed = set(re.findall(r"`([A-Za-z_][A-Za-z0-9_]*)`", section))
        unlisted = set(importlib.import_module(module).__all__) - listed
        assert not unlisted, f"docs/api.md, {module}: not listed {sorted(unlisted)}"


def test_an_unknown_name_is_an_attribute_error_naming_it():
    import hft.sim

    with pytest.raises(AttributeError, match=re.escape("'hft.sim' has no attribute 'Stratgy'")):
        hft.sim.Stratgy  # noqa: B018


@pytest.mark.parametrize("old", sorted(MOVED_MODULES))
def test_a_moved_module_imports_from_its_old_path_with_a_deprecation_warning(old):
    new = MOVED_MODULES[old]
    sys.modules.pop(old, None)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        mod = importlib.import_module(old)
    assert mod is importlib.import_module(new)
    assert [str(w.message) for w in caught if w.category is DeprecationWarning] == [
        f"{old} moved to {new}: import it from there (the old path will be removed)"]


def test_an_alpha_written_against_an_old_path_still_loads(tmp_path):
    # a user's file, as written before the alpha package was regrouped, run in a fresh interpreter
    (tmp_path / "old_alpha.py").write_text(
        "from hft.alpha.base import Alpha\n\n\nclass Old(Alpha):\n    alpha_id = 'old'\n    version = '1.0.0'\n"
        "    features = ('bid_qty_1',)\n\n    def compute(self, features):\n        return features['bid_qty_1']\n")
    code = ("import warnings; warnings.simplefilter('error', DeprecationWarning)\n"
            "try:\n    import old_alpha\nexcept DeprecationWarning as w:\n    print('warned:', w)\n"
            "warnings.simplefilter('ignore')\nimport old_alpha\nfrom hft.alpha import Alpha\n"
            "print(issubclass(old_alpha.Old, Alpha))\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=60,
                         env={"PYTHONPATH": f"{tmp_path}:{ROOT}", "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == ["warned: hft.alpha.base moved to hft.alpha.api.base: import it from there "
                                       "(the old path will be removed)", "True"]


def test_importing_the_packages_loads_no_numba_or_polars():
    code = ("import sys, hft.sim, hft.alpha, hft.data, hft.gateway\n"
            "print(sorted(m for m in ('numba', 'polars') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "[]"

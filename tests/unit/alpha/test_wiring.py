"""The alpha services take their adapters as arguments (docs/architecture.md, "Layers"): a market-data source
and an audit sink, passed in by the composition root."""

from __future__ import annotations

import pickle

import pytest

from hft.alpha.governance.status import status
from hft.alpha.governance.validate import validate
from hft.alpha.records.sink import require_sink
from hft.alpha.research.features import compute_features
from hft.data.sources import FILES, FileSource
from hft.recorder.alpha_audit import AUDIT, AlphaAuditStore, held


def test_the_module_level_adapters_pickle_into_a_worker():
    assert isinstance(pickle.loads(pickle.dumps(FILES)), FileSource)
    assert isinstance(pickle.loads(pickle.dumps(AUDIT)), AlphaAuditStore)


def test_held_opens_no_store_until_it_is_used(tmp_path):
    with held(tmp_path) as sink:
        assert sink.store is None
    assert sink.store is None


def test_a_missing_adapter_is_a_wiring_error_before_any_work(tmp_path):
    with pytest.raises(TypeError, match="market-data source"):
        compute_features([tmp_path / "day.zip"])
    with pytest.raises(TypeError, match=r"registry=ExperimentRegistry\(sink\)"):
        validate("obi_l1", [tmp_path / "day.zip"], source=FILES)
    with pytest.raises(TypeError, match="status: expected an audit sink"):
        status()
    assert require_sink(AUDIT, "x") is AUDIT

"""The Alpha API: class checks, typed params, signal validation, registry by id, config schema."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pytest

from hft.alpha.api.base import Alpha, check_alpha_id, validate_signal
from hft.alpha.api.config import parse_alpha_config
from hft.alpha.api.registry import get_alpha, list_alphas, load_alpha_class, load_config, repo_research_dir
from hft.core.errors import ConfigError, GovernanceError


class Demo(Alpha):
    alpha_id = "demo"
    version = "1.2.3"
    features = ("bid_qty_1", "ask_qty_1")

    @dataclass(frozen=True)
    class Params:
        window: int = 3
        scale: float = 1.0
        clip: bool = False
        mode: str = "raw"

    def check_params(self, params):
        self.require(params.window >= 1, "window", "an integer >= 1", params.window)

    def compute(self, features):
        return (features["bid_qty_1"] - features["ask_qty_1"]).cast(pl.Float64) * self.params.scale


FRAME = pl.DataFrame({"ts": [1, 2, 3], "bid_qty_1": [5, 1, 2], "ask_qty_1": [1, 1, 4],
                      "fwd_ret_1": [0.1, 0.2, None]})


# --- ids ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["Obi", "1obi", "obi-l1", "obi/l1", "..", "../x", "a\\b", "", "class", "match",
                                 "x" * 64, "obi l1"])
def test_bad_ids_are_refused(bad):
    with pytest.raises(GovernanceError, match="alpha id"):
        check_alpha_id(bad)


def test_good_id():
    assert check_alpha_id("obi_l1_v2") == "obi_l1_v2"


# --- class checks ---------------------------------------------------------------------------------------------


def test_class_without_id_is_refused():
    with pytest.raises(GovernanceError, match="alpha_id"):
        class NoId(Alpha):
            version = "1.0.0"


def test_bad_version_is_refused():
    with pytest.raises(GovernanceError, match="version"):
        class BadVersion(Alpha):
            alpha_id = "bad_version"
            version = "one"


def test_unknown_feature_name_is_refused():
    with pytest.raises(GovernanceError, match="catalogue"):
        class BadFeature(Alpha):
            alpha_id = "bad_feature"
            version = "1.0.0"
            features = ("mid", "fwd_ret_10")  # forward returns are never inputs


def test_params_must_be_a_frozen_typed_dataclass():
    with pytest.raises(GovernanceError, match="frozen"):
        class NotFrozen(Alpha):
            alpha_id = "not_frozen"
            version = "1.0.0"

            @dataclass
            class Params:
                x: int = 1

    with pytest.raises(GovernanceError, match="'x'"):
        class BadType(Alpha):
            alpha_id = "bad_type"
            version = "1.0.0"

            @dataclass(frozen=True)
            class Params:
                x: list = None  # type: ignore[assignment]


# --- params ---------------------------------------------------------------------------------------------------


def test_default_and_given_params():
    a = Demo()
    assert a.params == Demo.Params()
    b = Demo({"window": 5, "scale": 2, "clip": True, "mode": "z"})
    assert b.params.scale == 2.0 and isinstance(b.params.scale, float)
    assert Demo(Demo.Params(window=4)).params.window == 4
    assert a.describe()["params"]["window"] == 3


@pytest.mark.parametrize("params, key", [
    ({"windw": 3}, "windw"),
    ({"window": 2.5}, "window"),
    ({"window": True}, "window"),
    ({"window": "3"}, "window"),
    ({"scale": "x"}, "scale"),
    ({"scale": float("nan")}, "scale"),
    ({"clip": 1}, "clip"),
    ({"mode": 3}, "mode"),
    ({"window": 0}, "window"),  # check_params
])
def test_bad_params_name_the_key(params, key):
    with pytest.raises(GovernanceError, match=f"'{key}'") as ei:
        Demo(params)
    assert ei.value.fields["key"] == key


def test_params_must_be_a_mapping():
    with pytest.raises(GovernanceError, match="mapping"):
        Demo([1, 2])


# --- signal ---------------------------------------------------------------------------------------------------


def test_signal_sees_only_declared_features():
    seen = {}

    class Spy(Alpha):
        alpha_id = "spy"
        version = "1.0.0"
        features = ("bid_qty_1",)

        def compute(self, features):
            seen["cols"] = features.columns
            return features["bid_qty_1"].cast(pl.Float64)

    out = Spy().signal(FRAME)
    assert seen["cols"] == ["ts", "bid_qty_1"]  # no forward return reaches compute
    assert out.dtype == pl.Float64 and out.to_list() == [5.0, 1.0, 2.0]


def test_signal_missing_feature_is_an_error():
    with pytest.raises(GovernanceError, match="ask_qty_1"):
        Demo().signal(FRAME.drop("ask_qty_1"))


def test_signal_requires_a_dataframe():
    with pytest.raises(GovernanceError, match="DataFrame"):
        Demo().signal({"bid_qty_1": [1]})


def _returning(value):
    class Bad(Alpha):
        alpha_id = "bad"
        version = "1.0.0"
        features = ("bid_qty_1",)

        def compute(self, features):
            return value(features) if callable(value) else value

    return Bad()


@pytest.mark.parametrize("value, match", [
    (lambda f: pl.Series([1.0, 2.0]), "expected 3 values"),
    (lambda f: f["bid_qty_1"], "Float64"),
    (lambda f: [1.0, 2.0, 3.0], "polars Series"),
    (lambda f: pl.Series([float("nan")] * 3), "finite"),
    (lambda f: pl.Series([None, None, None], dtype=pl.Float64), "finite"),
    (lambda f: pl.Series([float("inf"), None, float("-inf")]), "finite"),
    (lambda f: 1 / 0, "ZeroDivisionError"),
])
def test_bad_outputs_are_governance_errors(value, match):
    with pytest.raises(GovernanceError, match=match):
        _returning(value).signal(FRAME)


def test_validate_signal_normalises():
    out = validate_signal(pl.Series([1.0, float("nan")], dtype=pl.Float32), 2, "x")
    assert out.dtype == pl.Float64 and out.to_list() == [1.0, None] and out.name == "x"


# --- registry -------------------------------------------------------------------------------------------------


SHIPPED = {"obi_l1", "obi_multi", "microprice_dev", "ofi", "trade_sign_flow"}


def test_registry_lists_the_shipped_alphas(monkeypatch):
    monkeypatch.delenv("HFT_RESEARCH_ROOT", raising=False)
    assert set(list_alphas()) >= SHIPPED
    assert load_alpha_class("obi_l1").alpha_id == "obi_l1"
    assert get_alpha("ofi", {"window": 7}).params.window == 7


def test_unknown_alpha_lists_the_known_ones(monkeypatch):
    monkeypatch.delenv("HFT_RESEARCH_ROOT", raising=False)
    with pytest.raises(GovernanceError, match="unknown alpha 'nope'") as ei:
        load_alpha_class("nope")
    assert "obi_l1" in ei.value.message


@pytest.mark.parametrize("bad", ["../obi_l1", "obi_l1/../ofi", "/etc/passwd", "Obi", "import"])
def test_registry_refuses_paths(bad):
    with pytest.raises(GovernanceError, match="alpha id"):
        load_alpha_class(bad)


def _write_alpha(root: Path, alpha_id: str, body: str) -> None:
    d = root / "alphas" / alpha_id
    d.mkdir(parents=True)
    (d / "alpha.py").write_text(textwrap.dedent(body))


def test_research_root_override(tmp_path, monkeypatch):
    monkeypatch.setenv("HFT_RESEARCH_ROOT", str(tmp_path))
    _write_alpha(tmp_path, "mine", """
        import polars as pl
        from hft.alpha.api.base import Alpha

        class Mine(Alpha):
            alpha_id = "mine"
            version = "0.1.0"
            features = ("mid",)

            def compute(self, features):
                return features["mid"] * 0.0
    """)
    assert list_alphas() == ["mine"]
    assert get_alpha("mine").signal(pl.DataFrame({"ts": [1], "mid": [1.0]})).to_list() == [0.0]
    assert repo_research_dir() != tmp_path


def test_module_errors_are_governance_errors(tmp_path):
    _write_alpha(tmp_path, "broken", "raise RuntimeError('boom')\n")
    with pytest.raises(GovernanceError, match="RuntimeError: boom"):
        load_alpha_class("broken", root=tmp_path)
    _write_alpha(tmp_path, "empty", "x = 1\n")
    with pytest.raises(GovernanceError, match="exactly one Alpha subclass"):
        load_alpha_class("empty", root=tmp_path)
    _write_alpha(tmp_path, "wrong_id", """
        from hft.alpha.api.base import Alpha

        class Other(Alpha):
            alpha_id = "other"
            version = "0.1.0"
    """)
    with pytest.raises(GovernanceError, match="expected alpha_id 'wrong_id'"):
        load_alpha_class("wrong_id", root=tmp_path)


# --- config ---------------------------------------------------------------------------------------------------


def test_config_defaults_and_overrides():
    cfg = parse_alpha_config({"alpha": "demo", "params": {"window": 4},
                              "features": {"levels": 2, "sampling": "100ms", "horizons": ["100ms", "1s"]},
                              "validation": {"gate_b": {"bucket": "1h", "primary_horizon": "1s"},
                                             "gate_c": {"cost_spread_multipliers": [1, 3]}}},
                             "c.yaml", Demo)
    assert cfg.params["window"] == 4 and cfg.params["scale"] == 1.0
    assert cfg.features.step_ns == 100_000_000
    assert cfg.validation.gate_b.bucket_ns == 3_600_000_000_000
    assert cfg.validation.gate_c.cost_spread_multipliers == (1.0, 3.0)
    assert cfg.validation.gate_a.min_coverage == 0.9


@pytest.mark.parametrize("data, exc, key", [
    ({"alpha": "demo", "extra": 1}, ConfigError, "extra"),
    ({"alpha": "demo", "validation": {"gate_a": {"min_coverage": "high"}}}, ConfigError, "min_coverage"),
    ({"alpha": "demo", "validation": {"gate_a": {"min_coverage": 1.5}}}, ConfigError, "min_coverage"),
    ({"alpha": "demo", "validation": {"gate_b": {"sign": 2}}}, ConfigError, "sign"),
    ({"alpha": "demo", "validation": {"gate_b": {"primary_horizon": 7}}}, ConfigError, "primary_horizon"),
    ({"alpha": "demo", "validation": {"gate_c": {"pbo_blocks": 7}}}, ConfigError, "pbo_blocks"),
    ({"alpha": "demo", "validation": {"gate_z": {}}}, ConfigError, "gate_z"),  # an unknown gate section
    ({"alpha": "demo", "features": {"horizons": ["1s"]}}, ConfigError, "horizons"),
    ({"alpha": "demo", "features": {"levels": "5"}}, ConfigError, "levels"),
    ({"alpha": "other"}, ConfigError, "alpha"),
    ({"alpha": "demo", "params": {"window": "x"}}, GovernanceError, "window"),
    ({"alpha": "demo", "params": {"nope": 1}}, GovernanceError, "nope"),
    ({"alpha": "demo", "validation": {"gate_b": {"quantiles": 10_000_000}}}, ConfigError,
     r"quantiles': expected an integer <= 1000"),
    ({"alpha": "demo", "validation": {"gate_a": {"lookahead_cuts": 10**9}}}, ConfigError,
     r"lookahead_cuts': expected an integer <= 10000"),
    ({"alpha": "demo", "features": {"levels": 1}}, None, None),
])
def test_config_is_strict(data, exc, key):
    if exc is None:
        assert parse_alpha_config(data, "c.yaml", Demo).features.levels == 1
        return
    with pytest.raises(exc, match=key):
        parse_alpha_config(data, "c.yaml", Demo)


def test_config_needs_enough_levels():
    class Deep(Alpha):
        alpha_id = "deep"
        version = "1.0.0"
        features = ("bid_qty_3",)

    with pytest.raises(ConfigError, match="at least 3"):
        parse_alpha_config({"alpha": "deep", "features": {"levels": 2}}, "c.yaml", Deep)


def test_shipped_configs_load(monkeypatch):
    monkeypatch.delenv("HFT_RESEARCH_ROOT", raising=False)
    for alpha_id in sorted(SHIPPED):
        cfg = load_config(alpha_id)
        assert cfg.alpha_id == alpha_id


def test_an_alpha_prints_its_id_version_and_params():
    assert repr(Demo({"window": 5})) == ("Demo(alpha_id='demo', version='1.2.3', params={'window': 5, 'scale': 1.0, "
                                         "'clip': False, 'mode': 'raw'})")

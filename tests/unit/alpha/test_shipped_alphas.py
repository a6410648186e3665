"""Every alpha under research/alphas: the shared contract, plus the tests in its own ``test_alpha.py``.

The per-alpha ``research/alphas/<id>/test_alpha.py`` files live beside the alpha (pyproject's testpaths is
``tests``), so this module loads each by file path and runs every ``test_*`` function in it as its own
parametrized case. Nothing is skipped: an alpha without a test file, or a test file without tests, fails.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import inspect
import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from hft.alpha.api.base import Alpha
from hft.alpha.api.registry import alpha_dir, list_alphas, load_alpha_class, load_config, repo_research_dir
from hft.alpha.research.features import FeatureSpec, compute_features

ROOT = repo_research_dir()
ALPHAS = list_alphas(ROOT)
EXPECTED = {"obi_l1", "obi_multi", "microprice_dev", "ofi", "trade_sign_flow"}


def _load_tests(alpha_id: str):
    path = alpha_dir(alpha_id, ROOT) / "test_alpha.py"
    name = f"_hft_shipped_alpha_tests_{alpha_id}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    sys.modules[name] = module
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def _cases() -> list[tuple[str, str]]:
    out = []
    for alpha_id in ALPHAS:
        path = alpha_dir(alpha_id, ROOT) / "test_alpha.py"
        if not path.is_file():
            out.append((alpha_id, "<missing test_alpha.py>"))
            continue
        names = [n for n, f in vars(_load_tests(alpha_id)).items() if n.startswith("test_") and callable(f)]
        out.extend((alpha_id, n) for n in sorted(names)) if names else out.append((alpha_id, "<no tests>"))
    return out


def test_the_shipped_alphas_are_all_there():
    assert set(ALPHAS) >= EXPECTED, ALPHAS


@pytest.mark.parametrize("alpha_id, test_name", _cases())
def test_alpha_own_tests(alpha_id, test_name):
    assert not test_name.startswith("<"), f"{alpha_id}: {test_name}"
    fn = getattr(_load_tests(alpha_id), test_name)
    params = inspect.signature(fn).parameters
    assert not params, f"{alpha_id}.{test_name}: per-alpha tests take no fixtures, has {list(params)}"
    fn()


@pytest.mark.parametrize("alpha_id", ALPHAS)
def test_contract(alpha_id):
    d = alpha_dir(alpha_id, ROOT)
    for f in ("alpha.py", "config.yaml", "README.md", "test_alpha.py"):
        assert (d / f).is_file(), f"{alpha_id}: {f} missing"
    assert len((d / "README.md").read_text().strip()) > 100, f"{alpha_id}: README too short"
    cls = load_alpha_class(alpha_id, ROOT)
    assert issubclass(cls, Alpha) and cls.alpha_id == alpha_id
    cfg = load_config(alpha_id, root=ROOT)
    assert cfg.alpha_id == alpha_id
    for key in cls.default_params():
        assert key in (d / "config.yaml").read_text(), f"{alpha_id}: param {key} not documented in config.yaml"


@pytest.fixture(scope="module")
def day_md(tmp_path_factory):
    from hft.data.importing import generate_day
    from hft.data.sources import open_market_data

    out = tmp_path_factory.mktemp("shipped_day")
    res = generate_day(out, seed=5, symbol="SYNTH", date="2024-01-02", messages=4000, levels=5,
                       zip_output=False)
    return open_market_data([Path(res["message_path"])])


@pytest.mark.parametrize("alpha_id", ALPHAS)
def test_signal_on_a_generated_day(alpha_id, day_md):
    cfg = load_config(alpha_id, root=ROOT)
    alpha = load_alpha_class(alpha_id, ROOT)(cfg.params)
    feats = compute_features(day_md, cfg.features, cache=False)
    sig = alpha.signal(feats)
    assert sig.dtype == pl.Float64 and len(sig) == feats.height
    coverage = sig.is_finite().fill_null(False).mean()
    assert coverage > 0.9, f"{alpha_id}: coverage {coverage}"
    assert alpha.signal(feats).equals(sig)  # deterministic
    # same on a 1s clock
    clock = compute_features(day_md, FeatureSpec(levels=cfg.features.levels, sampling="1s", horizons=("1s",)),
                             cache=False)
    assert alpha.signal(clock).is_finite().fill_null(False).mean() > 0.9


@pytest.mark.parametrize("alpha_id", ALPHAS)
def test_signal_has_no_lookahead(alpha_id, day_md):
    """The signal at row t is unchanged when every event after row t's source event is removed."""
    cfg = load_config(alpha_id, root=ROOT)
    alpha = load_alpha_class(alpha_id, ROOT)(cfg.params)
    spec = cfg.features
    full = compute_features(day_md, spec, cache=False)
    sig = alpha.signal(full)
    rng = np.random.default_rng(99)
    n = len(day_md.events)
    for cut in rng.integers(10, n - 1, size=12):
        keep = int(cut) + 1
        lob = dataclasses.replace(day_md.lobster, events=day_md.events[:keep],
                                  reference=day_md.lobster.reference[:keep])
        part_md = dataclasses.replace(day_md, events=day_md.events[:keep], lobster=lob)
        part = compute_features(part_md, spec, cache=False)
        part_sig = alpha.signal(part)
        assert part_sig.equals(sig.head(part.height)), f"{alpha_id}: signal changed at cut {cut}"

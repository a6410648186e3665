"""What names or configures alphas loads no numba: the Alpha API, an alpha's config, `hft alpha status`'s
governance module (the feature catalogue's names and `FeatureSpec` live in `feature_spec`, apart from the numba
kernels of `features`, which re-exports them), and the read-only commands as a whole: `hft alpha status` (the WAL's
record encoder loads its numba kernels with its first write, `topics._Plan.row_join`) and `hft alpha experiments
list` (no polars either: the experiments module loads the alpha registry only to hash an alpha's code)."""

from __future__ import annotations

import subprocess
import sys

import pytest


def test_the_alpha_api_config_and_status_load_no_numba():
    code = ("import sys, hft.alpha.api.base, hft.alpha.api.config, hft.alpha.api.registry, "
            "hft.alpha.governance.status; print('numba' in sys.modules)")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "False"


@pytest.mark.parametrize(("argv", "absent"), [
    (["alpha", "status", "--json"], ["numba"]),
    (["alpha", "experiments", "list", "--json"], ["numba", "polars"]),  # the store's rows only
])
def test_read_only_commands_load_no_kernels(tmp_path, argv, absent):
    import os

    code = ("import atexit, sys\n"
            f"atexit.register(lambda: sys.stderr.write('loaded: %s\\n' % [m for m in {absent!r} if m in sys.modules]))\n"
            f"sys.argv = ['hft', *{argv!r}]\n"
            "from hft.cli.app import main\n"
            "main()\n")
    env = {**os.environ, "HFT_HOME": str(tmp_path / "home"), "HFT_PROMOTIONS_ROOT": str(tmp_path / "promos")}
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env=env)
    assert p.returncode == 0, p.stderr
    assert p.stdout.lstrip().startswith("{")
    assert p.stderr.strip().splitlines()[-1] == "loaded: []"


def test_features_re_exports_the_catalogue():
    from hft.alpha.research import feature_spec, features

    for name in feature_spec.__all__:
        assert name in features.__all__ and getattr(features, name) is getattr(feature_spec, name), name

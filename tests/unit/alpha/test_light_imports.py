"""What names or configures alphas loads no numba: the Alpha API, an alpha's config, `hft alpha status`'s
governance module (the feature catalogue's names and `FeatureSpec` live in `feature_spec`, apart from the numba
kernels of `features`, which re-exports them), and the whole `hft alpha status` command, which reads the audit
store (the WAL's record encoder loads its numba kernels with its first write, `topics._Plan.row_join`)."""

from __future__ import annotations

import subprocess
import sys


def test_the_alpha_api_config_and_status_load_no_numba():
    code = ("import sys, hft.alpha.api.base, hft.alpha.api.config, hft.alpha.api.registry, "
            "hft.alpha.governance.status; print('numba' in sys.modules)")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "False"


def test_the_status_command_loads_no_numba(tmp_path):
    import os

    code = ("import atexit, sys\n"
            "atexit.register(lambda: sys.stderr.write('numba loaded: %s\\n' % ('numba' in sys.modules)))\n"
            "sys.argv = ['hft', 'alpha', 'status', '--json']\n"
            "from hft.cli.app import main\n"
            "main()\n")
    env = {**os.environ, "HFT_HOME": str(tmp_path / "home"), "HFT_PROMOTIONS_ROOT": str(tmp_path / "promos")}
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env=env)
    assert p.returncode == 0, p.stderr
    assert '"alphas"' in p.stdout
    assert p.stderr.strip().splitlines()[-1] == "numba loaded: False"


def test_features_re_exports_the_catalogue():
    from hft.alpha.research import feature_spec, features

    for name in feature_spec.__all__:
        assert name in features.__all__ and getattr(features, name) is getattr(feature_spec, name), name

"""What names or configures alphas loads no numba: the Alpha API, an alpha's config, `hft alpha status`'s
governance module (the feature catalogue's names and `FeatureSpec` live in `feature_spec`, apart from the numba
kernels of `features`, which re-exports them)."""

from __future__ import annotations

import subprocess
import sys


def test_the_alpha_api_config_and_status_load_no_numba():
    code = ("import sys, hft.alpha.api.base, hft.alpha.api.config, hft.alpha.api.registry, "
            "hft.alpha.governance.status; print('numba' in sys.modules)")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "False"


def test_features_re_exports_the_catalogue():
    from hft.alpha.research import feature_spec, features

    for name in feature_spec.__all__:
        assert name in features.__all__ and getattr(features, name) is getattr(feature_spec, name), name

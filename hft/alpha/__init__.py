"""Alpha research and governance: Alpha API, features, statistics, validation gates, pool, promotion.

The public API is the names below, imported from ``hft.alpha`` (``from hft.alpha import Alpha``): they keep this
path when the modules behind them move (docs/api.md).
"""

from __future__ import annotations

from hft.core.exports import lazy_exports

__all__, __getattr__, __dir__ = lazy_exports(__name__, {
    "Alpha": "hft.alpha.api.base",
    "check_alpha_id": "hft.alpha.api.base",
    "validate_signal": "hft.alpha.api.base",
    "get_alpha": "hft.alpha.api.registry",
    "list_alphas": "hft.alpha.api.registry",
    "load_alpha_class": "hft.alpha.api.registry",
    "FeatureSpec": "hft.alpha.research.feature_spec",
    "horizon_column": "hft.alpha.research.feature_spec",
    "compute_features": "hft.alpha.research.features",
    "Check": "hft.alpha.gates.result",
    "GateResult": "hft.alpha.gates.result",
})

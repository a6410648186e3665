"""The Alpha API: what an alpha is, its typed parameters, and the checks on what it computes.

An alpha is a subclass of `Alpha` living in ``research/alphas/<alpha_id>/alpha.py`` (found by id through
`hft.alpha.api.registry`, never by an import path from config):

```python
from dataclasses import dataclass

import polars as pl

from hft.alpha import Alpha


class ObiL1(Alpha):
    alpha_id = "obi_l1"                        # lowercase identifier, equal to the folder name
    version = "1.0.0"
    features = ("bid_qty_1", "ask_qty_1")      # names from hft.alpha.research.features (never fwd_ret_*)

    @dataclass(frozen=True)
    class Params:                              # typed parameters with defaults (int, float, bool, str)
        smooth: int = 1

    def compute(self, features: pl.DataFrame) -> pl.Series:   # one float per row
        ...
```

* ``Alpha(params)`` validates params: unknown key or wrong type → `GovernanceError` naming the key; ints are
  accepted for float params; override `check_params` for range checks.
* `Alpha.signal(features)` is what callers use: it hands `compute` only ``ts`` and the declared features (so a
  forward return can never leak in), then validates the output with `validate_signal` (a polars Series of
  floats with one value per row and at least one finite value).
"""

from __future__ import annotations

import dataclasses
import keyword
import math
import re
import typing
from collections.abc import Mapping
from typing import Any, ClassVar

import polars as pl

from hft.alpha.research.feature_spec import is_feature_name, level_of
from hft.core.errors import GovernanceError

__all__ = ["ALPHA_ID_RE", "Alpha", "check_alpha_id", "validate_signal"]

ALPHA_ID_RE = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_VERSION_RE = re.compile(r"^\d+\.\d+\.\d+$")
_PARAM_TYPES = (int, float, bool, str)


def check_alpha_id(alpha_id: Any) -> str:
    """Return `alpha_id` when it is a valid alpha id (lowercase identifier, not a keyword), else raise."""
    if not isinstance(alpha_id, str):
        raise GovernanceError(f"alpha id: expected a string, was {alpha_id!r}", key="alpha_id")
    if "/" in alpha_id or "\\" in alpha_id or ".." in alpha_id or alpha_id in (".", ""):
        raise GovernanceError(f"alpha id: expected a plain name without path separators or '..', was "
                              f"{alpha_id!r}", key="alpha_id")
    if not ALPHA_ID_RE.fullmatch(alpha_id):
        raise GovernanceError(f"alpha id: expected a lowercase identifier ([a-z][a-z0-9_]*, at most 63 "
                              f"characters), was {alpha_id!r}", key="alpha_id")
    if keyword.iskeyword(alpha_id) or keyword.issoftkeyword(alpha_id):
        raise GovernanceError(f"alpha id: expected a name that is not a Python keyword, was {alpha_id!r}",
                              key="alpha_id")
    return alpha_id


class Alpha:
    """Base class of every alpha (see the module docstring)."""
    alpha_id: ClassVar[str]
    version: ClassVar[str]
    features: ClassVar[tuple[str, ...]] = ()

    @dataclasses.dataclass(frozen=True)
    class Params:
        """No parameters (subclasses declare their own frozen dataclass)."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        name = cls.__name__
        if "alpha_id" not in cls.__dict__:
            raise GovernanceError(f"alpha class {name}: expected a class attribute alpha_id", key="alpha_id")
        check_alpha_id(cls.alpha_id)
        if not isinstance(getattr(cls, "version", None), str) or not _VERSION_RE.fullmatch(cls.version):
            raise GovernanceError(f"alpha {cls.alpha_id}: expected version like '1.0.0', was "
                                  f"{getattr(cls, 'version', None)!r}", key="version")
        params = cls.Params
        if not (dataclasses.is_dataclass(params) and isinstance(params, type)
                and params.__dataclass_params__.frozen):  # type: ignore[attr-defined]
            raise GovernanceError(f"alpha {cls.alpha_id}: expected Params to be a frozen dataclass",
                                  key="Params")
        hints = typing.get_type_hints(params)
        for f in dataclasses.fields(params):
            if hints.get(f.name) not in _PARAM_TYPES:
                raise GovernanceError(f"alpha {cls.alpha_id}: param '{f.name}': expected type int, float, bool "
                                      f"or str, was {hints.get(f.name)!r}", key=f.name)
            if f.default is dataclasses.MISSING:
                raise GovernanceError(f"alpha {cls.alpha_id}: param '{f.name}': expected a default value",
                                      key=f.name)
        feats = cls.features
        if not isinstance(feats, tuple) or not all(isinstance(x, str) for x in feats):
            raise GovernanceError(f"alpha {cls.alpha_id}: expected features to be a tuple of names, was "
                                  f"{feats!r}", key="features")
        _check_feature_names(cls.alpha_id, feats)

    def __init__(self, params: Mapping[str, Any] | Any = None) -> None:
        self.params = self.parse_params(params)
        self.check_params(self.params)
        _check_feature_names(self.alpha_id, self.required_features())

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(alpha_id={self.alpha_id!r}, version={self.version!r}, "
                f"params={dataclasses.asdict(self.params)!r})")

    # --- parameters ---------------------------------------------------------------------------------------

    @classmethod
    def param_types(cls) -> dict[str, type]:
        hints = typing.get_type_hints(cls.Params)
        return {f.name: hints[f.name] for f in dataclasses.fields(cls.Params)}

    @classmethod
    def default_params(cls) -> dict[str, Any]:
        return dataclasses.asdict(cls.Params())

    @classmethod
    def parse_params(cls, params: Mapping[str, Any] | Any = None) -> Any:
        """A `Params` instance from a mapping (or a Params instance); strict on keys and types."""
        if params is None:
            return cls.Params()
        if isinstance(params, cls.Params):
            params = dataclasses.asdict(params)
        if not isinstance(params, Mapping):
            raise GovernanceError(f"alpha {cls.alpha_id}: params: expected a mapping, was {params!r}",
                                  key="params")
        types = cls.param_types()
        out: dict[str, Any] = {}
        for key, value in params.items():
            if key not in types:
                raise GovernanceError(f"alpha {cls.alpha_id}: unknown param '{key}': expected one of "
                                      f"{sorted(types)}", key=str(key))
            want = types[key]
            if want is float and isinstance(value, int) and not isinstance(value, bool):
                value = float(value)
            ok = isinstance(value, want) and not (want is not bool and isinstance(value, bool))
            if want is float and ok and not math.isfinite(value):
                ok = False
            if not ok:
                raise GovernanceError(f"alpha {cls.alpha_id}: param '{key}': expected {want.__name__}, was "
                                      f"{value!r}", key=str(key), expected=want.__name__, found=repr(value))
            out[key] = value
        return cls.Params(**out)

    def check_params(self, params: Any) -> None:
        """Range checks on parsed params (override; raise `GovernanceError` naming the key)."""

    @staticmethod
    def require(cond: bool, key: str, expected: str, found: Any) -> None:
        """Helper for `check_params`: raise a GovernanceError naming `key` unless `cond`."""
        if not cond:
            raise GovernanceError(f"param '{key}': expected {expected}, was {found!r}", key=key)

    # --- features and signal ------------------------------------------------------------------------------

    def required_features(self) -> tuple[str, ...]:
        """Feature columns this instance reads (default: the class's `features`; may depend on params)."""
        return self.features

    def required_levels(self) -> int:
        """Book levels the required features need."""
        return max((level_of(n) for n in self.required_features()), default=0) or 1

    def compute(self, features: Any) -> Any:
        """The signal: a polars Series of floats, one per row of `features`. Override."""
        raise NotImplementedError

    def signal(self, features: Any) -> Any:
        """`compute` on ``ts`` + the required features only, with the output validated (Float64 Series)."""
        if not isinstance(features, pl.DataFrame):
            raise GovernanceError(f"alpha {self.alpha_id}: expected a polars DataFrame of features, was "
                                  f"{type(features).__name__}")
        need = self.required_features()
        missing = [c for c in need if c not in features.columns]
        if missing:
            raise GovernanceError(f"alpha {self.alpha_id}: expected feature columns {missing}, missing from the "
                                  f"frame", key="features", hint="compute features with enough levels")
        cols = ["ts", *[c for c in need if c != "ts"]] if "ts" in features.columns else list(need)
        try:
            out = self.compute(features.select(cols))
        except GovernanceError:
            raise
        except Exception as exc:
            raise GovernanceError(f"alpha {self.alpha_id}: compute raised {type(exc).__name__}: {exc}",
                                  key="compute") from exc
        return validate_signal(out, features.height, self.alpha_id)

    def describe(self) -> dict[str, Any]:
        """Id, version, parameters and the features the signal reads, as a plain dict."""
        return {"alpha_id": self.alpha_id, "version": self.version, "params": dataclasses.asdict(self.params),
                "features": list(self.required_features())}


def _check_feature_names(alpha_id: str, names: tuple[str, ...]) -> None:

    bad = [n for n in names if not is_feature_name(n)]
    if bad:
        raise GovernanceError(f"alpha {alpha_id}: expected feature names from the catalogue "
                              f"(hft.alpha.research.features; forward returns are not inputs), was {bad}", key="features")


def validate_signal(sig: Any, n_rows: int, alpha_id: str = "alpha") -> Any:
    """Check an alpha's output: a polars Series of floats, `n_rows` long, with at least one finite value.

    Returns the series cast to Float64 with NaN turned into null. Raises `GovernanceError` otherwise.
    """
    if not isinstance(sig, pl.Series):
        raise GovernanceError(f"alpha {alpha_id}: compute: expected a polars Series, was {type(sig).__name__}",
                              key="compute")
    if len(sig) != n_rows:
        raise GovernanceError(f"alpha {alpha_id}: compute: expected {n_rows} values (one per row), was "
                              f"{len(sig)}", key="compute", expected=n_rows, found=len(sig))
    if sig.dtype not in (pl.Float64, pl.Float32):
        raise GovernanceError(f"alpha {alpha_id}: compute: expected a Float64 series, was {sig.dtype}",
                              key="compute")
    out = sig.cast(pl.Float64).fill_nan(None).rename(alpha_id)
    if not out.is_finite().fill_null(False).any():
        raise GovernanceError(f"alpha {alpha_id}: compute: expected at least one finite value, was all "
                              f"NaN/null/inf", key="compute")
    return out

"""numba's cache locator for ``hft``'s kernels: an index entry is fresh while the kernel's module, and every
``hft`` module it imports, keep their meaning (`hft._numba_key.SourceStamps`).

numba keeps, per compiled function, an index file whose entries hold only while its *source stamp* holds; its own
stamp is the hash of the function's file, and its file name carries the function's first line number. So a comment
edit recompiles the module's kernels (their line numbers move), and an edit of a callee or a constant in another
module recompiles nothing: the caller would run the old machine code. This locator keeps numba's choice of the
directory (``$NUMBA_CACHE_DIR``, else beside the sources) and changes two things for functions in the ``hft``
package that is imported: the stamp is `SourceStamps.stamp` of the function's module (its normalised source and
that of its import closure: docstrings, comments and line numbers do not count), and the file name carries no line
number. A stamp that changes resets that function's index (numba then overwrites its entries as it recompiles).

Registered first in numba's list of locators by `register` (``import hft`` does it when numba is imported).
"""

from __future__ import annotations

import hashlib
import os
from typing import Any

from numba.core import caching, config

from hft._numba_key import SourceStamps

ROOT = os.path.dirname(os.path.realpath(__file__))
_TAG = hashlib.blake2b(ROOT.encode(), digest_size=8).hexdigest()  # checkouts may share one cache directory
_stamps: dict[str | None, SourceStamps] = {}  # per memo file (the cache directory may change in a process)


def stamps() -> SourceStamps:
    """The package's `SourceStamps`, its memo beside the caches (``$NUMBA_CACHE_DIR``; in memory without one)."""
    memo = os.path.join(config.CACHE_DIR, f"hft-sources-{_TAG}.json") if config.CACHE_DIR else None
    s = _stamps.get(memo)
    if s is None:
        s = _stamps[memo] = SourceStamps(ROOT, memo)
    return s


class SourceLocator(caching._CacheLocator):
    """numba's own locator for the function (its directory), with the module's `SourceStamps` stamp."""

    def __init__(self, inner: caching._CacheLocator, rel: str) -> None:
        self._inner = inner
        self._rel = rel

    def ensure_cache_path(self) -> None:
        self._inner.ensure_cache_path()

    def get_cache_path(self) -> str:
        return self._inner.get_cache_path()

    def get_source_stamp(self) -> Any:
        return stamps().stamp(self._rel)

    def get_disambiguator(self) -> str:
        return "src"  # numba's is the first line: a comment above the function would move it

    @classmethod
    def from_function(cls, py_func: Any, py_file: str) -> SourceLocator | None:
        path = os.path.realpath(py_file)
        if not path.startswith(ROOT + os.sep) or not path.endswith(".py"):
            return None  # not this package's: numba's own locators
        for other in caching.CacheImpl._locator_classes:
            if other is cls:
                continue
            inner = other.from_function(py_func, py_file)
            if inner is not None:
                return cls(inner, os.path.relpath(path, ROOT).replace(os.sep, "/"))
        return None


def register() -> None:
    """Put `SourceLocator` first in numba's locators (once)."""
    if SourceLocator not in caching.CacheImpl._locator_classes:
        caching.CacheImpl._locator_classes.insert(0, SourceLocator)

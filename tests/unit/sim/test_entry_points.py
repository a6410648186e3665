"""`hft.sim.entry_points`: kernels called from Python through their compiled entry points give what their
dispatchers give, and a call site looks its entry point up again when an array argument is replaced."""

from __future__ import annotations

import pickle

import numpy as np
from numba import njit

from hft.sim.entry_points import CallSite, entry_point, type_key


@njit
def _weighted(a, w, k):
    s = 0.0
    for i in range(a.shape[0]):
        s += a[i] * w[i]
    return s * k


def test_a_call_site_answers_as_the_dispatcher_through_replaced_arrays():
    site = CallSite(_weighted, 2)
    a, w = np.arange(5, dtype=np.int64), np.ones(5)
    assert site(a, w, 3) == _weighted(a, w, 3) == 30.0
    first = site._entry
    w[:] = 2.0  # the same objects, new contents: the same entry point, the new values
    assert site(a, w, 3) == 60.0 and site._entry is first
    b = np.arange(5, dtype=np.float64)  # another array of another dtype: looked up again, not misread as int64
    assert site(b, w, 1) == _weighted(b, w, 1) == 20.0 and site._entry is not first
    ro = b.view()
    ro.flags.writeable = False  # a read-only view is another numba type too
    assert site(ro, w, 2) == 40.0
    assert type_key(ro) != type_key(b)


def test_entry_points_are_shared_per_kernel_and_types():
    a, w = np.zeros(3, np.int64), np.zeros(3)
    assert entry_point(_weighted, (a, w, 1)) is entry_point(_weighted, (np.ones(7, np.int64), np.ones(7), 5))


def test_a_call_site_pickles_without_its_entry_point():
    site = CallSite(_weighted, 2)
    a, w = np.arange(3, dtype=np.int64), np.ones(3)
    site(a, w, 1)
    copy = pickle.loads(pickle.dumps(site))
    assert copy.n_arrays == 2 and copy._entry is None and copy(a, w, 2) == 6.0

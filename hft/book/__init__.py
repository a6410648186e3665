"""Order-book kernels (numba): `l3` market-by-order, `l2` price levels, `topn` snapshots.

Import the submodules directly; this package imports nothing so that `import hft.book` stays free of numba.
"""

"""Alpha microprice_dev (the package marker lets pytest collect every alpha's test_alpha.py together)."""

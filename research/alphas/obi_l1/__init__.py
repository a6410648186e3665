"""Alpha obi_l1 (the package marker lets pytest collect every alpha's test_alpha.py together)."""

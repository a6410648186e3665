"""Alpha obi_multi (the package marker lets pytest collect every alpha's test_alpha.py together)."""

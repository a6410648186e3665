"""Alpha trade_sign_flow (the package marker lets pytest collect every alpha's test_alpha.py together)."""

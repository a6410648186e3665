"""What governance records: audit rows, the hash-chained promotion ledger, the experiment registry."""

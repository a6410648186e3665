"""The Alpha API: what an alpha is, where it is found, and its strictly parsed config."""

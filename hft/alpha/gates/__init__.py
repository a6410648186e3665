"""The validation and promotion gates (A–E), what a gate returns, and the execution strategy Gate D replays."""

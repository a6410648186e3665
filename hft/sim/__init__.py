"""The deterministic event-replay simulator (engine, simulated venue, latency, fees, strategies)."""

"""The message bus of the live service: NATS JetStream through nats-py (`nats_bus`), a local nats-server for a
single machine and for tests (`embedded`), and the active/standby leader lease in a NATS KV bucket (`lease`).
An adapter: it knows NATS, the config section `signals.bus` / `signals.ha`, nothing of HTTP."""

"""`hft gateway serve`: the gateway as a live service, on the same `hft.gateway.GatewayService`.

Modules (one job each; later layers - signed webhooks, NATS, active/standby - build on them):

- `auth`     JWT HS256 bearer tokens: which accounts / strategies a token may trade as.
- `orders`   the order API's request bodies (msgspec), validation into typed intents, the answer bodies.
- `ingress`  queue-pressure control of the intake channel (soft reject, kill, recovery with hysteresis).
- `engine`   `LiveGateway`: the one writer. Decides intake batches through `GatewayService.process`, records
             every decision / report / control to the WAL (group commit), then dispatches to the venue.
- `recovery` rebuilds the service's state on start by replaying its own WAL, then reconciles with the venue.
- `venues`   the venues behind the dispatcher: `LoopbackVenue` (fills or rests, keeps its own journal) and
             `PaperVenue` (the simulator's venue fed by a recorded day on the wall clock).
- `app`      the ASGI application (routes, status codes, metrics of the HTTP layer).
- `http`     the HTTP/1.1 front (httptools on the service's loop): one write per answer, keep-alive, limits.
- `server`   process wiring: config, WAL, venue, engine, app under the HTTP front (`http`); signals.

See docs/live.md.
"""

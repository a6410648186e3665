"""`hft gateway serve`: the gateway as a live service, on the same `hft.gateway.GatewayService`.

Modules (one job each; later layers - signed webhooks, NATS, active/standby - build on them):

- `auth`     JWT HS256 bearer tokens: which accounts / strategies a token may trade as.
- `orders`   the order API's request bodies (msgspec), validation into typed intents, the answer bodies.
- `ingress`  queue-pressure control of the intake channel (soft reject, kill, recovery with hysteresis).
- `engine`   `LiveGateway`: the one writer. Decides intake batches through `GatewayService.process`, records
             every decision / report / control to the WAL (group commit), then dispatches to the venue.
- `recovery` rebuilds the service's state on start by replaying its own WAL, then reconciles with the venue.
- `venue`    the venue adapter contract (`Venue`, `Reconciling`) and the registry that builds one by name
             (`venue_adapter`: built-ins, the entry-point group ``hft.venues``, ``module:factory``);
             `venue_conformance` checks an adapter against it through the real service.
- `venues`   the built-in adapters: `LoopbackVenue` (fills or rests, keeps its own journal); `paper`'s
             `PaperVenue` (the simulator's venue fed by a recorded day on the wall clock).
- `app`      the ASGI application (routes, status codes, metrics of the HTTP layer).
- `http`     the HTTP/1.1 front (httptools on the service's loop): one write per answer, keep-alive, limits.
- `server`   process wiring: config, WAL, venue, engine, app under the HTTP front (`http`); signals.

See docs/live.md.
"""

from hft.core.exports import lazy_exports

__all__, __getattr__, __dir__ = lazy_exports(__name__, {
    "Venue": "hft.live.venue",
    "Reconciling": "hft.live.venue",
    "VenueContext": "hft.live.venue",
    "venue_adapter": "hft.live.venue",
})

"""The exchange: quality parameters, class schemes, order books, matching and brokering.

The modules directly in this package are the pure domain (no I/O, clock injected);
`marketplace.store` persists it and `marketplace.api` serves it over gRPC.
"""

from marketplace import compiled as _compiled

_compiled.install()

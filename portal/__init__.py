"""The web portal: order entry, live deals, the market and the fabric in a browser.

A client of the exchange's own gRPC API like the CLI: every rule and permission the API
enforces holds here too, and the portal keeps nothing of the market itself — only its
users, their saved order templates and their sessions."""

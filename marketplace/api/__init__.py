"""The gRPC edge: translate between ixchange.v1 messages and the domain, nothing more."""

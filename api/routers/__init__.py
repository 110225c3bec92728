"""HTTP routers: each translates requests to reasoner calls and results to responses."""

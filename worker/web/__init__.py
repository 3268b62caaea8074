"""The review pages (``icp serve``): sign-in, a connection's home, proposals, history, drift and measurement."""

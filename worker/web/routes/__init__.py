"""The pages, one module each."""

from worker.web.routes import drift, history, home, proposal

ROUTES = [*home.ROUTES, *proposal.ROUTES, *history.ROUTES, *drift.ROUTES]

"""CRM-neutral HTTP server base: routing, auth, call counts, faults, rate limits, clock.

A personality subclasses `SandboxServer`, registers its routes with `route()` and overrides the
`*_response` hooks to shape errors the way its CRM does. `parse_body()` and `accepts_token()` let a
personality take non-JSON bodies (forms, CSV, XML) and issue its own tokens; routes registered with
`public=True` (login endpoints) need no bearer token. Given an `ssl.SSLContext` the server speaks
HTTPS instead of HTTP.
"""

from __future__ import annotations

import json
import re
import socket
import ssl
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Literal, Self
from urllib.parse import parse_qs, urlsplit

from sandbox.clock import Clock
from sandbox.faults import Fault, FaultInjector
from sandbox.ratelimit import RateLimiter, RateState

__all__ = ["Request", "Response", "Route", "Handler", "SandboxServer"]

RouteKind = Literal["default", "search"]


@dataclass
class Request:
    """A parsed request as seen by a route handler."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: Mapping[str, str]
    body: Any
    params: dict[str, str] = field(default_factory=dict)
    route: str = ""
    raw: bytes = b""

    def arg(self, name: str, default: str | None = None) -> str | None:
        """First value of query parameter `name`."""
        values = self.query.get(name)
        return values[0] if values else default

    def args(self, name: str) -> list[str]:
        """All values of a query parameter, repeated keys and comma-separated lists alike."""
        return [part for value in self.query.get(name, []) for part in value.split(",") if part]


@dataclass
class Response:
    """What a handler answers: status, a JSON-serialisable body (or None) and extra headers.

    `raw` bytes, when given, are sent as they are instead of `body` (with the handler's own
    Content-Type header), for CSV or XML answers. `cut` breaks the connection instead of
    answering ("drop": close without a status line; "truncate": headers and half the body).
    """

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None
    cut: str | None = None


Handler = Callable[[Request], Response]


@dataclass(frozen=True)
class Route:
    """One entry of the route table; `name` is what calls are counted and faults matched by."""

    method: str
    pattern: str
    handler: Handler
    kind: RouteKind
    regex: re.Pattern[str]
    public: bool = False

    @property
    def name(self) -> str:
        """Stable route name, e.g. "GET /crm/v3/objects/companies/{id}"."""
        return f"{self.method} {self.pattern}"


def _compile(pattern: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[a-zA-Z_]+\})", pattern.rstrip("/"))
    regex = "".join(f"(?P<{p[1:-1]}>[^/]+)" if p.startswith("{") else re.escape(p) for p in parts)
    return re.compile(regex + "/?")


class SandboxServer:
    """A threaded HTTP server on 127.0.0.1 running in a daemon thread.

    Use as a context manager or call `start()` / `stop()`. `calls` counts requests per route name,
    `faults` injects canned responses, `clock` stamps modifications, `rate_limit()` switches
    limits on. Without `token` any bearer token is accepted; with it only that one. With
    `ssl_context` the server answers HTTPS.
    """

    def __init__(self, port: int = 0, token: str | None = None, host: str = "127.0.0.1",
                 ssl_context: ssl.SSLContext | None = None) -> None:
        self.host = host
        self.token = token
        self.ssl_context = ssl_context
        self.clock = Clock()
        self.faults = FaultInjector()
        self.limiter = RateLimiter(self.clock)
        self.calls: Counter[str] = Counter()
        self.errors: list[BaseException] = []
        self.observers: list[Callable[[Request, Response], None]] = []
        """Called with every request a route handled and its answer (the CRM acted), e.g. to log writes."""
        self.lock = threading.RLock()
        self._requested_port = port
        self._routes: list[Route] = []
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def route(self, method: str, pattern: str, handler: Handler, kind: RouteKind = "default",
              public: bool = False) -> Route:
        """Register `handler` for `method` and a path pattern with `{name}` segments.

        A `public` route (a login endpoint) needs no bearer token and is not rate limited.
        """
        entry = Route(method.upper(), pattern, handler, kind, _compile(pattern), public)
        self._routes.append(entry)
        return entry

    @property
    def routes(self) -> list[Route]:
        """The route table in match order."""
        return list(self._routes)

    def rate_limit(self, per_10s: int | None = None, daily: int | None = None,
                   search_per_second: int | None = None, retry_after: float | None = None) -> None:
        """Enforce limits (None switches one off); over a limit answers 429."""
        self.limiter.configure(per_10s, daily, search_per_second, retry_after)

    def reset_calls(self) -> None:
        """Zero the call counters."""
        with self.lock:
            self.calls.clear()

    def start(self) -> Self:
        """Bind and serve in a daemon thread; returns self."""
        if self._httpd is not None:
            return self
        httpd = _HTTPServer((self.host, self._requested_port), _RequestHandler)
        httpd.app = self
        if self.ssl_context is not None:
            httpd.socket = self.ssl_context.wrap_socket(httpd.socket, server_side=True,
                                                        do_handshake_on_connect=False)
        self._httpd = httpd
        self._thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02},
                                        name="sandbox-http", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        if self._httpd is None:
            return
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd, self._thread = None, None

    @property
    def port(self) -> int:
        """The bound port (after `start()`)."""
        if self._httpd is None:
            raise RuntimeError("server is not running")
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """Base URL, e.g. http://127.0.0.1:54321 (https:// when serving TLS)."""
        scheme = "https" if self.ssl_context is not None else "http"
        return f"{scheme}://{self.host}:{self.port}"

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def dispatch(self, method: str, raw_path: str, headers: Mapping[str, str], raw_body: bytes) -> Response:
        """Answer one request (used by the HTTP layer; callable directly in tests)."""
        split = urlsplit(raw_path)
        path = split.path
        query = parse_qs(split.query, keep_blank_values=True)
        headers = {k.lower(): v for k, v in headers.items()}
        matched = self._match(method.upper(), path)
        route_name = matched[0].name if matched else f"{method.upper()} {path}"
        with self.lock:
            self.calls[route_name] += 1
        public = matched is not None and matched[0].public
        if not public and not self._authorized(headers.get("authorization", "")):
            return self.unauthorized_response()
        if matched is None:
            return self.not_found_response(f"No route for {method.upper()} {path}")
        route, params = matched
        refused = None if public else self.forbidden_response(route)
        if refused is not None:
            return refused
        fault = self.faults.take(route.name)
        if fault is not None and not fault.after:
            return self._fault_response(fault, None)
        breach = None if public else self.limiter.check(route.kind == "search")
        if breach is not None:
            return self.rate_limited_response(breach)
        try:
            body = self.parse_body(headers, raw_body)
        except ValueError:
            return self.error_response(400, "Invalid input JSON on line 1")
        request = Request(method.upper(), path, query, headers, body, params, route.name, raw_body)
        response = self._call(route, request)
        for observe in self.observers:
            observe(request, response)
        self.decorate(route, response, self.limiter.state())
        return response if fault is None else self._fault_response(fault, response)

    def _fault_response(self, fault: Fault, acted: Response | None) -> Response:
        """The answer a fault gives instead of the real one (``acted``: what the CRM did answer)."""
        time.sleep(fault.delay)
        if fault.cut == "truncate" and acted is not None:
            payload = acted.raw if acted.raw is not None else json.dumps(acted.body).encode()
            return Response(acted.status, None, dict(acted.headers), payload, cut="truncate")
        if fault.raw is not None:
            return Response(fault.status, None, dict(fault.headers), fault.raw, cut=fault.cut)
        body = fault.body if fault.body is not None else self.error_response(fault.status).body
        return Response(fault.status, body, dict(fault.headers), cut=fault.cut)

    def _match(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        for entry in self._routes:
            if entry.method == method:
                found = entry.regex.fullmatch(path)
                if found:
                    return entry, found.groupdict()
        return None

    def _authorized(self, header: str) -> bool:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return False
        return self.accepts_token(token.strip())

    def accepts_token(self, token: str) -> bool:
        """Whether a bearer token is good: any without `token`, else only that one."""
        return self.token is None or token == self.token

    def parse_body(self, headers: Mapping[str, str], raw: bytes) -> Any:
        """The handler's `body` from the raw request body: JSON by default (ValueError answers 400)."""
        return json.loads(raw) if raw else None

    def _call(self, route: Route, request: Request) -> Response:
        try:
            with self.lock:
                return route.handler(request)
        except Exception as exc:
            self.errors.append(exc)
            return self.error_response(500, f"Internal error: {exc!r}")

    def error_response(self, status: int, message: str | None = None, **extra: Any) -> Response:
        """A generic error; personalities override to match their CRM's body."""
        return Response(status, {"status": "error", "message": message or f"HTTP {status}", **extra})

    def forbidden_response(self, route: Route) -> Response | None:
        """Answer for a good token that may not use ``route`` (a missing scope or permission); None allows it."""
        return None

    def unauthorized_response(self) -> Response:
        """Answer for a missing or wrong bearer token."""
        return self.error_response(401, "Authentication credentials not found.")

    def not_found_response(self, message: str) -> Response:
        """Answer for an unknown path."""
        return self.error_response(404, message)

    def rate_limited_response(self, policy: str) -> Response:
        """Answer for a request over a rate limit."""
        return self.error_response(429, f"Rate limit {policy} exceeded")

    def decorate(self, route: Route, response: Response, state: RateState) -> None:
        """Add personality headers to a normal response (no-op by default)."""


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    app: SandboxServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Ignore clients that hung up (e.g. after a timeout) or refused TLS; report anything else."""
        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError, ssl.SSLError)):
            super().handle_error(request, client_address)


class _RequestHandler(BaseHTTPRequestHandler):
    """One connection's requests.

    Nagle's algorithm is off (TCP_NODELAY) and each response leaves in one write, status line,
    headers and body together: written apart, the body waited for the client's delayed ACK of the
    headers, about 40 ms per request on a kept-alive connection.
    """

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: _HTTPServer
    _headers_buffer: list[bytes]  # BaseHTTPRequestHandler's own buffer, which send_header fills

    def setup(self) -> None:
        """Finish the TLS handshake in the request's own thread, never in the accept loop."""
        if isinstance(self.request, ssl.SSLSocket):
            self.request.settimeout(10.0)
            self.request.do_handshake()
            self.request.settimeout(None)
        super().setup()

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        response = self.server.app.dispatch(self.command, self.path, dict(self.headers.items()), raw)
        if response.cut == "drop":
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        if response.raw is not None:
            payload = response.raw
        else:
            payload = b"" if response.body is None else json.dumps(response.body, separators=(",", ":")).encode()
        self.send_response(response.status)
        if payload and response.raw is None:
            self.send_header("Content-Type", "application/json;charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        for key, value in response.headers.items():
            self.send_header(key, value)
        if response.cut == "truncate":
            self.end_headers()
            self.wfile.write(payload[: len(payload) // 2])
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        self._headers_buffer.append(b"\r\n")
        self._headers_buffer.append(payload)
        self.flush_headers()

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _handle

    def date_time_string(self, timestamp: float | None = None) -> str:
        """The ``Date`` header from the sandbox's clock, as the CRM's own clock would stamp it."""
        moment = self.server.app.clock.now().timestamp() if timestamp is None else timestamp
        return formatdate(moment, usegmt=True)

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet."""

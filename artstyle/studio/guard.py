"""The studio's door: which requests it answers at all.

Any web page the artist visits can make the browser send requests to a local port: a form POST
goes cross-site without a preflight, and a DNS-rebinding page (a name of its own that resolves
to 127.0.0.1) can even read the answers. As Jupyter's server does, the studio answers a request
only when

- its `Host` is the address the studio serves (a rebound name is refused), with its port;
- for anything that changes state, its `Origin` (or, without one, its `Referer`) is that same
  origin: the studio's own page;
- when it listens beyond loopback, it carries the token printed at start: in the address once
  (`?token=`), then in an HttpOnly cookie the answer sets, or as `Authorization: token ...`;
- it is not what a browser marks as fetched by another site (`Sec-Fetch-Site`), short of
  opening the page: an image or script tag elsewhere cannot make the studio draw batches;
- its body is no larger than the studio accepts (uploads are limited again one by one).

Each refusal is one line of JSON with a 4xx, like every other error of the studio.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

#: Names of this machine that only its own programs reach.
LOOPBACK = ("127.0.0.1", "localhost", "::1")
#: Addresses that listen on every interface: any name may reach them, so the token guards them.
WILDCARD = ("0.0.0.0", "::", "")
#: Methods that only read; every other one changes the studio's state.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _netloc(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


@dataclass(frozen=True)
class Door:
    """The address the studio serves, its token (None on loopback) and its largest body."""

    host: str
    port: int
    token: str | None
    max_body: int

    @classmethod
    def serving(cls, host: str, port: int, max_body: int) -> Door:
        """The door of a studio at `host`:`port`; a fresh token unless `host` is loopback."""
        token = None if host in LOOPBACK else secrets.token_urlsafe(24)
        return cls(host, port, token, max_body)

    @property
    def cookie(self) -> str:
        """The token's cookie, one per port (cookies are shared by every port of a host)."""
        return f"artstyle-studio-{self.port}"

    @property
    def address(self) -> str:
        """The studio's address, without its token."""
        host = "127.0.0.1" if self.host in WILDCARD else self.host
        return f"http://{_netloc(host, self.port)}"

    def url(self) -> str:
        """The address to open, with the token where one is needed (print it: it is the key)."""
        return self.address + (f"/?{urlencode({'token': self.token})}" if self.token else "")

    def hosts(self) -> frozenset[str] | None:
        """The `Host` headers accepted (None: any, for a wildcard address)."""
        if self.host in WILDCARD:
            return None
        names = {*LOOPBACK, self.host}
        accepted = {_netloc(name, self.port) for name in names}
        if self.port == 80:
            accepted |= {f"[{n}]" if ":" in n else n for n in names}
        return frozenset(accepted)

    def refusal(self, request: Request) -> tuple[int, str] | None:
        """(status, one line) when `request` is refused, else None."""
        host = request.headers.get("host", "").lower()
        hosts = self.hosts()
        if hosts is not None and host not in hosts:
            return 403, f"refused: this studio answers at {self.address}, not at host {host!r}"
        given = self._token(request).encode()
        if self.token and not secrets.compare_digest(given, self.token.encode()):
            return (
                401,
                f"refused: open the address with the token printed at start "
                f"({self.address}/?token=...)",
            )
        fetched_by = request.headers.get("sec-fetch-site", "same-origin")
        opened = request.headers.get("sec-fetch-mode") == "navigate" and request.method == "GET"
        if fetched_by in ("cross-site", "same-site") and not opened:
            return 403, "refused: another site's page may not use this studio"
        if request.method in SAFE_METHODS:
            return None
        origin = request.headers.get("origin") or _origin(request.headers.get("referer", ""))
        parts = urlsplit(origin)
        if parts.scheme not in ("http", "https") or parts.netloc.lower() != host:
            return (
                403,
                f"refused: only the studio's own page may change it, not "
                f"{origin or 'a request without Origin or Referer'}",
            )
        length = request.headers.get("content-length")
        if length is None and "transfer-encoding" in request.headers:
            return 411, "refused: a request with a body must say its length (Content-Length)"
        if length is not None and (not length.isdigit() or int(length) > self.max_body):
            return (
                413,
                f"refused: more than the {self.max_body / 2**20:.0f} MB this studio takes in "
                "one request; send fewer files at a time",
            )
        return None

    def _token(self, request: Request) -> str:
        header = request.headers.get("authorization", "")
        if header.lower().startswith("token "):
            return header[6:].strip()
        return request.query_params.get("token") or request.cookies.get(self.cookie, "")


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


class Guard:
    """ASGI middleware letting through only what `door` accepts; a token given in the address
    is moved into an HttpOnly cookie by a redirect to the same address without it."""

    def __init__(self, app: ASGIApp, door: Door) -> None:
        self.app, self.door = app, door

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        refused = self.door.refusal(request)
        response: Response | None = None
        if refused is not None:
            status, line = refused
            response = JSONResponse({"error": line}, status_code=status)
        elif self.door.token and "token" in request.query_params and request.method == "GET":
            kept = urlencode(
                [(k, v) for k, v in request.query_params.multi_items() if k != "token"]
            )
            response = RedirectResponse(request.url.path + (f"?{kept}" if kept else ""), 303)
            response.set_cookie(
                self.door.cookie, self.door.token, httponly=True, samesite="strict", path="/"
            )
        if response is not None:
            await response(scope, receive, send)
        else:
            await self.app(scope, receive, send)

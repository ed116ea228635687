"""Who may use the control plane and the dashboard.

An emulator listening beyond loopback always has an admin token: given, or
generated at start (see `Emulator.start`). With one, a request must carry it: in the
`X-Emulator-Admin-Token` header, as `Authorization: Bearer TOKEN`, or as the
dashboard's session cookie, which holds a digest of the token (never the
token itself) and is set by the dashboard's sign-in form.

Whatever the token, a state-changing request sent by a page of another
origin is refused, so a web page open in the developer's browser cannot
reset or steer a local emulator behind their back.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from urllib.parse import urlsplit

from starlette.requests import Request

from emulator.config import Settings

TOKEN_HEADER = "x-emulator-admin-token"
SESSION_COOKIE = "transcode_emulator_session"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


class AdminTokenRequired(Exception):
    """The request lacks the admin token (or the dashboard's session cookie)."""


class CrossOriginRefused(Exception):
    """A state-changing request came from a page of another origin."""


def is_loopback_host(host: str) -> bool:
    """True for addresses only this machine can reach (127.0.0.1, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def session_value(token: str) -> str:
    """What the session cookie holds: a digest that cannot be turned back into the token."""
    return hmac.new(token.encode(), b"transcode-emulator-dashboard", hashlib.sha256).hexdigest()


def is_admin(settings: Settings, request: Request) -> bool:
    token = settings.admin_token
    if not token:
        return True

    given = request.headers.get(TOKEN_HEADER, "")
    authorization = request.headers.get("authorization", "")
    if not given and authorization.lower().startswith("bearer "):
        given = authorization[7:].strip()
    if given:
        return token_matches(settings, given)

    cookie = request.cookies.get(SESSION_COOKIE, "")
    return bool(cookie) and hmac.compare_digest(cookie.encode(), session_value(token).encode())


def token_matches(settings: Settings, given: str) -> bool:
    token = settings.admin_token
    return bool(token) and hmac.compare_digest(given.encode(), token.encode())


def require_admin(settings: Settings, request: Request) -> None:
    if request.method not in SAFE_METHODS and not is_same_origin(request):
        raise CrossOriginRefused()
    if not is_admin(settings, request):
        raise AdminTokenRequired()


def is_same_origin(request: Request) -> bool:
    """True unless a browser says the request comes from a page of another site."""
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        # No origin, or one hidden by a referrer policy: the fetch metadata
        # browsers send tells; clients such as curl send neither.
        return request.headers.get("sec-fetch-site", "same-origin") in (
            "same-origin", "none",
        )
    host = request.headers.get("host", "")
    return urlsplit(origin).netloc.lower() == host.lower()

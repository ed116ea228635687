"""The FastAPI application: SoftLayer's REST and XML-RPC, the control plane, the dashboard."""

from __future__ import annotations

import logging
import time
from typing import Any, Callable

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from emulator.backend import Backend
from emulator.control.access import AdminTokenRequired, CrossOriginRefused
from emulator.control.routes import PREFIX, control_router
from emulator.control.state import ControlError
from emulator.dashboard import dashboard_router
from emulator.dispatch import Dispatcher
from emulator.errors import SoftLayerError
from emulator.protocols.rest import rest_router
from emulator.protocols.xmlrpc import dump_fault, xmlrpc_router
from emulator.services import ALL_SERVICES

log = logging.getLogger("emulator.control")


def create_app(
    backend: Backend,
    health: Callable[[], dict[str, Any]],
    reset: Callable[[], None] | None = None,
) -> FastAPI:
    app = FastAPI(
        title="SoftLayer Transcode emulator",
        # Swagger UI fetches its script from a CDN and the emulator must work
        # offline, so only the OpenAPI document itself is served.
        docs_url=None,
        openapi_url=PREFIX + "/openapi.json",
        redoc_url=None,
    )
    dispatcher = Dispatcher(backend, ALL_SERVICES)
    app.state.dispatcher = dispatcher
    limit = backend.settings.max_body_bytes
    app.include_router(rest_router(dispatcher, limit))
    app.include_router(xmlrpc_router(dispatcher, limit))
    app.include_router(control_router(backend, health, reset))
    app.include_router(dashboard_router(backend))
    app.add_middleware(ControlRequestLog)

    @app.exception_handler(ControlError)
    async def control_error(_request: Request, error: ControlError) -> JSONResponse:
        return JSONResponse({"error": str(error)}, status_code=400)

    @app.exception_handler(SoftLayerError)
    async def softlayer_error(_request: Request, error: SoftLayerError) -> JSONResponse:
        return JSONResponse(
            {"error": error.message, "code": error.code}, status_code=error.http_status
        )

    @app.exception_handler(AdminTokenRequired)
    async def admin_required(_request: Request, _error: AdminTokenRequired) -> JSONResponse:
        return JSONResponse(
            {"error": "This control endpoint needs the admin token (X-Emulator-Admin-Token)."},
            status_code=401,
        )

    @app.exception_handler(CrossOriginRefused)
    async def cross_origin(_request: Request, _error: CrossOriginRefused) -> JSONResponse:
        return JSONResponse(
            {"error": "Control requests from a page of another origin are refused."},
            status_code=403,
        )

    @app.exception_handler(RequestValidationError)
    async def invalid_control_request(_request: Request, error: RequestValidationError) -> JSONResponse:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', '')}"
            for e in error.errors()[:5]
        )
        return JSONResponse({"error": f"Invalid request: {problems}"}, status_code=400)

    @app.exception_handler(OverflowError)
    async def id_out_of_range(_request: Request, _error: OverflowError) -> JSONResponse:
        # Only ids beyond 64 bits overflow the database driver; none exists.
        return JSONResponse({"error": "No such object: the id is out of range."}, status_code=404)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> Response:
        return softlayer_shaped_http_error(request, error)

    @app.get("/", include_in_schema=False)
    async def root() -> RedirectResponse:
        return RedirectResponse(PREFIX + "/")

    return app


def softlayer_shaped_http_error(request: Request, error: StarletteHTTPException) -> Response:
    """Routing errors under the SoftLayer paths answer as SoftLayer would.

    A URL no route matches (a path segment holding a newline, a service name
    with a slash) never reaches the adapters; without this it would get
    FastAPI's own `{"detail": ...}` body, which SoftLayer clients cannot read.
    """
    path = request.url.path
    message = f"Unable to route the request ({error.status_code} {error.detail})."
    if path.startswith("/xmlrpc/"):
        return Response(
            dump_fault("SoftLayer_Exception_Public", message), media_type="text/xml"
        )
    if path.startswith("/rest/"):
        return JSONResponse(
            {"error": message, "code": "SoftLayer_Exception_Public"},
            status_code=error.status_code,
        )
    return JSONResponse({"error": str(error.detail)}, status_code=error.status_code)


class ControlRequestLog:
    """One log line per control request that changes something.

    The SoftLayer adapters log their own calls; the dashboard's polling is
    logged only at DEBUG so it does not drown them.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(PREFIX):
            await self.app(scope, receive, send)
            return

        started = time.perf_counter()
        status = 500

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            level = logging.DEBUG if scope["method"] in ("GET", "HEAD") else logging.INFO
            log.log(
                level, "control %s %s status=%s ms=%.1f",
                scope["method"], scope["path"][:200], status,
                (time.perf_counter() - started) * 1000,
            )

"""The FastAPI application: SoftLayer's REST and XML-RPC, and the control plane."""

from __future__ import annotations

from typing import Any, Callable

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse

from emulator.backend import Backend
from emulator.control.routes import AdminTokenRequired, control_router
from emulator.control.state import SeedError
from emulator.dispatch import Dispatcher
from emulator.errors import SoftLayerError
from emulator.protocols.rest import rest_router
from emulator.protocols.xmlrpc import xmlrpc_router
from emulator.services import ALL_SERVICES


def create_app(backend: Backend, health: Callable[[], dict[str, Any]]) -> FastAPI:
    app = FastAPI(
        title="SoftLayer Transcode emulator",
        docs_url="/_emulator/docs",
        openapi_url="/_emulator/openapi.json",
        redoc_url=None,
    )
    dispatcher = Dispatcher(backend, ALL_SERVICES)
    app.state.dispatcher = dispatcher
    limit = backend.settings.max_body_bytes
    app.include_router(rest_router(dispatcher, limit))
    app.include_router(xmlrpc_router(dispatcher, limit))
    app.include_router(control_router(backend, health))
    _install_dashboard(app, backend)

    @app.exception_handler(SeedError)
    async def seed_error(_request: Request, error: SeedError) -> JSONResponse:
        return JSONResponse({"error": str(error)}, status_code=400)

    @app.exception_handler(SoftLayerError)
    async def softlayer_error(_request: Request, error: SoftLayerError) -> JSONResponse:
        return JSONResponse({"error": error.message, "code": error.code}, status_code=error.http_status)

    @app.exception_handler(AdminTokenRequired)
    async def admin_required(_request: Request, _error: AdminTokenRequired) -> JSONResponse:
        return JSONResponse(
            {"error": "This control endpoint needs the admin token (X-Emulator-Admin-Token)."},
            status_code=401,
        )

    @app.get("/", include_in_schema=False)
    async def root() -> RedirectResponse:
        return RedirectResponse("/_emulator/")

    return app


def _install_dashboard(app: FastAPI, backend: Backend) -> None:
    try:
        from emulator.dashboard import dashboard_router
    except ImportError:
        return
    app.include_router(dashboard_router(backend))

"""HTTP routes of the control plane, under /_emulator/.

Every route but `/health` needs the admin token when one is configured
(see `emulator.control.access`). Bodies are JSON, or YAML when the
content type says so.
"""

from __future__ import annotations

import json
from typing import Any, Callable

import yaml
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from emulator.backend import Backend
from emulator.control import state
from emulator.control.access import require_admin
from emulator.control.seed import seed
from emulator.protocols.common import read_body

PREFIX = "/_emulator"
MAX_CLOCK_ADVANCE = 10 * 365 * 86400


def control_router(
    backend: Backend,
    health: Callable[[], dict[str, Any]],
    reset: Callable[[], None] | None = None,
) -> APIRouter:
    """`health` reports the readiness of API, FTP and worker; `reset` wipes the state.

    The emulator passes its own `reset`, which also recycles its in-process
    transcoders so no job of the old state finishes into the new one.
    """
    router = APIRouter(prefix=PREFIX)
    settings = backend.settings
    reset = reset or (lambda: state.reset(backend))

    @router.get("/health")
    async def get_health() -> JSONResponse:
        report = health()
        return JSONResponse(report, status_code=200 if report["status"] == "ok" else 503)

    @router.post("/reset")
    async def post_reset(request: Request) -> JSONResponse:
        require_admin(settings, request)
        await run_in_threadpool(reset)
        return JSONResponse({"reset": True})

    @router.post("/seed")
    async def post_seed(request: Request) -> JSONResponse:
        require_admin(settings, request)
        document = await _document(request, backend)
        result = await run_in_threadpool(seed, backend, document, None, False)
        return JSONResponse(result)

    @router.get("/clock")
    async def get_clock(request: Request) -> JSONResponse:
        require_admin(settings, request)
        return JSONResponse(state.clock_report(backend))

    @router.post("/clock/advance")
    async def post_clock_advance(request: Request) -> JSONResponse:
        require_admin(settings, request)
        body = await _document(request, backend)
        seconds = body.get("seconds") if isinstance(body, dict) else None
        if (
            isinstance(seconds, bool)
            or not isinstance(seconds, (int, float))
            or not 0 <= seconds <= MAX_CLOCK_ADVANCE
        ):
            raise state.ControlError('give {"seconds": N} with 0 <= N <= ten years')
        return JSONResponse(await run_in_threadpool(state.advance_clock, backend, seconds))

    @router.get("/notifications")
    async def get_notifications(
        request: Request, jobId: int | None = None, accountId: int | None = None
    ) -> JSONResponse:
        require_admin(settings, request)
        found = await run_in_threadpool(state.list_notifications, backend, jobId, accountId)
        return JSONResponse(found)

    @router.get("/jobs/rules")
    async def get_rules(request: Request) -> JSONResponse:
        require_admin(settings, request)
        return JSONResponse(await run_in_threadpool(state.list_rules, backend))

    @router.delete("/jobs/rules")
    async def delete_rules(request: Request, kind: str | None = None) -> JSONResponse:
        require_admin(settings, request)
        if kind is not None and kind not in state.STEERING_KINDS:
            raise state.ControlError(f"unknown steering rule kind '{kind[:40]}'")
        removed = await run_in_threadpool(state.remove_rules, backend, kind)
        return JSONResponse({"removed": removed})

    @router.delete("/jobs/rules/{rule_id:int}")
    async def delete_rule(rule_id: int, request: Request) -> JSONResponse:
        require_admin(settings, request)
        removed = await run_in_threadpool(state.remove_rule, backend, rule_id)
        return JSONResponse({"removed": removed}, status_code=200 if removed else 404)

    @router.post("/jobs/release")
    async def post_release(request: Request) -> JSONResponse:
        require_admin(settings, request)
        removed = await run_in_threadpool(state.remove_rules, backend, "hold")
        return JSONResponse({"removed": removed})

    @router.post("/jobs/{kind}")
    async def post_rule(kind: str, request: Request) -> JSONResponse:
        require_admin(settings, request)
        body = await _document(request, backend) or {}
        if not isinstance(body, dict):
            raise state.ControlError("the body must be a JSON object")
        rule = await run_in_threadpool(state.add_rule, backend, kind, body)
        return JSONResponse(state.rule_record(rule))

    return router


async def _document(request: Request, backend: Backend) -> Any:
    body = await read_body(request, backend.settings.max_body_bytes)
    if not body.strip():
        return {}
    content_type = request.headers.get("content-type", "")
    try:
        if "yaml" in content_type:
            return yaml.safe_load(body)
        return json.loads(body)
    except (ValueError, yaml.YAMLError, RecursionError):
        raise state.ControlError(
            "the body is not valid JSON (or YAML with a yaml content type)"
        ) from None

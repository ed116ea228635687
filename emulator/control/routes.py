"""HTTP routes of the control plane, under /_emulator/."""

from __future__ import annotations

import hmac
import json
from typing import Any

import yaml
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlmodel import Session, select
from starlette.concurrency import run_in_threadpool

from emulator.backend import Backend
from emulator.control import state
from emulator.models import Notification
from emulator.notifications import notification_record
from emulator.protocols.common import read_body

PREFIX = "/_emulator"


def control_router(backend: Backend, health: Any) -> APIRouter:
    """`health` is a callable giving the readiness of API, FTP and worker."""
    router = APIRouter(prefix=PREFIX)

    @router.get("/health")
    async def get_health() -> JSONResponse:
        report = health()
        return JSONResponse(report, status_code=200 if report["status"] == "ok" else 503)

    @router.post("/reset")
    async def post_reset(request: Request) -> JSONResponse:
        _require_admin(backend, request)
        await run_in_threadpool(state.reset, backend)
        return JSONResponse({"reset": True})

    @router.post("/seed")
    async def post_seed(request: Request) -> JSONResponse:
        _require_admin(backend, request)
        document = await _document(request, backend)
        result = await run_in_threadpool(state.seed, backend, document)
        return JSONResponse(result)

    @router.get("/clock")
    async def get_clock() -> JSONResponse:
        return JSONResponse(
            {"offsetSeconds": backend.clock.offset(), "now": backend.clock.now().isoformat()}
        )

    @router.post("/clock/advance")
    async def post_clock_advance(request: Request) -> JSONResponse:
        _require_admin(backend, request)
        body = await _document(request, backend)
        seconds = body.get("seconds") if isinstance(body, dict) else None
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not 0 <= seconds <= 10 * 365 * 86400:
            raise state.SeedError("give {\"seconds\": N} with 0 <= N <= ten years")
        return JSONResponse(await run_in_threadpool(state.advance_clock, backend, seconds))

    @router.get("/notifications")
    async def get_notifications(jobId: int | None = None, accountId: int | None = None) -> JSONResponse:
        def load() -> list[dict]:
            with Session(backend.engine, expire_on_commit=False) as session:
                statement = select(Notification).order_by(Notification.id)
                if jobId is not None:
                    statement = statement.where(Notification.job_id == jobId)
                if accountId is not None:
                    statement = statement.where(Notification.account_id == accountId)
                return [notification_record(n) for n in session.exec(statement).all()]

        return JSONResponse(await run_in_threadpool(load))

    @router.get("/jobs/rules")
    async def get_rules() -> JSONResponse:
        return JSONResponse(await run_in_threadpool(state.list_rules, backend))

    @router.delete("/jobs/rules")
    async def delete_rules(request: Request) -> JSONResponse:
        _require_admin(backend, request)
        return JSONResponse({"removed": await run_in_threadpool(state.remove_rules, backend)})

    @router.post("/jobs/release")
    async def post_release(request: Request) -> JSONResponse:
        _require_admin(backend, request)
        return JSONResponse({"removed": await run_in_threadpool(state.remove_rules, backend, "hold")})

    @router.post("/jobs/{kind}")
    async def post_rule(kind: str, request: Request) -> JSONResponse:
        _require_admin(backend, request)
        body = await _document(request, backend) or {}
        if not isinstance(body, dict):
            raise state.SeedError("the body must be a JSON object")
        rule = await run_in_threadpool(state.add_rule, backend, kind, body)
        return JSONResponse(rule.model_dump())

    return router


class AdminTokenRequired(Exception):
    pass


def _require_admin(backend: Backend, request: Request) -> None:
    token = backend.settings.admin_token
    if not token:
        return
    given = request.headers.get("x-emulator-admin-token", "")
    bearer = request.headers.get("authorization", "")
    if bearer.lower().startswith("bearer "):
        given = given or bearer[7:].strip()
    if not hmac.compare_digest(given.encode(), token.encode()):
        raise AdminTokenRequired()


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
        raise state.SeedError("the body is not valid JSON (or YAML with a yaml content type)") from None

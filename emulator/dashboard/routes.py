"""The dashboard's routes: server-rendered pages under /_emulator/.

Pages poll small server-rendered fragments (`/_emulator/parts/...`) to stay
live, so every value reaches the browser through an escaping template and
the script never builds HTML from data. With an admin token configured the
pages ask for it once and keep a session cookie (see
`emulator.control.access`).
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.concurrency import run_in_threadpool

from emulator.backend import Backend
from emulator.control.access import (
    SESSION_COOKIE,
    is_admin,
    is_same_origin,
    session_value,
    token_matches,
)
from emulator.control.routes import PREFIX
from emulator.dashboard import queries

HERE = Path(__file__).resolve().parent
STATIC_FILES = {
    "dashboard.css": "text/css; charset=utf-8",
    "dashboard.js": "text/javascript; charset=utf-8",
}
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
LIVE_PARTS = ("accounts", "jobs", "files", "notifications", "rules")
MAX_LOGIN_BODY = 4096

templates = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


def dashboard_router(backend: Backend) -> APIRouter:
    router = APIRouter(prefix=PREFIX, include_in_schema=False)
    settings = backend.settings

    def page(name: str, status: int = 200, **context) -> HTMLResponse:
        html = templates.get_template(name).render(
            prefix=PREFIX, clock=queries.clock_now(backend),
            clock_offset=backend.clock.offset(),
            signed_in=bool(settings.admin_token) and name != "login.html", **context,
        )
        return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)

    def sign_in(request: Request) -> HTMLResponse:
        return page("login.html", status=401, failed=False)

    @router.get("/")
    async def overview(request: Request) -> HTMLResponse:
        if not is_admin(settings, request):
            return sign_in(request)
        parts = {name: await run_in_threadpool(_part_rows, backend, name) for name in LIVE_PARTS}
        return page("overview.html", **parts)

    @router.get("/parts/{name}")
    async def live_part(name: str, request: Request) -> Response:
        if not is_admin(settings, request):
            return Response("sign in again", status_code=401, headers=SECURITY_HEADERS)
        if name not in LIVE_PARTS:
            return Response("no such part", status_code=404, headers=SECURITY_HEADERS)
        rows = await run_in_threadpool(_part_rows, backend, name)
        return page(f"parts/{name}.html", **{name: rows})

    @router.get("/jobs/{job_id:int}")
    async def job_page(job_id: int, request: Request) -> HTMLResponse:
        if not is_admin(settings, request):
            return sign_in(request)
        found = await run_in_threadpool(queries.job, backend, job_id)
        if found is None:
            return page("missing.html", status=404, what=f"Job {job_id}")
        job, history = found
        return page("job.html", job=job, history=history)

    @router.get("/parts/job/{job_id:int}")
    async def job_part(job_id: int, request: Request) -> Response:
        if not is_admin(settings, request):
            return Response("sign in again", status_code=401, headers=SECURITY_HEADERS)
        found = await run_in_threadpool(queries.job, backend, job_id)
        if found is None:
            return Response("no such job", status_code=404, headers=SECURITY_HEADERS)
        job, history = found
        return page("parts/job.html", job=job, history=history)

    @router.get("/presets")
    async def presets(request: Request, q: str = "") -> HTMLResponse:
        if not is_admin(settings, request):
            return sign_in(request)
        query = q[:200]
        shown = queries.matching_presets(backend.catalog.presets, query)
        return page(
            "presets.html", presets=shown, query=query,
            total=len(backend.catalog.presets), search_text=queries.search_text,
        )

    @router.post("/login")
    async def login(request: Request) -> Response:
        if not is_same_origin(request):
            return Response("refused", status_code=403, headers=SECURITY_HEADERS)
        body = await request.body()
        form = parse_qs(body[:MAX_LOGIN_BODY].decode("utf-8", "replace"))
        token = (form.get("token") or [""])[0]
        if not settings.admin_token:
            return RedirectResponse(PREFIX + "/", status_code=303)
        if not token_matches(settings, token):
            return page("login.html", status=401, failed=True)
        response = RedirectResponse(PREFIX + "/", status_code=303)
        response.set_cookie(
            SESSION_COOKIE, session_value(settings.admin_token),
            httponly=True, samesite="strict", path=PREFIX,
            secure=bool(settings.tls_cert),
        )
        return response

    @router.post("/logout")
    async def logout(request: Request) -> Response:
        if not is_same_origin(request):
            return Response("refused", status_code=403, headers=SECURITY_HEADERS)
        response = RedirectResponse(PREFIX + "/", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path=PREFIX)
        return response

    @router.get("/static/{name}")
    async def static(name: str) -> Response:
        media_type = STATIC_FILES.get(name)
        if media_type is None:
            return Response("not found", status_code=404)
        content = (HERE / "static" / name).read_bytes()
        return Response(content, media_type=media_type, headers={"Cache-Control": "no-cache"})

    return router


def _part_rows(backend: Backend, name: str) -> list:
    readers = {
        "accounts": queries.accounts,
        "jobs": queries.jobs,
        "files": queries.files,
        "notifications": queries.notifications,
        "rules": queries.rules,
    }
    return readers[name](backend)

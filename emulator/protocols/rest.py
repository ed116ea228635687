"""SoftLayer's REST protocol: `{base}/{Service}/{id}/{method}.json`."""

from __future__ import annotations

import json
import logging
import time
from typing import Any
from xml.sax.saxutils import escape

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from emulator.dispatch import ApiCall, Dispatcher
from emulator.errors import (
    SoftLayer_Exception_Public,
    SoftLayerError,
    bad_request,
    unknown_service,
)
from emulator.protocols.common import (
    INTERNAL_ERROR_MESSAGE,
    basic_credentials,
    log_unexpected,
    read_body,
)

log = logging.getLogger("emulator.api")

# The method an HTTP verb means when the URL names none.
VERB_METHODS = {"GET": "getObject", "PUT": "editObject", "DELETE": "deleteObject", "POST": "createObject"}


def rest_router(dispatcher: Dispatcher, max_body_bytes: int) -> APIRouter:
    router = APIRouter()

    async def endpoint(request: Request, path: str) -> Response:
        started = time.perf_counter()
        output = "xml" if path.endswith(".xml") else "json"
        call = None
        try:
            body = await read_body(request, max_body_bytes) if request.method in ("POST", "PUT") else b""
            call = _api_call(request, path, body, dispatcher)
            result = await run_in_threadpool(dispatcher.call, call)
            response = _render(result.value, output)
            if result.total is not None:
                response.headers["SoftLayer-Total-Items"] = str(result.total)
        except SoftLayerError as error:
            response = _error(error.message, error.code, error.http_status, output)
        except Exception as error:  # the server keeps serving whatever happens
            log_unexpected(error, call.service if call else path, call.method if call else "")
            response = _error(INTERNAL_ERROR_MESSAGE, "SoftLayer_Exception_Public", 500, output)

        log.info(
            "rest %s %s status=%s ms=%.1f",
            request.method, _method_label(call, path), response.status_code,
            (time.perf_counter() - started) * 1000,
        )
        return response

    for prefix in ("/rest/v3.1", "/rest/v3"):
        router.add_api_route(
            prefix + "/{path:path}", endpoint,
            methods=["GET", "POST", "PUT", "DELETE"], include_in_schema=False,
        )
    return router


def _method_label(call: ApiCall | None, path: str) -> str:
    return f"{call.service}::{call.method}" if call else path[:120]


def _api_call(request: Request, path: str, body: bytes, dispatcher: Dispatcher) -> ApiCall:
    for suffix in (".json", ".xml"):
        if path.endswith(suffix):
            path = path[: -len(suffix)]
    segments = [s for s in path.split("/") if s]
    if not segments:
        raise unknown_service()

    service, rest = segments[0], segments[1:]
    init_id = None
    if rest and not _is_method_name(dispatcher, service, rest[0]):
        init_id = rest.pop(0)
    method = _method_name(dispatcher, service, rest.pop(0)) if rest else VERB_METHODS[request.method]
    # Remaining path segments are the method's parameters, as SoftLayer allows.
    parameters: list[Any] = list(rest)
    if body.strip():
        parameters = _body_parameters(body) or parameters

    username, api_key = basic_credentials(request)
    query = request.query_params
    return ApiCall(
        service=service,
        method=method,
        parameters=parameters,
        init_id=init_id,
        mask=query.get("objectMask"),
        filter=_query_filter(query.get("objectFilter")),
        limit=_result_limit(query.get("resultLimit"))[1],
        offset=_result_limit(query.get("resultLimit"))[0],
        username=username,
        api_key=api_key,
    )


def _is_method_name(dispatcher: Dispatcher, service: str, segment: str) -> bool:
    methods = dispatcher.methods.get(service.lower(), {})
    return segment.lower() in methods or not segment.lstrip("-").isdigit()


def _method_name(dispatcher: Dispatcher, service: str, segment: str) -> str:
    """The method a URL segment names; `TranscodeJobs` stands for `getTranscodeJobs`."""
    methods = dispatcher.methods.get(service.lower(), {})
    if segment.lower() not in methods and f"get{segment}".lower() in methods:
        return f"get{segment}"
    return segment


def _body_parameters(body: bytes) -> list:
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        raise bad_request("The request body is not valid JSON.") from None
    if not isinstance(document, dict) or set(document) - {"parameters"}:
        raise bad_request('The request body must be {"parameters": [...]}.')
    parameters = document.get("parameters", [])
    if not isinstance(parameters, list):
        raise bad_request('The "parameters" of the request body must be a list.')
    return parameters


def _query_filter(text: str | None) -> Any:
    if not text:
        return None
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        raise bad_request("objectFilter is not valid JSON.") from None


def _result_limit(text: str | None) -> tuple[Any, Any]:
    """`offset,limit` as SoftLayer's REST takes it; a lone number is a limit."""
    if not text:
        return 0, None
    parts = [p.strip() for p in text.split(",")]
    if len(parts) == 1:
        return 0, parts[0]
    if len(parts) == 2:
        return parts[0], parts[1]
    raise SoftLayer_Exception_Public("resultLimit must be 'offset,limit'.")


def _render(value: Any, output: str) -> Response:
    if output == "xml":
        return Response(to_xml(value), media_type="application/xml")
    return JSONResponse(value)


def _error(message: str, code: str, status: int, output: str) -> Response:
    body = {"error": message, "code": code}
    response = _render(body, output)
    response.status_code = status
    return response


def to_xml(value: Any) -> str:
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + _xml_element("root", value)


def _xml_element(tag: str, value: Any) -> str:
    if isinstance(value, dict):
        inner = "".join(_xml_element(k, v) for k, v in value.items())
    elif isinstance(value, list):
        inner = "".join(_xml_element("item", v) for v in value)
    elif isinstance(value, bool):
        inner = "true" if value else "false"
    else:
        inner = escape(str(value))
    return f"<{tag}>{inner}</{tag}>"

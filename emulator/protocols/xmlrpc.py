"""SoftLayer's XML-RPC protocol: `{base}/{Service}`, headers as the first parameter."""

from __future__ import annotations

import logging
import time
import xmlrpc.client
from xml.parsers.expat import ExpatError
from typing import Any

from defusedxml import DefusedXmlException
from defusedxml.xmlrpc import DefusedExpatParser
from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from emulator.dispatch import ApiCall, Dispatcher
from emulator.errors import (
    NOT_WELL_FORMED,
    SPEC_VIOLATION,
    SoftLayerError,
    bad_request,
    invalid_parameters,
)
from emulator.protocols.common import (
    INTERNAL_ERROR_MESSAGE,
    basic_credentials,
    log_unexpected,
    read_body,
)

log = logging.getLogger("emulator.api")

INT32 = range(-(2**31), 2**31)


def xmlrpc_router(dispatcher: Dispatcher, max_body_bytes: int) -> APIRouter:
    router = APIRouter()

    async def endpoint(service: str, request: Request) -> Response:
        started = time.perf_counter()
        call = None
        headers: dict[str, str] = {}
        try:
            body = await read_body(request, max_body_bytes)
            call = _api_call(service, request, body)
            result = await run_in_threadpool(dispatcher.call, call)
            payload = dump_response(result.value)
            if result.total is not None:
                headers["SoftLayer-Total-Items"] = str(result.total)
        except SoftLayerError as error:
            payload = dump_fault(error.fault_code(), error.message)
        except Exception as error:  # the server keeps serving whatever happens
            log_unexpected(error, service, call.method if call else "")
            payload = dump_fault("SoftLayer_Exception_Public", INTERNAL_ERROR_MESSAGE)

        log.info(
            "xmlrpc %s::%s ms=%.1f", service[:80], call.method if call else "?",
            (time.perf_counter() - started) * 1000,
        )
        # XML-RPC answers 200 even for faults; the fault is in the body.
        return Response(payload, media_type="text/xml", headers=headers)

    for prefix in ("/xmlrpc/v3.1", "/xmlrpc/v3"):
        router.add_api_route(
            prefix + "/{service}", endpoint, methods=["POST"], include_in_schema=False
        )
    return router


def parse_call(body: bytes) -> tuple[tuple, str]:
    """(params, method name) of a methodCall, parsed without trusting the XML."""
    unmarshaller = xmlrpc.client.Unmarshaller(use_builtin_types=True)
    # No DTD at all: that refuses entity expansion and external entities.
    parser = DefusedExpatParser(unmarshaller, forbid_dtd=True)
    try:
        parser.feed(body)
        parser.close()
    except DefusedXmlException as error:
        raise bad_request(
            f"The request XML is refused: {type(error).__name__}.", NOT_WELL_FORMED
        ) from None
    except ExpatError as error:
        raise bad_request(
            f"The request is not well-formed XML: {error}.", NOT_WELL_FORMED
        ) from None
    except (ValueError, TypeError, IndexError, KeyError, OverflowError, RecursionError):
        raise _not_xmlrpc() from None

    try:
        params = unmarshaller.close()
    except (xmlrpc.client.ResponseError, IndexError):
        raise _not_xmlrpc() from None
    method = unmarshaller.getmethodname()
    if not method:
        raise _not_xmlrpc()
    return params, method


def _not_xmlrpc() -> SoftLayerError:
    return bad_request("The request is not an XML-RPC methodCall.", SPEC_VIOLATION)


def _api_call(service: str, request: Request, body: bytes) -> ApiCall:
    params, method = parse_call(body)
    params = list(params)
    headers: dict = {}
    if params and isinstance(params[0], dict) and set(params[0]) == {"headers"}:
        headers = params.pop(0)["headers"]
        if not isinstance(headers, dict):
            raise invalid_parameters("headers must be a struct.")

    username, api_key = _credentials(headers, request)
    limit = headers.get("resultLimit") or {}
    if not isinstance(limit, dict):
        raise invalid_parameters("resultLimit must be a struct.")
    init = _header(headers, f"{service}InitParameters")
    return ApiCall(
        service=service,
        method=method,
        parameters=params,
        init_id=init.get("id") if isinstance(init, dict) else None,
        mask=_mask(headers, service),
        filter=_header(headers, f"{service}ObjectFilter"),
        limit=limit.get("limit"),
        offset=limit.get("offset", 0),
        username=username,
        api_key=api_key,
    )


def _header(headers: dict, name: str) -> Any:
    """A header by name; SoftLayer matches service names case-insensitively."""
    if name in headers:
        return headers[name]
    lowered = name.lower()
    for key, value in headers.items():
        if isinstance(key, str) and key.lower() == lowered:
            return value
    return None


def _credentials(headers: dict, request: Request) -> tuple[str | None, str | None]:
    authenticate = headers.get("authenticate")
    if isinstance(authenticate, dict) and authenticate.get("username"):
        return str(authenticate.get("username")), str(authenticate.get("apiKey") or "")
    return basic_credentials(request)


def _mask(headers: dict, service: str) -> Any:
    for name in ("SoftLayer_ObjectMask", f"{service}ObjectMask"):
        header = _header(headers, name)
        if isinstance(header, dict) and "mask" in header:
            mask = header["mask"]
            return mask_from_struct(mask) if isinstance(mask, dict) else mask
    return None


def mask_from_struct(struct: dict) -> str:
    """The old struct form of a mask ({"history": {}, "id": ""}) as mask text."""

    def items(node: dict) -> str:
        parts = []
        for name, child in node.items():
            parts.append(f"{name}[{items(child)}]" if isinstance(child, dict) and child else name)
        return ",".join(parts)

    return f"mask[{items(struct)}]"


def dump_response(value: Any) -> bytes:
    marshaller = _Marshaller("utf-8", allow_none=False)
    data = marshaller.dumps((_without_nil(value),))
    return (
        "<?xml version='1.0' encoding='utf-8'?>\n"
        f"<methodResponse>\n{data}</methodResponse>\n"
    ).encode("utf-8")


def dump_fault(code: str, message: str) -> bytes:
    fault = xmlrpc.client.Fault(code, message)
    return xmlrpc.client.dumps(fault, methodresponse=True, encoding="utf-8").encode("utf-8")


def _without_nil(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_nil(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nil(v) for v in value if v is not None]
    return value


class _Marshaller(xmlrpc.client.Marshaller):
    """Writes integers beyond 32 bits as <i8>, which clients read back."""

    dispatch = dict(xmlrpc.client.Marshaller.dispatch)

    def dump_long(self, value, write):
        if value in INT32:
            write(f"<value><int>{value}</int></value>\n")
        else:
            write(f"<value><i8>{value}</i8></value>\n")

    dispatch[int] = dump_long

"""What both protocol adapters need: bounded bodies and credentials."""

from __future__ import annotations

import base64
import binascii
import logging

from starlette.requests import Request

from emulator.errors import SoftLayerError, request_too_large

log = logging.getLogger("emulator.api")

INTERNAL_ERROR_MESSAGE = "An internal error occurred; the emulator's log has the details."


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused once it grows past `limit` bytes."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise request_too_large(limit)

    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise request_too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def basic_credentials(request: Request) -> tuple[str | None, str | None]:
    header = request.headers.get("authorization", "")
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return None, None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None, None
    username, sep, api_key = decoded.partition(":")
    return (username, api_key) if sep else (None, None)


def log_unexpected(error: Exception, service: str, method: str) -> None:
    log.error("unexpected error in %s::%s", service, method, exc_info=error)


def is_softlayer_error(error: Exception) -> bool:
    return isinstance(error, SoftLayerError)

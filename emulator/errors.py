"""SoftLayer's API errors, one class per exception code the emulator raises.

The class name is the code clients see: the REST adapter sends it as `code`
with the error's HTTP status, the XML-RPC adapter as the fault's faultCode.
Errors in the request itself (XML that does not parse, a method the service
does not have, parameters that do not fit) carry the standard numeric
XML-RPC fault codes instead, which the official client turns into its
NotWellFormed, SpecViolation, MethodNotFound and InvalidMethodParameters.
"""

from __future__ import annotations

NOT_WELL_FORMED = "-32700"
SPEC_VIOLATION = "-32600"
METHOD_NOT_FOUND = "-32601"
INVALID_METHOD_PARAMETERS = "-32602"


class SoftLayerError(Exception):
    """Base of every error a caller may see; `code` is SoftLayer's class name."""

    http_status = 500
    # Numeric XML-RPC fault code for errors in the request itself; None means
    # the fault carries the SoftLayer class name, as SoftLayer's API does.
    xmlrpc_fault_code: str | None = None

    def __init__(
        self,
        message: str,
        *,
        http_status: int | None = None,
        xmlrpc_fault_code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if http_status is not None:
            self.http_status = http_status
        if xmlrpc_fault_code is not None:
            self.xmlrpc_fault_code = xmlrpc_fault_code

    @property
    def code(self) -> str:
        # Subclasses that refine an error for the emulator's own use (such as
        # InvalidPath) report the SoftLayer class they derive from.
        for cls in type(self).__mro__:
            if cls.__name__.startswith("SoftLayer_"):
                return cls.__name__
        return "SoftLayer_Exception_Public"

    def fault_code(self) -> str:
        return self.xmlrpc_fault_code or self.code


class SoftLayer_Exception_Public(SoftLayerError):
    """SoftLayer's general error: most refusals, unknown services and methods."""


class SoftLayer_Exception_ObjectNotFound(SoftLayerError):
    http_status = 404


class SoftLayer_Exception_InvalidLegacyToken(SoftLayerError):
    """Unknown user name or wrong API key."""

    http_status = 401


class SoftLayer_Exception_WebService_Mask(SoftLayerError):
    """An object mask that cannot be parsed."""


class SoftLayer_Exception_WebService_BadRequest(SoftLayerError):
    """A request the endpoint cannot read: bad JSON, bad XML, too large."""

    http_status = 400


class SoftLayer_Exception_Network_Media_Transcode(SoftLayerError):
    """A transcode request the service refuses (limits, paths, presets)."""


def object_not_found(object_id: object) -> SoftLayer_Exception_ObjectNotFound:
    return SoftLayer_Exception_ObjectNotFound(
        f"Unable to find object with id of '{_short(object_id, 40)}'."
    )


def invalid_credentials() -> SoftLayer_Exception_InvalidLegacyToken:
    return SoftLayer_Exception_InvalidLegacyToken("Invalid API token.")


def unknown_service() -> SoftLayer_Exception_Public:
    return SoftLayer_Exception_Public("Service does not exist")


def unknown_method(method: object) -> SoftLayer_Exception_Public:
    return SoftLayer_Exception_Public(
        f'Function ("{_short(method, 80)}") is not a valid method for this service.',
        xmlrpc_fault_code=METHOD_NOT_FOUND,
    )


def invalid_parameters(message: str) -> SoftLayer_Exception_Public:
    """Too many or too few parameters, or one of the wrong type."""
    return SoftLayer_Exception_Public(message, xmlrpc_fault_code=INVALID_METHOD_PARAMETERS)


def bad_request(message: str, xmlrpc_fault_code: str | None = None) -> SoftLayerError:
    return SoftLayer_Exception_WebService_BadRequest(message, xmlrpc_fault_code=xmlrpc_fault_code)


def request_too_large(limit: int) -> SoftLayerError:
    return SoftLayer_Exception_WebService_BadRequest(
        f"The request body is larger than {limit} bytes.", http_status=413
    )


def _short(value: object, length: int) -> str:
    text = str(value)
    return text if len(text) <= length else text[:length] + "..."

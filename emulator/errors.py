"""SoftLayer's API errors, one class per exception code the emulator raises.

The class name is the code clients see: the REST adapter sends it as `code`
with the class's HTTP status, the XML-RPC adapter as the fault's faultCode.
"""

from __future__ import annotations


class SoftLayerError(Exception):
    """Base of every error a caller may see; `code` is SoftLayer's class name."""

    http_status = 500
    # Numeric XML-RPC fault code for protocol-level errors; None means the
    # fault carries the SoftLayer class name, as SoftLayer's API does.
    xmlrpc_fault_code: str | None = None

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    @property
    def code(self) -> str:
        # Subclasses that refine an error for the emulator's own use (such as
        # InvalidPath) report the SoftLayer class they derive from.
        for cls in type(self).__mro__:
            if cls.__name__.startswith("SoftLayer_"):
                return cls.__name__
        return "SoftLayer_Exception"

    def fault_code(self) -> str:
        return self.xmlrpc_fault_code or self.code


class SoftLayer_Exception(SoftLayerError):
    pass


class SoftLayer_Exception_Public(SoftLayerError):
    pass


class SoftLayer_Exception_ObjectNotFound(SoftLayerError):
    http_status = 404


class SoftLayer_Exception_NotFound(SoftLayerError):
    http_status = 404


class SoftLayer_Exception_InvalidLegacyToken(SoftLayerError):
    http_status = 401


class SoftLayer_Exception_InvalidCredentials(SoftLayerError):
    http_status = 401


class SoftLayer_Exception_AccessDenied(SoftLayerError):
    http_status = 401


class SoftLayer_Exception_Permission_Denied(SoftLayerError):
    http_status = 403


class SoftLayer_Exception_WebService_Mask(SoftLayerError):
    pass


class SoftLayer_Exception_WebService_ObjectFilter(SoftLayerError):
    pass


class SoftLayer_Exception_WebService_ResultLimit(SoftLayerError):
    pass


class SoftLayer_Exception_WebService_RequestTooLarge(SoftLayerError):
    http_status = 413


class SoftLayer_Exception_WebService_InvalidJson(SoftLayerError):
    http_status = 400


class SoftLayer_Exception_WebService_InvalidXml(SoftLayerError):
    http_status = 400
    xmlrpc_fault_code = "-32700"


class SoftLayer_Exception_WebService_InvalidParameters(SoftLayerError):
    xmlrpc_fault_code = "-32602"


class SoftLayer_Exception_WebService_UnknownService(SoftLayerError):
    http_status = 404


class SoftLayer_Exception_WebService_UnknownMethod(SoftLayerError):
    http_status = 404
    xmlrpc_fault_code = "-32601"


class SoftLayer_Exception_Network_Media_Transcode(SoftLayerError):
    """A transcode request the service refuses (limits, paths, presets)."""


def object_not_found(object_id: object) -> SoftLayer_Exception_ObjectNotFound:
    return SoftLayer_Exception_ObjectNotFound(
        f"Unable to find object with id of '{object_id}'."
    )


def invalid_credentials() -> SoftLayer_Exception_InvalidLegacyToken:
    return SoftLayer_Exception_InvalidLegacyToken(
        "Invalid API token."
    )

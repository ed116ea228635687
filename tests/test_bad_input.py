"""Bad requests get SoftLayer's error for their protocol, and the server keeps serving."""

from __future__ import annotations

import json
import time
import xmlrpc.client
from xml.etree import ElementTree

import httpx
import pytest

from tests.seeded_jobs import seeded  # noqa: F401

ACCOUNT = "SoftLayer_Network_Media_Transcode_Account"
JOB = "SoftLayer_Network_Media_Transcode_Job"
FIFTY_MB = 50 * 1024 * 1024

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<methodCall><methodName>getObject</methodName><params><param><value>
<string>&lol9;</string></value></param></params></methodCall>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE call [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<methodCall><methodName>getObject</methodName><params><param><value>
<string>&secret;</string></value></param></params></methodCall>"""


# -- helpers -------------------------------------------------------------------


def headers_for(seeded, service: str = "SoftLayer_Account", **extra) -> dict:
    username, api_key = seeded.auth
    return {"headers": {"authenticate": {"username": username, "apiKey": api_key}, **extra}}


def xmlrpc_body(method: str, *params, headers: dict) -> bytes:
    return xmlrpc.client.dumps((headers, *params), methodname=method, allow_none=True).encode()


def xmlrpc_fault(seeded, service: str, body: bytes) -> tuple[str, str]:
    response = httpx.post(seeded.emulator.xmlrpc_url + service, content=body, timeout=60)
    assert response.status_code == 200
    assert "Traceback" not in response.text
    with pytest.raises(xmlrpc.client.Fault) as fault:
        xmlrpc.client.loads(response.content)
    return fault.value.faultCode, fault.value.faultString


def rest_error(seeded, method: str, path: str, **kwargs) -> tuple[int, dict]:
    kwargs.setdefault("auth", seeded.auth)
    response = httpx.request(method, seeded.emulator.rest_url + path, timeout=60, **kwargs)
    assert "Traceback" not in response.text
    return response.status_code, response.json()


def assert_still_serving(seeded) -> None:
    response = httpx.get(
        seeded.emulator.rest_url + f"{ACCOUNT}/{seeded.transcode_account_id}.json",
        auth=seeded.auth, timeout=60,
    )
    assert response.status_code == 200
    assert response.json()["id"] == seeded.transcode_account_id

    body = xmlrpc_body(
        "getTranscodeJobs",
        headers=headers_for(seeded, **{f"{ACCOUNT}InitParameters": {"id": seeded.transcode_account_id},
                                       "resultLimit": {"limit": 2, "offset": 0}}),
    )
    response = httpx.post(seeded.emulator.xmlrpc_url + ACCOUNT, content=body, timeout=60)
    (jobs,), _ = xmlrpc.client.loads(response.content)
    assert len(jobs) == 2
    assert response.headers["softlayer-total-items"] == "60"


# -- XML-RPC -------------------------------------------------------------------


def test_malformed_xml_is_not_well_formed(seeded):
    code, message = xmlrpc_fault(seeded, ACCOUNT, b"<methodCall><methodName>getObject</methodName><params>")

    assert code == "-32700"
    assert message.startswith("The request is not well-formed XML")
    assert_still_serving(seeded)


def test_entity_expansion_is_refused_without_expanding(seeded):
    started = time.monotonic()
    code, message = xmlrpc_fault(seeded, "SoftLayer_Account", BILLION_LAUGHS)

    assert (code, message) == ("-32700", "The request XML is refused: DTDForbidden.")
    assert time.monotonic() - started < 30
    assert_still_serving(seeded)


def test_an_external_entity_is_never_read(seeded):
    response = httpx.post(seeded.emulator.xmlrpc_url + "SoftLayer_Account", content=EXTERNAL_ENTITY)

    assert "root:" not in response.text
    with pytest.raises(xmlrpc.client.Fault) as fault:
        xmlrpc.client.loads(response.content)
    assert fault.value.faultCode == "-32700"
    assert_still_serving(seeded)


@pytest.mark.parametrize(
    "body",
    [b"<hello/>", b"<methodResponse><params><param><value><int>1</int></value></param>"
                  b"</params></methodResponse>",
     b"<methodCall><params><param><value><int>1</int></value></param></params></methodCall>",
     b"<methodCall><methodName>getObject</methodName><params><param><value><int>x</int>"
     b"</value></param></params></methodCall>"],
)
def test_xml_that_is_not_a_method_call_violates_the_spec(seeded, body):
    code, message = xmlrpc_fault(seeded, "SoftLayer_Account", body)

    assert (code, message) == ("-32600", "The request is not an XML-RPC methodCall.")
    assert_still_serving(seeded)


def test_an_unknown_service_over_xmlrpc(seeded):
    body = xmlrpc_body("getObject", headers=headers_for(seeded))

    assert xmlrpc_fault(seeded, "SoftLayer_Nonexistent", body) == (
        "SoftLayer_Exception_Public", "Service does not exist"
    )
    assert_still_serving(seeded)


def test_an_unknown_method_over_xmlrpc(seeded):
    body = xmlrpc_body("getEverything", headers=headers_for(seeded))

    assert xmlrpc_fault(seeded, "SoftLayer_Account", body) == (
        "-32601", 'Function ("getEverything") is not a valid method for this service.'
    )
    assert_still_serving(seeded)


@pytest.mark.parametrize(
    ("method", "params", "message"),
    [
        ("getObject", ("extra",), "getObject expects 0 parameter(s), 1 given."),
        ("getFileDetail", (), "getFileDetail expects 1 parameter(s), 0 given."),
        ("getDirectoryInformation", ("/in", "", "x"),
         "getDirectoryInformation expects 1 to 2 parameter(s), 3 given."),
        ("getFileDetail", (42,), "Parameter 'source' of getFileDetail must be str, got int."),
        ("getPresetDetail", ({"guid": "x"},),
         "Parameter 'guid' of getPresetDetail must be str, got dict."),
    ],
)
def test_wrong_parameters_over_xmlrpc(seeded, method, params, message):
    init = {f"{ACCOUNT}InitParameters": {"id": seeded.transcode_account_id}}
    body = xmlrpc_body(method, *params, headers=headers_for(seeded, **init))

    assert xmlrpc_fault(seeded, ACCOUNT, body) == ("-32602", message)
    assert_still_serving(seeded)


def test_a_template_of_the_wrong_type_over_xmlrpc(seeded):
    body = xmlrpc_body("createObject", "not a job", headers=headers_for(seeded))

    assert xmlrpc_fault(seeded, JOB, body) == (
        "-32602", "Parameter 'template' of createObject must be dict, got str."
    )
    assert_still_serving(seeded)


@pytest.mark.parametrize(
    ("extra", "code", "message"),
    [
        ({"SoftLayer_ObjectMask": {"mask": "mask[id"}}, "SoftLayer_Exception_WebService_Mask",
         "Unable to parse object mask at column 8, expected ']', got the end: mask[id"),
        ({f"{ACCOUNT}ObjectFilter": {"transcodeJobs": {"name": {"operation": "=~ x"}}}},
         "SoftLayer_Exception_Public", "Invalid object filter on 'name': unknown operation '=~'."),
        ({"resultLimit": {"limit": -1, "offset": 0}}, "SoftLayer_Exception_Public",
         "Result limit and offset may not be negative."),
        ({"resultLimit": {"limit": 5, "offset": -5}}, "SoftLayer_Exception_Public",
         "Result limit and offset may not be negative."),
        ({"resultLimit": {"limit": 10**9, "offset": 0}}, "SoftLayer_Exception_Public",
         "Result limit may not exceed 10000 items."),
        ({"resultLimit": {"limit": "lots", "offset": 0}}, "SoftLayer_Exception_Public",
         "Result limit and offset must be whole numbers."),
        ({"resultLimit": "5"}, "-32602", "resultLimit must be a struct."),
    ],
)
def test_bad_masks_filters_and_limits_over_xmlrpc(seeded, extra, code, message):
    init = {f"{ACCOUNT}InitParameters": {"id": seeded.transcode_account_id}}
    body = xmlrpc_body("getTranscodeJobs", headers=headers_for(seeded, **init, **extra))

    assert xmlrpc_fault(seeded, ACCOUNT, body) == (code, message)
    assert_still_serving(seeded)


def test_wrong_credentials_over_xmlrpc(seeded):
    headers = {"headers": {"authenticate": {"username": seeded.auth[0], "apiKey": "wrong"}}}
    body = xmlrpc_body("getObject", headers=headers)

    assert xmlrpc_fault(seeded, "SoftLayer_Account", body) == (
        "SoftLayer_Exception_InvalidLegacyToken", "Invalid API token."
    )
    assert_still_serving(seeded)


def test_a_fifty_megabyte_xmlrpc_body_is_refused(seeded):
    padding = "x" * FIFTY_MB
    body = xmlrpc_body("getFileDetail", padding, headers=headers_for(seeded))

    code, message = xmlrpc_fault(seeded, ACCOUNT, body)

    assert code == "SoftLayer_Exception_WebService_BadRequest"
    assert message == f"The request body is larger than {seeded.emulator.settings.max_body_bytes} bytes."
    assert_still_serving(seeded)


# -- REST ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"parameters": ["/in/a.wmv"', "The request body is not valid JSON."),
        (b"\xff\xfe not even text", "The request body is not valid JSON."),
        (b"[\"/in/a.wmv\"]", 'The request body must be {"parameters": [...]}.'),
        (b'{"params": ["/in/a.wmv"]}', 'The request body must be {"parameters": [...]}.'),
        (b'{"parameters": "/in/a.wmv"}', 'The "parameters" of the request body must be a list.'),
    ],
)
def test_a_rest_body_that_is_not_json_parameters_is_a_bad_request(seeded, body, message):
    status, error = rest_error(
        seeded, "POST", f"{ACCOUNT}/{seeded.transcode_account_id}/getFileDetail.json", content=body
    )

    assert (status, error) == (400, {"error": message, "code": "SoftLayer_Exception_WebService_BadRequest"})
    assert_still_serving(seeded)


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status", "code", "message"),
    [
        ("GET", "SoftLayer_Nonexistent/getObject.json", {}, 500, "SoftLayer_Exception_Public",
         "Service does not exist"),
        ("GET", "SoftLayer_Account/getEverything.json", {}, 500, "SoftLayer_Exception_Public",
         'Function ("getEverything") is not a valid method for this service.'),
        ("DELETE", "SoftLayer_Account/1.json", {}, 500, "SoftLayer_Exception_Public",
         'Function ("deleteObject") is not a valid method for this service.'),
        ("POST", "SoftLayer_Account/getObject.json", {"json": {"parameters": [1]}}, 500,
         "SoftLayer_Exception_Public", "getObject expects 0 parameter(s), 1 given."),
        ("POST", "SoftLayer_Network_Media_Transcode_Job/createObject.json",
         {"json": {"parameters": [["a list"]]}}, 500, "SoftLayer_Exception_Public",
         "Parameter 'template' of createObject must be dict, got list."),
        ("GET", "SoftLayer_Account/getObject.json", {"params": {"objectMask": "mask[[id]"}}, 500,
         "SoftLayer_Exception_WebService_Mask",
         "Unable to parse object mask at column 6, expected a property name, got '[': mask[[id]"),
        ("GET", "SoftLayer_Account/getObject.json", {"auth": ("SL-TRANSCODE", "wrong")}, 401,
         "SoftLayer_Exception_InvalidLegacyToken", "Invalid API token."),
        ("GET", "SoftLayer_Account/getObject.json", {"auth": None}, 401,
         "SoftLayer_Exception_InvalidLegacyToken", "Invalid API token."),
    ],
)
def test_rest_errors_carry_softlayers_code_and_status(seeded, method, path, kwargs, status, code, message):
    assert rest_error(seeded, method, path, **kwargs) == (status, {"error": message, "code": code})
    assert_still_serving(seeded)


def test_wrong_parameter_counts_over_rest(seeded):
    path = f"{ACCOUNT}/{seeded.transcode_account_id}/getFileDetail.json"

    assert rest_error(seeded, "GET", path) == (500, {
        "error": "getFileDetail expects 1 parameter(s), 0 given.", "code": "SoftLayer_Exception_Public",
    })
    assert rest_error(seeded, "POST", path, json={"parameters": ["/in/a", "/in/b"]})[1]["error"] == (
        "getFileDetail expects 1 parameter(s), 2 given."
    )
    assert_still_serving(seeded)


@pytest.mark.parametrize(
    ("query", "status", "code", "message"),
    [
        ({"objectFilter": '{"transcodeJobs": '}, 400, "SoftLayer_Exception_WebService_BadRequest",
         "objectFilter is not valid JSON."),
        ({"objectFilter": json.dumps({"transcodeJobs": {"name": {"operation": "== x"}}})}, 500,
         "SoftLayer_Exception_Public", "Invalid object filter on 'name': unknown operation '=='."),
        ({"objectFilter": json.dumps({"transcodeJobs": {"name": {"operation": "contains",
                                                                 "options": [{"name": "data"}]}}})},
         500, "SoftLayer_Exception_Public",
         "Invalid object filter on 'name': unknown operation 'contains'."),
        ({"resultLimit": "0,-1"}, 500, "SoftLayer_Exception_Public",
         "Result limit and offset may not be negative."),
        ({"resultLimit": "-10,5"}, 500, "SoftLayer_Exception_Public",
         "Result limit and offset may not be negative."),
        ({"resultLimit": "0,99999999999999999999"}, 500, "SoftLayer_Exception_Public",
         "Result limit may not exceed 10000 items."),
        ({"resultLimit": "ten,5"}, 500, "SoftLayer_Exception_Public",
         "Result limit and offset must be whole numbers."),
        ({"resultLimit": "1,2,3"}, 500, "SoftLayer_Exception_Public",
         "resultLimit must be 'offset,limit'."),
    ],
)
def test_bad_filters_and_limits_over_rest(seeded, query, status, code, message):
    path = f"{ACCOUNT}/{seeded.transcode_account_id}/getTranscodeJobs.json"

    assert rest_error(seeded, "GET", path, params=query) == (status, {"error": message, "code": code})
    assert_still_serving(seeded)


def test_a_rest_error_in_xml(seeded):
    response = httpx.get(seeded.emulator.rest_url + "SoftLayer_Account/getEverything.xml", auth=seeded.auth)

    assert response.status_code == 500
    root = ElementTree.fromstring(response.content)
    assert root.tag == "root"
    assert [(child.tag, child.text) for child in root] == [
        ("error", 'Function ("getEverything") is not a valid method for this service.'),
        ("code", "SoftLayer_Exception_Public"),
    ]
    assert_still_serving(seeded)


@pytest.mark.parametrize("chunked", [False, True])
def test_a_fifty_megabyte_rest_body_is_refused(seeded, chunked):
    body = b'{"parameters": ["' + b"x" * FIFTY_MB + b'"]}'
    content = iter([body[i:i + (1 << 20)] for i in range(0, len(body), 1 << 20)]) if chunked else body

    status, error = rest_error(
        seeded, "POST", f"{ACCOUNT}/{seeded.transcode_account_id}/getFileDetail.json", content=content
    )

    assert status == 413
    assert error == {
        "error": f"The request body is larger than {seeded.emulator.settings.max_body_bytes} bytes.",
        "code": "SoftLayer_Exception_WebService_BadRequest",
    }
    assert_still_serving(seeded)

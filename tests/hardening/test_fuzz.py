"""Random input at both protocols and the FTP server: always a clear answer, never a crash.

Each test runs up to FUZZ_EXAMPLES generated inputs against one live
emulator. An answer is acceptable when it is a result or a SoftLayer error;
an internal error (an exception the emulator did not expect), a Python
traceback in the body, or no answer within the timeout fails the test.
"""

from __future__ import annotations

import ftplib
import json
import os
import xmlrpc.client
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from emulator.jobs import TEMPLATE_PROPERTIES, WATERMARK_PROPERTIES
from emulator.protocols.common import INTERNAL_ERROR_MESSAGE
from emulator.types import TYPES
from tests.hardening.instances import start_in_process
from tests.hardening.tenants import ACCOUNT, F4V_GUID, F4V_NAME, JOB, open_tenant

# Generated inputs per test; raise it for a longer hunt (docs/reliability.md).
FUZZ_EXAMPLES = int(os.environ.get("HARDENING_FUZZ_EXAMPLES", "150"))
TIMEOUT = 30.0
FUZZ = settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
)
SERVICES = [
    "SoftLayer_Account", "SoftLayer_User_Customer", ACCOUNT, JOB,
    "SoftLayer_Network_Media_Transcode_Job_Status",
]
METHODS = [
    "getObject", "createObject", "editObject", "deleteObject", "getTranscodeAccounts",
    "getTranscodeJobs", "createTranscodeAccount", "createTranscodeJob", "getFileDetail",
    "getDirectoryInformation", "getFtpAttributes", "getPresets", "getPresetDetail",
    "getHistory", "getTranscodeStatus", "getTranscodeStatusName", "getAllStatuses",
    "getUser", "getCurrentUser", "getUsers", "getAccount", "getTranscodeJobCount",
]
PROPERTY_NAMES = sorted({name for t in TYPES.values() for name in t.properties})
OPERATORS = ["", "_= ", "*= ", "^= ", "$= ", "~ ", "!~ ", "!= ", "> ", "< ", ">= ", "<= ",
             "in", "betweenDate", "isNull", "isNotNull", "orderBy", "not null", "=== ", "!"]


@pytest.fixture(scope="module")
def fuzz_target(tmp_path_factory):
    emulator = start_in_process(
        tmp_path_factory.mktemp("fuzz"), ftp_max_sessions_per_login=64,
        users=["alice:KEY1-alice-0123456789", "bob:KEY2-bob-0123456789xx"],
    )
    alice = open_tenant(emulator, "alice", "KEY1-alice-0123456789")
    bob = open_tenant(emulator, "bob", "KEY2-bob-0123456789xx")
    (alice.home / "in" / "clip.wmv").write_bytes(b"not really media")
    (bob.home / "in" / "bob.wmv").write_bytes(b"bob's file")
    alice.jobs.append(alice.rest.call(JOB, "createObject", {
        "transcodePresetGuid": F4V_GUID, "transcodePresetName": F4V_NAME,
        "inputFile": "/in/clip.wmv", "outputFile": "/out/clip",
    }))
    http = httpx.Client(timeout=TIMEOUT)
    yield alice, bob, http
    http.close()
    emulator.stop(grace=1)


# -- strategies -----------------------------------------------------------------

scalars = (
    st.none() | st.booleans() | st.integers() | st.floats()
    | st.text(max_size=30) | st.sampled_from(["/in/clip.wmv", "/out/x", "..", "", "0", "-1"])
)
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=12) | st.sampled_from(PROPERTY_NAMES), children,
                      max_size=4),
    max_leaves=20,
)
# XML-RPC carries only 32-bit integers, finite floats and XML-legal text.
xml_text = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\ufffe\uffff",
                  min_codepoint=0x20),
    max_size=30,
)
xmlrpc_values = st.recursive(
    st.booleans() | st.integers(-(2**31), 2**31 - 1) | st.floats(allow_nan=False,
                                                                   allow_infinity=False)
    | xml_text | st.sampled_from(["/in/clip.wmv", F4V_GUID, "mask[id]"]),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(xml_text | st.sampled_from(PROPERTY_NAMES), children, max_size=4),
    max_leaves=15,
)
mask_tokens = st.sampled_from(
    ["mask", "filteredMask", "[", "]", "(", ")", ",", ".", ";", " ", "mask[", "id",
     "SoftLayer_Account", *PROPERTY_NAMES]
)
masks = st.lists(mask_tokens, max_size=25).map("".join) | st.text(max_size=40)


def _leaf() -> st.SearchStrategy:
    operation = (
        st.tuples(st.sampled_from(OPERATORS), st.text(max_size=12)).map("".join)
        | st.integers() | st.floats() | st.booleans() | st.none()
    )
    option = st.fixed_dictionaries({
        "name": st.sampled_from(["data", "sort", "startDate", "endDate", "x"]),
        "value": json_values,
    })
    return st.fixed_dictionaries(
        {"operation": operation}, optional={"options": st.lists(option, max_size=3)}
    )


filters = st.recursive(
    _leaf(),
    lambda children: st.dictionaries(
        st.sampled_from(PROPERTY_NAMES) | st.text(max_size=8), children, max_size=4
    ),
    max_leaves=12,
) | json_values
paths = st.sampled_from(["/in/clip.wmv", "/out/clip", "/in/../in/clip.wmv", "/etc/passwd",
                         "/in/bob.wmv", "/in/", "/out/", "/in/x\x00", "in/clip.wmv"]) \
    | st.text(max_size=40)
watermarks = st.dictionaries(
    st.sampled_from(sorted(WATERMARK_PROPERTIES)) | st.text(max_size=6),
    json_values | paths, max_size=6,
) | json_values
templates = st.fixed_dictionaries(
    {},
    optional={
        "transcodePresetGuid": st.just(F4V_GUID) | json_values,
        "transcodePresetName": st.just(F4V_NAME) | json_values,
        "inputFile": paths | json_values,
        "outputFile": paths | json_values,
        "name": json_values,
        "autoDeleteDuration": json_values,
        "watermark": watermarks,
        "transcodeAccountId": json_values,
    },
) | st.dictionaries(st.sampled_from(sorted(TEMPLATE_PROPERTIES)) | st.text(max_size=10),
                    json_values, max_size=8)


# -- what every answer must look like ---------------------------------------------------


def assert_rest_answer(response: httpx.Response) -> None:
    assert "Traceback" not in response.text
    if response.status_code < 400:
        response.json()
        return
    body = response.json()
    if response.status_code == 404 and body == {"detail": "Not Found"}:
        return  # a URL no route matches at all (a newline in a path segment)
    assert set(body) == {"error", "code"}, body
    assert body["code"].startswith("SoftLayer_Exception"), body
    assert body["error"] != INTERNAL_ERROR_MESSAGE, body


def assert_xmlrpc_answer(response: httpx.Response) -> None:
    assert response.status_code == 200
    assert "Traceback" not in response.text
    try:
        xmlrpc.client.loads(response.content, use_builtin_types=True)
    except xmlrpc.client.Fault as fault:
        assert fault.faultString != INTERNAL_ERROR_MESSAGE, fault
        code = str(fault.faultCode)
        assert code.startswith("SoftLayer_Exception") or code.startswith("-32"), fault


def rest_call(target, service: str, method: str | None, init_id, body: bytes | None = None,
              **query) -> httpx.Response:
    alice, _, http = target
    path = quote(service, safe="")
    if init_id is not None:
        path += "/" + quote(str(init_id), safe="")
    if method is not None:
        path += "/" + quote(method, safe="")
    url = alice.emulator.rest_url + path + ".json"
    auth = (alice.username, alice.api_key)
    if body is None:
        return http.get(url, params=query, auth=auth)
    return http.post(url, params=query, content=body, auth=auth,
                     headers={"content-type": "application/json"})


def xmlrpc_call(target, service: str, method: str, headers: dict, params: tuple) -> httpx.Response:
    alice, _, http = target
    body = xmlrpc.client.dumps(({"headers": headers}, *params), method, allow_none=False)
    return http.post(alice.emulator.xmlrpc_url + quote(service, safe=""),
                     content=body.encode("utf-8"), headers={"content-type": "text/xml"})


def authenticate(alice) -> dict:
    return {"username": alice.username, "apiKey": alice.api_key}


def assert_still_healthy(target) -> None:
    alice, _, http = target
    assert http.get(alice.emulator.api_url + "/_emulator/health").status_code == 200
    assert alice.rest.call("SoftLayer_Account", "getObject")["id"] == alice.account_id


# -- the fuzz tests -------------------------------------------------------------


@FUZZ
@given(
    service=st.sampled_from(SERVICES) | st.text(min_size=1, max_size=20),
    method=st.sampled_from(METHODS) | st.text(min_size=1, max_size=20) | st.none(),
    init_id=st.none() | st.integers() | st.text(min_size=1, max_size=12),
    body=json_values.map(lambda v: json.dumps(v).encode())
    | st.lists(json_values, max_size=4).map(lambda p: json.dumps({"parameters": p}).encode())
    | st.binary(max_size=64) | st.none(),
    mask=st.none() | masks,
    result_limit=st.none() | st.text(max_size=12) | st.sampled_from(["0,1", "5", "-1,2"]),
)
def test_random_rest_requests_get_a_softlayer_answer(
    fuzz_target, service, method, init_id, body, mask, result_limit
):
    query = {}
    if mask is not None:
        query["objectMask"] = mask
    if result_limit is not None:
        query["resultLimit"] = result_limit
    assert_rest_answer(rest_call(fuzz_target, service, method, init_id, body, **query))


@FUZZ
@given(
    # A "/" would make another URL, which the router answers before XML-RPC does.
    service=st.sampled_from(SERVICES) | xml_text.filter(lambda name: name and "/" not in name),
    method=st.sampled_from(METHODS) | xml_text.filter(bool),
    extra_headers=st.dictionaries(
        st.sampled_from(["SoftLayer_ObjectMask", "resultLimit", "authenticate"])
        | xml_text, xmlrpc_values, max_size=4,
    ),
    init=st.none() | xmlrpc_values,
    filter_=st.none() | xmlrpc_values,
    params=st.lists(xmlrpc_values, max_size=4),
    keep_auth=st.booleans(),
)
def test_random_xmlrpc_calls_get_a_response_or_a_fault(
    fuzz_target, service, method, extra_headers, init, filter_, params, keep_auth
):
    alice = fuzz_target[0]
    headers = dict(extra_headers)
    if keep_auth:
        headers["authenticate"] = authenticate(alice)
    if init is not None:
        headers[f"{service}InitParameters"] = init
    if filter_ is not None:
        headers[f"{service}ObjectFilter"] = filter_
    assert_xmlrpc_answer(xmlrpc_call(fuzz_target, service, method, headers, tuple(params)))


@FUZZ
@given(mask=masks, method=st.sampled_from(["getObject", "getHistory", "getTranscodeAccount"]))
def test_random_masks_are_applied_or_refused(fuzz_target, mask, method):
    alice = fuzz_target[0]
    job_id = alice.job_ids[0]
    assert_rest_answer(rest_call(fuzz_target, JOB, method, job_id, objectMask=mask))
    if "\x00" in mask or any(ord(c) < 32 and c not in "\t\n\r" for c in mask):
        return
    try:
        mask.encode("utf-8")
    except UnicodeEncodeError:
        return
    headers = {"authenticate": authenticate(alice), "SoftLayer_ObjectMask": {"mask": mask},
               f"{JOB}InitParameters": {"id": job_id}}
    assert_xmlrpc_answer(xmlrpc_call(fuzz_target, JOB, method, headers, ()))


@FUZZ
@given(object_filter=filters, mask=st.none() | masks, limit=st.integers(-5, 20_000))
def test_random_filters_are_applied_or_refused(fuzz_target, object_filter, mask, limit):
    alice = fuzz_target[0]
    ta = alice.transcode_account_id
    query = {"objectFilter": json.dumps(object_filter), "resultLimit": f"0,{limit}"}
    if mask is not None:
        query["objectMask"] = mask
    assert_rest_answer(rest_call(fuzz_target, ACCOUNT, "getTranscodeJobs", ta, **query))
    assert_rest_answer(rest_call(fuzz_target, "SoftLayer_Account", "getTranscodeAccounts", None,
                                 objectFilter=json.dumps(object_filter)))


@FUZZ
@given(template=templates, protocol=st.sampled_from(["rest", "xmlrpc", "obsolete"]))
def test_random_job_templates_create_a_job_or_are_refused(fuzz_target, template, protocol):
    alice = fuzz_target[0]
    if protocol == "rest":
        body = json.dumps({"parameters": [template]}).encode()
        assert_rest_answer(rest_call(fuzz_target, JOB, "createObject", None, body))
        return
    try:
        xmlrpc.client.dumps((template,), allow_none=False)
        json.dumps(template).encode("utf-8")
    except (TypeError, OverflowError, UnicodeEncodeError):
        return  # not expressible in XML-RPC; the REST branch covers it
    headers = {"authenticate": authenticate(alice)}
    if protocol == "obsolete":
        headers[f"{ACCOUNT}InitParameters"] = {"id": alice.transcode_account_id}
        answer = xmlrpc_call(fuzz_target, ACCOUNT, "createTranscodeJob", headers, (template,))
    else:
        answer = xmlrpc_call(fuzz_target, JOB, "createObject", headers, (template,))
    assert_xmlrpc_answer(answer)


def test_the_emulator_is_healthy_after_the_fuzzing(fuzz_target):
    alice, bob, _ = fuzz_target
    assert_still_healthy(fuzz_target)
    # No random input reached another account or wrote outside a home.
    assert sorted(os.listdir(bob.home / "in")) == ["bob.wmv"]
    assert bob.rest.call(ACCOUNT, "getTranscodeJobs", id=bob.transcode_account_id) == []
    data_dir = Path(alice.emulator.settings.data_dir)
    assert {p.name for p in data_dir.iterdir()} <= {
        "ftp", "staging", "emulator.db", "emulator.db-wal", "emulator.db-shm",
    }


# -- FTP ---------------------------------------------------------------------------

FTP_COMMANDS = ["CWD", "SIZE", "MDTM", "DELE", "RNFR", "RNTO", "MLST", "RMD", "MKD", "STAT",
                "NLST", "LIST", "RETR", "STOR", "APPE", "SITE CHMOD 777", "MFMT 20200101000000",
                "REST", "TYPE", "OPTS", "HELP", "ALLO", "MODE", "STRU"]


@FUZZ
@given(
    command=st.sampled_from(FTP_COMMANDS) | st.text(
        st.characters(min_codepoint=0x21, max_codepoint=0x7e), min_size=1, max_size=6),
    # A CR or LF would end the command line early (test_paths sends those byte for byte).
    argument=(paths | st.text(st.characters(blacklist_categories=("Cs",)), max_size=60))
    .filter(lambda text: "\r" not in text and "\n" not in text),
)
def test_random_ftp_commands_never_break_the_session_or_escape(fuzz_target, command, argument):
    alice, bob, _ = fuzz_target
    with ftplib.FTP() as ftp:
        ftp.connect("127.0.0.1", alice.emulator.ftp_port, timeout=TIMEOUT)
        ftp.login(alice.ftp_username, alice.ftp_password)
        ftp.sock.sendall(f"{command} {argument}".encode("utf-8") + b"\r\n")
        reply = ftp.getmultiline()
        assert reply[:1] in "12345" and reply[1:3].isdigit(), reply
        assert "Internal error" not in reply and "Traceback" not in reply
        if reply[:3] in ("150", "221"):
            return  # a transfer waits for a data connection we never open, or QUIT
        assert ftp.voidcmd("NOOP").startswith("200")
    assert (bob.home / "in" / "bob.wmv").read_bytes() == b"bob's file"

"""Each limit refuses with a clear error: body, mask, filter, result, upload, sessions."""

from __future__ import annotations

import ftplib
import io
import json
import os
import time
import xmlrpc.client

import httpx
import pytest
import SoftLayer

from emulator.types import TYPES
from tests.hardening.tenants import ACCOUNT, JOB, open_tenant

USER = "alice:KEY1-alice-0123456789"
QUOTA = 100_000
TOO_LARGE = "SoftLayer_Exception_WebService_BadRequest"


@pytest.fixture
def small_body_emulator(start_emulator):
    return start_emulator(users=[USER], max_body_bytes=64 * 1024)


def _rest_post(emulator, path: str, body: bytes, **headers) -> httpx.Response:
    return httpx.post(
        emulator.rest_url + path, content=body, auth=("alice", "KEY1-alice-0123456789"),
        headers={"content-type": "application/json", **headers}, timeout=60,
    )


def test_a_body_over_max_body_bytes_is_refused_with_413(small_body_emulator):
    limit = 64 * 1024
    template = {"name": "x" * limit}
    body = json.dumps({"parameters": [template]}).encode()

    declared = _rest_post(small_body_emulator, f"{JOB}/createObject.json", body)
    streamed = httpx.post(
        small_body_emulator.rest_url + f"{JOB}/createObject.json",
        content=iter([body[:40_000], body[40_000:]]),  # chunked: no Content-Length
        auth=("alice", "KEY1-alice-0123456789"), timeout=60,
    )
    xmlrpc_body = xmlrpc.client.dumps(({"headers": {}}, template), "createObject").encode()
    xmlrpc_answer = httpx.post(
        small_body_emulator.xmlrpc_url + JOB, content=xmlrpc_body, timeout=60
    )

    message = f"The request body is larger than {limit} bytes."
    for response in (declared, streamed):
        assert response.status_code == 413
        assert response.json() == {"error": message, "code": TOO_LARGE}
    with pytest.raises(xmlrpc.client.Fault) as fault:
        xmlrpc.client.loads(xmlrpc_answer.content)
    assert (fault.value.faultCode, fault.value.faultString) == (TOO_LARGE, message)
    assert httpx.get(small_body_emulator.api_url + "/_emulator/health").status_code == 200


def test_the_default_body_limit_is_eight_megabytes(start_emulator):
    emulator = start_emulator(users=[USER])
    padding = 8 * 1024 * 1024
    over = json.dumps({"parameters": [{"name": "x" * padding}]}).encode()
    under = json.dumps({"parameters": [{"name": "x" * (padding - 1024)}]}).encode()

    refused = _rest_post(emulator, f"{JOB}/createObject.json", over)
    read = _rest_post(emulator, f"{JOB}/createObject.json", under)

    assert refused.status_code == 413
    assert refused.json()["error"] == f"The request body is larger than {padding} bytes."
    # Read in full and refused for what it says, not for its size.
    assert read.status_code == 500
    assert read.json()["error"] == (
        "This account has no transcode account; call createTranscodeAccount first."
    )


@pytest.fixture
def tenant(start_emulator):
    emulator = start_emulator(users=[USER])
    alice = open_tenant(emulator, "alice", "KEY1-alice-0123456789")
    (alice.home / "in" / "clip.wmv").write_bytes(b"clip")
    return alice


def _deep_mask(levels: int) -> str:
    """A mask `levels` deep through relational properties that exist."""
    chain = (["transcodeAccount", "transcodeJobs"] * levels)[:levels]
    return "mask[" + "[".join(chain) + "]" * levels


def _wide_filter(type_name: str, depth: int = 1) -> dict:
    """Every filterable property of a type, through its relations, `isNotNull` each."""
    node: dict = {}
    for name, prop in TYPES[type_name].properties.items():
        if not prop.relational:
            node[name] = {"operation": "isNotNull"}
        elif prop.type_name and prop.compute is None and depth < 5:
            node[name] = _wide_filter(prop.type_name, depth + 1)
    return node


def _deep_filter(levels: int) -> dict:
    """A filter whose condition lies `levels` properties deep (an odd number)."""
    node: dict = {"id": {"operation": 1}}
    for _ in range((levels - 1) // 2):
        node = {"transcodeAccount": {"transcodeJobs": node}}
    return {"transcodeJobs": node}


LIMIT_CASES = {
    "mask depth": ({"mask": _deep_mask(13)}, "SoftLayer_Exception_WebService_Mask",
                   "Object mask is nested deeper than 12 levels."),
    "mask length": ({"mask": "mask[" + ",".join(["id"] * 4000) + "]"},
                    "SoftLayer_Exception_WebService_Mask",
                    "Object mask is longer than 10000 characters."),
    "filter depth": ({"filter": _deep_filter(9)}, "SoftLayer_Exception_Public",
                     "Object filter is nested deeper than 8 levels."),
    "filter size": ({"filter": {"transcodeJobs": _wide_filter(JOB)}},
                    "SoftLayer_Exception_Public",
                    "Object filter has more than 100 conditions."),
    "result limit": ({"limit": 10_001}, "SoftLayer_Exception_Public",
                     "Result limit may not exceed 10000 items."),
}


@pytest.mark.parametrize("transport", ["rest", "xmlrpc"])
@pytest.mark.parametrize("limit", list(LIMIT_CASES))
def test_mask_filter_and_result_limits_refuse_with_a_clear_error(tenant, limit, transport):
    options, code, message = LIMIT_CASES[limit]

    with pytest.raises(SoftLayer.SoftLayerAPIError) as refused:
        tenant.client(transport).call(
            ACCOUNT, "getTranscodeJobs", id=tenant.transcode_account_id, **options
        )

    assert refused.value.faultCode == (500 if transport == "rest" else code)
    assert refused.value.faultString == message


def test_requests_just_inside_the_limits_are_served(tenant):
    jobs = tenant.rest.call(
        ACCOUNT, "getTranscodeJobs", id=tenant.transcode_account_id,
        mask=_deep_mask(12), filter=_deep_filter(7), limit=10_000,
    )
    assert jobs == []


# -- FTP upload quota ----------------------------------------------------------------


@pytest.fixture
def quota_tenant(start_emulator):
    emulator = start_emulator(users=[USER], upload_quota_bytes=QUOTA)
    return open_tenant(emulator, "alice", "KEY1-alice-0123456789")


def test_an_upload_beyond_the_quota_is_refused_with_552_and_leaves_nothing(quota_tenant):
    with quota_tenant.ftp() as ftp:
        ftp.storbinary("STOR /in/first.wmv", io.BytesIO(b"1" * 60_000))
        with pytest.raises(ftplib.error_perm) as refused:
            ftp.storbinary("STOR /in/second.wmv", io.BytesIO(b"2" * 60_000))
        assert str(refused.value) == (
            f"552 Upload quota of {QUOTA} bytes exceeded; the upload was discarded."
        )
        assert ftp.nlst("/in") == ["first.wmv"]

        # Replacing a file counts only the new content.
        ftp.storbinary("STOR /in/first.wmv", io.BytesIO(b"3" * 90_000))
        with pytest.raises(ftplib.error_perm) as appended:
            ftp.storbinary("APPE /in/first.wmv", io.BytesIO(b"4" * 20_000))
        assert str(appended.value).startswith("552 Upload quota")
        ftp.storbinary("STOR /in/last.wmv", io.BytesIO(b"5" * 10_000))
        with pytest.raises(ftplib.error_perm) as full:
            ftp.storbinary("STOR /in/more.wmv", io.BytesIO(b"6"))
        assert str(full.value) == f"552 Upload quota of {QUOTA} bytes is used up."

    in_dir = quota_tenant.home / "in"
    assert sorted(os.listdir(in_dir)) == ["first.wmv", "last.wmv"]
    assert (in_dir / "first.wmv").read_bytes() == b"3" * 90_000
    assert quota_tenant.staged_files() == []


def test_parallel_uploads_share_one_quota(quota_tenant):
    with quota_tenant.ftp() as first, quota_tenant.ftp() as second:
        first.voidcmd("TYPE I")
        connection = first.transfercmd("STOR /in/slow.wmv")
        connection.sendall(b"s" * 70_000)
        deadline = time.monotonic() + 30
        while sum(p.stat().st_size for p in quota_tenant.staged_files()) < 70_000:
            assert time.monotonic() < deadline, "the first upload never arrived"
            time.sleep(0.05)

        with pytest.raises(ftplib.error_perm) as refused:
            second.storbinary("STOR /in/fast.wmv", io.BytesIO(b"f" * 40_000))
        assert str(refused.value).startswith("552 Upload quota")

        connection.close()
        assert first.voidresp().startswith("226")

    assert sorted(os.listdir(quota_tenant.home / "in")) == ["slow.wmv"]
    assert quota_tenant.staged_files() == []


# -- FTP sessions per login ---------------------------------------------------------


def test_a_login_holds_at_most_ftp_max_sessions_per_login(start_emulator):
    emulator = start_emulator(users=[USER], ftp_max_sessions_per_login=2)
    tenant = open_tenant(emulator, "alice", "KEY1-alice-0123456789")

    first, second = tenant.ftp(), tenant.ftp()
    third = ftplib.FTP()
    third.connect("127.0.0.1", emulator.ftp_port, timeout=30)
    with pytest.raises(ftplib.error_perm) as refused:
        third.login(tenant.ftp_username, tenant.ftp_password)
    assert str(refused.value) == "530 Too many sessions for this login."

    # Logging in again on one connection does not use up another session.
    for _ in range(3):
        second.login(tenant.ftp_username, tenant.ftp_password)
    first.quit()
    third.login(tenant.ftp_username, tenant.ftp_password)
    assert third.nlst("/") == ["in", "out"]
    for ftp in (second, third):
        ftp.quit()


# -- retention -----------------------------------------------------------------------


def test_renaming_an_upload_keeps_its_retention_clock(start_emulator):
    emulator = start_emulator(users=[USER])
    tenant = open_tenant(emulator, "alice", "KEY1-alice-0123456789")
    with tenant.ftp() as ftp:
        ftp.storbinary("STOR /in/old.wmv", io.BytesIO(b"o" * 1000))
        ftp.storbinary("STOR /in/replaced.wmv", io.BytesIO(b"r" * 1000))
    emulator.advance_clock(71 * 3600)

    with tenant.ftp() as ftp:
        ftp.storbinary("STOR /in/fresh.wmv", io.BytesIO(b"f" * 1000))
        ftp.rename("/in/old.wmv", "/in/renamed.wmv")
        ftp.rename("/in/fresh.wmv", "/in/replaced.wmv")
    deleted = emulator.advance_clock(2 * 3600)["deletedFiles"]

    assert deleted == [f"{tenant.transcode_account_id}:/in/renamed.wmv"]
    assert sorted(os.listdir(tenant.home / "in")) == ["replaced.wmv"]
    assert (tenant.home / "in" / "replaced.wmv").read_bytes() == b"f" * 1000

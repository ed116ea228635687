"""One account's API key and FTP login never reach another account's things."""

from __future__ import annotations

import ftplib
import io
import json
import os

import pytest
import SoftLayer
from sqlmodel import Session, select

from emulator.models import Notification
from tests.hardening.tenants import (
    ACCOUNT, F4V_GUID, JOB, job_template, open_tenant, softlayer_client,
)

TRANSPORTS = ["rest", "xmlrpc"]
BOB_FILE = "bob-secret-clip.wmv"
BOB_CONTENT = b"bob's private upload " * 50


@pytest.fixture
def world(start_emulator):
    emulator = start_emulator(users=["alice:KEY1-alice-0123456789", "bob:KEY2-bob-0123456789xx"])
    alice = open_tenant(emulator, "alice", "KEY1-alice-0123456789")
    bob = open_tenant(emulator, "bob", "KEY2-bob-0123456789xx")

    (alice.home / "in" / "alice-clip.wmv").write_bytes(b"alice's upload " * 50)
    alice_job = alice.rest.call(
        JOB, "createObject", job_template("/in/alice-clip.wmv", "/out/alice")
    )
    alice.jobs.append(alice_job)

    with bob.ftp() as ftp:
        ftp.storbinary(f"STOR /in/{BOB_FILE}", io.BytesIO(BOB_CONTENT))
    bob_job = bob.rest.call(JOB, "createObject", job_template(f"/in/{BOB_FILE}", "/out/bob-out"))
    bob.jobs.append(bob_job)
    return alice, bob


def bob_secrets(bob) -> list[str]:
    guid = bob.jobs[0]["transcodeJobGuid"]
    return [bob.api_key, bob.ftp_password, guid, BOB_FILE, "bob-out", "bob@example.com"]


def assert_not_found(call, object_id: int, transport: str) -> None:
    with pytest.raises(SoftLayer.SoftLayerAPIError) as refused:
        call()
    expected_code = 404 if transport == "rest" else "SoftLayer_Exception_ObjectNotFound"
    assert refused.value.faultCode == expected_code
    assert refused.value.faultString == f"Unable to find object with id of '{object_id}'."


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_another_accounts_objects_are_not_found_by_id(world, transport):
    alice, bob = world
    client = alice.client(transport)
    bob_job = bob.job_ids[0]
    calls = [
        (lambda m=m: client.call(JOB, m, id=bob_job), bob_job)
        for m in ("getObject", "getHistory", "getTranscodeAccount", "getTranscodeStatus",
                  "getTranscodeStatusName", "getUser")
    ]
    ta = bob.transcode_account_id
    calls += [
        (lambda m=m: client.call(ACCOUNT, m, id=ta), ta)
        for m in ("getObject", "getAccount", "getTranscodeJobs", "getFtpAttributes", "getPresets")
    ]
    calls += [
        (lambda: client.call(ACCOUNT, "getPresetDetail", F4V_GUID, id=ta), ta),
        (lambda: client.call(ACCOUNT, "getDirectoryInformation", "/in", "", id=ta), ta),
        (lambda: client.call(ACCOUNT, "getFileDetail", f"/in/{BOB_FILE}", id=ta), ta),
        (lambda: client.call(
            ACCOUNT, "createTranscodeJob", job_template(f"/in/{BOB_FILE}", "/out/stolen"), id=ta
        ), ta),
        (lambda: client.call(
            JOB, "createObject",
            job_template("/in/alice-clip.wmv", "/out/x", transcodeAccountId=ta),
        ), ta),
        (lambda: client.call("SoftLayer_User_Customer", "getObject", id=bob.user_id), bob.user_id),
        (lambda: client.call("SoftLayer_User_Customer", "getAccount", id=bob.user_id), bob.user_id),
        (lambda: client.call(
            "SoftLayer_User_Customer", "editObject", {"email": "alice@evil.example"}, id=bob.user_id
        ), bob.user_id),
        (lambda: client.call(ACCOUNT, "createTranscodeAccount", bob.account_id), bob.account_id),
    ]

    for call, object_id in calls:
        assert_not_found(call, object_id, transport)

    # Nothing of bob's changed: his e-mail and his job are as they were.
    assert bob.rest.call("SoftLayer_Account", "getCurrentUser")["email"] == "bob@example.com"
    assert [j["id"] for j in bob.rest.call(ACCOUNT, "getTranscodeJobs", id=ta)] == bob.job_ids


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_relational_masks_show_only_the_callers_own_objects(world, transport):
    alice, bob = world
    client = alice.client(transport)
    seen = []

    account = client.call(
        "SoftLayer_Account", "getObject",
        mask="mask[id,users[id,username,account[id]],"
             "transcodeAccounts[id,accountId,transcodeJobs[id,transcodeJobGuid,user[id],history]]]",
    )
    seen.append(account)
    assert account["id"] == alice.account_id
    assert [u["username"] for u in account["users"]] == ["alice"]
    assert [t["id"] for t in account["transcodeAccounts"]] == [alice.transcode_account_id]
    jobs = account["transcodeAccounts"][0]["transcodeJobs"]
    assert [j["id"] for j in jobs] == alice.job_ids
    assert {j["user"]["id"] for j in jobs} == {alice.user_id}

    job = client.call(
        JOB, "getObject", id=alice.job_ids[0],
        mask="mask[id,transcodeAccount[id,transcodeJobs[id],account[id,users[username],"
             "transcodeAccounts[transcodeJobs[id]]]],user[account[users[username]]]]",
    )
    seen.append(job)
    assert [j["id"] for j in job["transcodeAccount"]["transcodeJobs"]] == alice.job_ids
    nested = job["transcodeAccount"]["account"]
    assert nested["id"] == alice.account_id
    assert [u["username"] for u in nested["users"]] == ["alice"]
    assert [j["id"] for j in nested["transcodeAccounts"][0]["transcodeJobs"]] == alice.job_ids
    assert [u["username"] for u in job["user"]["account"]["users"]] == ["alice"]

    transcode_account = client.call(
        ACCOUNT, "getObject", id=alice.transcode_account_id,
        mask="mask[transcodeJobs[transcodeAccount[transcodeJobs]],transcodeJobCount]",
    )
    seen.append(transcode_account)
    assert transcode_account["transcodeJobCount"] == 1

    text = json.dumps(seen)
    for secret in bob_secrets(bob):
        assert secret not in text


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_filters_never_widen_a_list_to_another_account(world, transport):
    alice, bob = world
    client = alice.client(transport)
    filters = [
        {"transcodeJobs": {"id": {"operation": bob.job_ids[0]}}},
        {"transcodeJobs": {"transcodeAccountId": {"operation": bob.transcode_account_id}}},
        {"transcodeAccountId": {"operation": bob.transcode_account_id}},
        {"transcodeJobs": {"inputFile": {"operation": f"*= {BOB_FILE}"}}},
        {"transcodeJobs": {"transcodeAccount": {"accountId": {"operation": bob.account_id}}}},
    ]
    for object_filter in filters:
        found = client.call(ACCOUNT, "getTranscodeJobs", id=alice.transcode_account_id,
                            filter=object_filter)
        assert found == [], object_filter

    bob_account = {"transcodeAccounts": {"id": {"operation": bob.transcode_account_id}}}
    accounts = client.call("SoftLayer_Account", "getTranscodeAccounts", filter=bob_account)
    assert accounts == []
    users = client.call("SoftLayer_Account", "getUsers",
                        filter={"users": {"username": {"operation": "bob"}}})
    assert users == []
    everything = client.call(ACCOUNT, "getTranscodeJobs", id=alice.transcode_account_id,
                             filter={"transcodeJobs": {"id": {"operation": "> 0"}}})
    assert [j["id"] for j in everything] == alice.job_ids


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_paths_resolve_inside_the_callers_own_home(world, transport):
    alice, bob = world
    client = alice.client(transport)
    ta = alice.transcode_account_id

    listing = client.call(ACCOUNT, "getDirectoryInformation", "/in", "", id=ta)
    assert listing == [{"name": "alice-clip.wmv", "type": ""}]
    with pytest.raises(SoftLayer.SoftLayerAPIError) as missing:
        client.call(ACCOUNT, "getFileDetail", f"/in/{BOB_FILE}", id=ta)
    assert missing.value.faultString == f"The file '/in/{BOB_FILE}' does not exist."
    with pytest.raises(SoftLayer.SoftLayerAPIError) as not_in_in:
        client.call(JOB, "createObject", job_template(f"/in/{BOB_FILE}", "/out/stolen"))
    assert not_in_in.value.faultString == f"The input file '/in/{BOB_FILE}' does not exist in /in."
    with pytest.raises(SoftLayer.SoftLayerAPIError) as climbing:
        client.call(ACCOUNT, "getFileDetail",
                    f"/in/../../{bob.transcode_account_id}/in/{BOB_FILE}", id=ta)
    assert "may not contain '..'" in climbing.value.faultString


def test_notifications_go_only_to_the_jobs_own_account(world):
    alice, bob = world
    with Session(alice.emulator.backend.engine) as session:
        notifications = session.exec(select(Notification)).all()
    by_job = {job_id: [n for n in notifications if n.job_id == job_id]
              for job_id in alice.job_ids + bob.job_ids}

    assert [n.recipient for n in by_job[alice.job_ids[0]]] == ["alice@example.com"]
    assert [n.account_id for n in by_job[alice.job_ids[0]]] == [alice.account_id]
    assert [n.recipient for n in by_job[bob.job_ids[0]]] == ["bob@example.com"]
    for notification in by_job[alice.job_ids[0]]:
        assert BOB_FILE not in notification.body and "bob" not in notification.subject


def test_one_accounts_key_never_authenticates_as_another(world):
    alice, bob = world
    for transport in TRANSPORTS:
        mixed = softlayer_client(alice.emulator, "alice", bob.api_key, transport)
        with pytest.raises(SoftLayer.SoftLayerAPIError) as refused:
            mixed.call("SoftLayer_Account", "getObject")
        expected = 401 if transport == "rest" else "SoftLayer_Exception_InvalidLegacyToken"
        assert refused.value.faultCode == expected
        assert bob.api_key not in refused.value.faultString


# -- FTP ---------------------------------------------------------------------------


def _reply(ftp: ftplib.FTP, command: str) -> str:
    try:
        return ftp.sendcmd(command)
    except ftplib.Error as error:
        return str(error)


def _listing(ftp: ftplib.FTP, command: str) -> list[str]:
    lines: list[str] = []
    try:
        ftp.retrlines(command, lines.append)
    except ftplib.Error as error:
        return [str(error)]
    return lines


def test_an_ftp_login_never_sees_or_touches_another_accounts_files(world):
    alice, bob = world
    bob_file = bob.home / "in" / BOB_FILE
    bob_id = bob.transcode_account_id
    # Links planted in alice's home by someone with access to the data directory.
    os.symlink(bob.home / "in", alice.home / "in" / "bob-folder")
    os.symlink(bob_file, alice.home / "in" / "bob-file.wmv")
    os.symlink(alice.home / "in" / "alice-clip.wmv", alice.home / "in" / "own-link.wmv")

    with alice.ftp() as ftp:
        ftp.voidcmd("TYPE I")
        listings = [
            _listing(ftp, "LIST /in"), _listing(ftp, "NLST /in"), _listing(ftp, "MLSD /in"),
            _listing(ftp, "LIST /"), _listing(ftp, "MLSD /"),
        ]
        text = "\n".join("\n".join(lines) for lines in listings)
        assert "alice-clip.wmv" in text
        for hidden in (BOB_FILE, "bob-folder", "bob-file.wmv", "own-link.wmv", str(bob.home)):
            assert hidden not in text

        escapes = [
            f"/../{bob_id}/in/{BOB_FILE}", f"../{bob_id}/in/{BOB_FILE}",
            f"/in/../../{bob_id}/in/{BOB_FILE}", f"/{bob_id}/in/{BOB_FILE}",
            f"{bob.home}/in/{BOB_FILE}", "/in/bob-folder/" + BOB_FILE, "/in/bob-file.wmv",
            "/in/own-link.wmv", "/etc/passwd",
        ]
        for path in escapes:
            for command in ("SIZE", "MDTM", "DELE", "RNFR", "CWD", "MLST"):
                reply = _reply(ftp, f"{command} {path}")
                assert reply[:3] in ("550", "553"), (command, path, reply)
            for command in ("RETR", "LIST", "MLSD", "NLST"):
                lines = _listing(ftp, f"{command} {path}")
                assert BOB_FILE not in "".join(lines[1:]), (command, path, lines)
                if command == "RETR":
                    assert lines[0][:3] in ("550", "553"), (command, path, lines)
            with pytest.raises(ftplib.error_perm) as stored:
                ftp.storbinary(f"STOR {path}", io.BytesIO(b"overwrite"))
            assert str(stored.value)[:3] in ("550", "553")

        ftp.sendcmd("RNFR /in/alice-clip.wmv")
        moved = _reply(ftp, f"RNTO /in/bob-folder/{BOB_FILE}")
        assert moved[:3] in ("550", "553")
        assert _reply(ftp, "CWD /in/bob-folder")[:3] in ("550", "553")
        assert ftp.pwd() == "/"

    assert bob_file.read_bytes() == BOB_CONTENT
    assert sorted(os.listdir(bob.home / "in")) == [BOB_FILE]
    assert (alice.home / "in" / "alice-clip.wmv").exists()


def test_an_ftp_login_only_opens_with_its_own_password(world):
    alice, bob = world
    for username, password in ((alice.ftp_username, bob.ftp_password),
                               (bob.ftp_username, alice.ftp_password)):
        with ftplib.FTP() as ftp:
            ftp.connect("127.0.0.1", alice.emulator.ftp_port, timeout=30)
            with pytest.raises(ftplib.error_perm) as refused:
                ftp.login(username, password)
            assert str(refused.value).startswith("530")
            assert password not in str(refused.value)

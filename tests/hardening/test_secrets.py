"""Credentials are compared in constant time and never shown in logs or error messages."""

from __future__ import annotations

import ftplib
import hmac
import io
import xmlrpc.client

import httpx
import pytest

from tests.hardening.tenants import ACCOUNT, open_tenant
from tests.served import serve

ALICE_KEY = "alice-secret-key-0123456789abcdef"
BOB_KEY = "bob-secret-key-fedcba9876543210xyz"
ADMIN_TOKEN = "admin-secret-token-55aa55aa55aa"
WRONG_SAME_LENGTH = ALICE_KEY[:-4] + "WXYZ"
WRONG_OTHER_LENGTH = "wrong-secret-short"
INVALID_TOKEN = {"error": "Invalid API token.", "code": "SoftLayer_Exception_InvalidLegacyToken"}


def _rest(api_url: str, username: str, api_key: str) -> httpx.Response:
    return httpx.get(api_url + "/rest/v3.1/SoftLayer_Account.json",
                     auth=(username, api_key), timeout=30)


def _xmlrpc_fault(api_url: str, username: str, api_key: str) -> xmlrpc.client.Fault | None:
    body = xmlrpc.client.dumps(
        ({"headers": {"authenticate": {"username": username, "apiKey": api_key}}},), "getObject"
    )
    answer = httpx.post(api_url + "/xmlrpc/v3.1/SoftLayer_Account", content=body, timeout=30)
    try:
        xmlrpc.client.loads(answer.content)
    except xmlrpc.client.Fault as fault:
        return fault
    return None


def test_wrong_keys_of_any_length_get_the_same_401(start_emulator):
    emulator = start_emulator(users=[f"alice:{ALICE_KEY}"])
    for username, api_key in (("alice", WRONG_SAME_LENGTH), ("alice", WRONG_OTHER_LENGTH),
                              ("mallory", ALICE_KEY), ("apikey", WRONG_SAME_LENGTH),
                              ("alice", "")):
        response = _rest(emulator.api_url, username, api_key)
        assert (response.status_code, response.json()) == (401, INVALID_TOKEN)
        fault = _xmlrpc_fault(emulator.api_url, username, api_key)
        assert (fault.faultCode, fault.faultString) == (
            "SoftLayer_Exception_InvalidLegacyToken", "Invalid API token."
        )
    assert _rest(emulator.api_url, "alice", ALICE_KEY).status_code == 200
    assert _xmlrpc_fault(emulator.api_url, "alice", ALICE_KEY) is None


def test_every_credential_check_goes_through_compare_digest(start_emulator, monkeypatch):
    emulator = start_emulator(users=[f"alice:{ALICE_KEY}"])
    tenant = open_tenant(emulator, "alice", ALICE_KEY)
    compared: list[bytes] = []
    real_compare = hmac.compare_digest

    def recording_compare(a, b):
        compared.extend([bytes(a), bytes(b)])
        return real_compare(a, b)

    monkeypatch.setattr(hmac, "compare_digest", recording_compare)

    for username, api_key in (("alice", WRONG_SAME_LENGTH), ("alice", WRONG_OTHER_LENGTH),
                              ("mallory", WRONG_OTHER_LENGTH)):
        compared.clear()
        assert _rest(emulator.api_url, username, api_key).status_code == 401
        assert api_key.encode() in compared, (username, api_key)

    for password in ("x" * len(tenant.ftp_password), "short"):
        compared.clear()
        with ftplib.FTP() as ftp:
            ftp.connect("127.0.0.1", emulator.ftp_port, timeout=30)
            with pytest.raises(ftplib.error_perm):
                ftp.login(tenant.ftp_username, password)
        assert password.encode() in compared


def test_keys_and_passwords_never_reach_the_log_or_error_messages(tmp_path):
    served = serve(
        tmp_path / "data", "--user", f"alice:{ALICE_KEY}", "--user", f"bob:{BOB_KEY}",
        "--admin-token", ADMIN_TOKEN, "--log-level", "DEBUG", "--no-workers",
    )
    secrets = [ALICE_KEY, BOB_KEY, ADMIN_TOKEN, WRONG_SAME_LENGTH, WRONG_OTHER_LENGTH]
    answers: list[str] = []
    try:
        api = served.api_url
        for username, api_key in (("alice", WRONG_SAME_LENGTH), ("bob", WRONG_OTHER_LENGTH),
                                  ("alice", BOB_KEY), ("alice", ALICE_KEY)):
            answers.append(_rest(api, username, api_key).text)
            fault = _xmlrpc_fault(api, username, api_key)
            answers.append(fault.faultString if fault else "")
        answers.append(httpx.get(api + "/rest/v3.1/SoftLayer_Account.json", timeout=30,
                                 headers={"Authorization": f"Basic {ALICE_KEY}"}).text)

        auth = ("alice", ALICE_KEY)
        httpx.post(api + f"/rest/v3.1/{ACCOUNT}/createTranscodeAccount.json", auth=auth,
                   timeout=30)
        account = httpx.get(api + "/rest/v3.1/SoftLayer_Account/getTranscodeAccounts.json",
                            auth=auth, timeout=30).json()[0]
        ftp_login = httpx.get(api + f"/rest/v3.1/{ACCOUNT}/{account['id']}/getFtpAttributes.json",
                              auth=auth, timeout=30).json()
        wrong_password = ftp_login["password"][::-1] + "x"
        secrets += [ftp_login["password"], wrong_password]
        with ftplib.FTP() as ftp:
            ftp.connect(served.ftp_host, served.ftp_port, timeout=30)
            with pytest.raises(ftplib.error_perm) as refused:
                ftp.login(ftp_login["username"], wrong_password)
            answers.append(str(refused.value))
        with ftplib.FTP() as ftp:
            ftp.connect(served.ftp_host, served.ftp_port, timeout=30)
            ftp.login(ftp_login["username"], ftp_login["password"])
            ftp.storbinary("STOR /in/clip.wmv", io.BytesIO(b"clip"))

        for token in (ADMIN_TOKEN[::-1], "Bearer " + ALICE_KEY):
            answers.append(httpx.post(api + "/_emulator/reset", timeout=30,
                                      headers={"X-Emulator-Admin-Token": token}).text)
    finally:
        served.stop()

    log = served.log_text()
    assert "Users:" in log and "alice" in log
    assert "ftp login failed" in log
    for secret in secrets:
        assert secret not in log, f"a secret is in the log: {secret[:6]}..."
        for answer in answers:
            assert secret not in answer

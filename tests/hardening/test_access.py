"""Who gets in: FTP logins, the API over HTTPS, the control API's admin token."""

from __future__ import annotations

import datetime
import ftplib
import ipaddress
import re
import ssl
import time

import httpx
import pytest
import requests
import SoftLayer
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from emulator.config import DEFAULT_API_KEY
from emulator.control.access import is_loopback_host
from tests.hardening.tenants import open_tenant
from tests.served import serve

USER = "alice:KEY1-alice-0123456789"
AUTH_FAILED_DELAY = 1.0


@pytest.fixture
def ftp_tenant(start_emulator):
    return open_tenant(start_emulator(users=[USER]), "alice", "KEY1-alice-0123456789")


def _connect(tenant) -> ftplib.FTP:
    ftp = ftplib.FTP()
    ftp.connect("127.0.0.1", tenant.emulator.ftp_port, timeout=30)
    return ftp


def _timed_login(ftp: ftplib.FTP, username: str, password: str) -> tuple[str, float]:
    started = time.monotonic()
    try:
        reply = ftp.login(username, password)
    except ftplib.error_perm as error:
        reply = str(error)
    return reply, time.monotonic() - started


@pytest.mark.parametrize("username", ["anonymous", "ftp"])
def test_ftp_refuses_anonymous_logins(ftp_tenant, username):
    with _connect(ftp_tenant) as ftp:
        reply, _ = _timed_login(ftp, username, "guest@example.com")
        assert reply.startswith("530")
        with pytest.raises(ftplib.error_perm) as refused:
            ftp.nlst("/")
        assert str(refused.value).startswith("530 Log in with USER and PASS first")


def test_failed_ftp_logins_are_delayed_and_the_third_disconnects(ftp_tenant):
    with _connect(ftp_tenant) as ftp:
        first, first_took = _timed_login(ftp, ftp_tenant.ftp_username, "wrong-password-1")
        second, second_took = _timed_login(ftp, "SLT999-1", "unknown-user")
        third, third_took = _timed_login(ftp, ftp_tenant.ftp_username, "wrong-password-3")

        # A known login and an unknown one fail alike.
        assert first == second == "530 Authentication failed."
        assert third == "530 Authentication failed. Disconnecting."
        for took in (first_took, second_took, third_took):
            assert took >= AUTH_FAILED_DELAY * 0.9
        with pytest.raises((EOFError, OSError, ftplib.Error)):
            ftp.login(ftp_tenant.ftp_username, ftp_tenant.ftp_password)

    # The right password still opens a fresh connection: throttled, not locked out.
    with _connect(ftp_tenant) as ftp:
        assert ftp.login(ftp_tenant.ftp_username, ftp_tenant.ftp_password).startswith("230")


# -- HTTPS -------------------------------------------------------------------------


def _self_signed_certificate(directory) -> tuple[str, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "transcode-emulator test")])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return str(cert_path), str(key_path)


def test_the_api_is_served_over_https_with_a_given_certificate(start_emulator, tmp_path):
    cert, key = _self_signed_certificate(tmp_path)
    emulator = start_emulator(users=[USER], tls_cert=cert, tls_key=key, ftp=False)
    assert emulator.rest_url.startswith("https://127.0.0.1:")

    for url in (emulator.rest_url, emulator.xmlrpc_url):
        client = SoftLayer.create_client_from_env(
            username="alice", api_key="KEY1-alice-0123456789", endpoint_url=url, verify=cert,
        )
        assert client.call("SoftLayer_Account", "getCurrentUser")["username"] == "alice"

    # The certificate is what secures it: unknown to the system, refused there.
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(emulator.rest_url + "SoftLayer_Account.json",
                     auth=("alice", "KEY1-alice-0123456789"), timeout=30)
    # And nothing answers in plain HTTP on that port.
    plain = emulator.rest_url.replace("https://", "http://")
    with pytest.raises(httpx.HTTPError):
        httpx.get(plain + "SoftLayer_Account.json", timeout=10)
    context = ssl.create_default_context(cafile=cert)
    health = httpx.get(emulator.api_url + "/_emulator/health", verify=context, timeout=30)
    assert health.status_code == 200


# -- the control API and its admin token --------------------------------------------

ADMIN_TOKEN = "admin-token-0123456789abcdef"


def _control(api_url: str, token: str | None = None) -> dict[str, int]:
    headers = {"X-Emulator-Admin-Token": token} if token is not None else {}
    with httpx.Client(base_url=api_url + "/_emulator", headers=headers, timeout=30) as control:
        return {
            "health": control.get("/health").status_code,
            "notifications": control.get("/notifications").status_code,
            "rules": control.get("/jobs/rules").status_code,
            "reset": control.post("/reset").status_code,
        }


def _control_line(served) -> str:
    return next(line for line in served.output if "Control API:" in line).strip()


def test_an_admin_token_guards_every_control_endpoint_but_health(tmp_path):
    served = serve(tmp_path / "data", "--no-workers", "--no-ftp", "--admin-token", ADMIN_TOKEN)
    try:
        without = _control(served.api_url)
        wrong_same_length = _control(served.api_url, ADMIN_TOKEN[:-1] + "X")
        wrong_length = _control(served.api_url, "short")
        right = _control(served.api_url, ADMIN_TOKEN)
    finally:
        served.stop()

    refused = {"health": 200, "notifications": 401, "rules": 401, "reset": 401}
    assert without == wrong_same_length == wrong_length == refused
    assert right == {"health": 200, "notifications": 200, "rules": 200, "reset": 200}
    assert "requires the admin token" in _control_line(served)
    assert ADMIN_TOKEN not in served.log_text()


def test_on_loopback_without_a_token_the_banner_says_the_control_api_is_open(tmp_path):
    served = serve(tmp_path / "data", "--no-workers", "--no-ftp")
    try:
        opened = _control(served.api_url)
    finally:
        served.stop()
    assert opened["reset"] == 200
    assert "open (loopback only)" in _control_line(served)
    # The built-in default key is the one credential a banner may show.
    assert DEFAULT_API_KEY in served.log_text()


def test_beyond_loopback_the_control_api_requires_an_admin_token(tmp_path):
    # Bound to every interface, reached only through loopback.
    served = serve(tmp_path / "data", "--host", "0.0.0.0", "--no-workers", "--no-ftp")
    try:
        assert served.api_url.startswith("http://127.0.0.1:")
        line = _control_line(served)
        generated = re.search(r"requires the admin token (\S+) \(generated", line)
        without = _control(served.api_url)
        with_token = _control(served.api_url, generated.group(1)) if generated else {}
    finally:
        served.stop()

    assert generated, line
    assert without == {"health": 200, "notifications": 401, "rules": 401, "reset": 401}
    assert with_token == {"health": 200, "notifications": 200, "rules": 200, "reset": 200}


@pytest.mark.parametrize(
    "host, loopback",
    [("127.0.0.1", True), ("127.8.9.10", True), ("::1", True), ("localhost", True),
     ("0.0.0.0", False), ("::", False), ("192.0.2.10", False), ("example.org", False)],
)
def test_which_hosts_count_as_loopback_for_the_control_api(host, loopback):
    assert is_loopback_host(host) is loopback

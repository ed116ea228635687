"""Every path the API or the FTP server accepts refuses what could leave the home."""

from __future__ import annotations

import ftplib
import io
import json
import os

import httpx
import pytest
import SoftLayer

from tests.hardening.instances import start_in_process
from tests.hardening.tenants import ACCOUNT, JOB, job_template, open_tenant

PUBLIC = "SoftLayer_Exception_Public"
LONG_NAME = "a" * 256 + ".wmv"
LONG_PATH = "/in/" + "folder/" * 150 + "clip.wmv"

# (path, what the error says after "The <what> "/"in the <what>"), per folder.
BAD_PATHS = {
    "dot-dot": ("/{folder}/../{folder}/clip.wmv", "may not contain '..'."),
    "relative dot-dot": ("../{folder}/clip.wmv", "may not contain '..'."),
    "absolute outside": ("/etc/passwd", "must be in"),
    "other home": ("/2/{folder}/clip.wmv", "must be in"),
    "NUL byte": ("/{folder}/clip\x00.wmv", "contains a control character."),
    "escape sequence": ("/{folder}/clip\x1b[31m.wmv", "contains a control character."),
    "newline": ("/{folder}/clip\n.wmv", "contains a control character."),
    "backslash": ("\\{folder}\\clip.wmv", "contains a backslash."),
    "lone surrogate": ("/{folder}/clip\ud800.wmv", "is not valid Unicode text."),
    "long name": ("/{folder}/" + LONG_NAME, "is longer than 255 bytes."),
    "long path": (LONG_PATH, "is longer than 1024 characters."),
    "symlink to a file": ("/{folder}/linked.wmv", "leads through a symbolic link."),
    "symlink to a folder": ("/{folder}/linked-folder/clip.wmv", "leads through a symbolic link."),
}
# XML 1.0 cannot carry these characters, so XML-RPC refuses them as XML.
NOT_IN_XML = {"NUL byte", "escape sequence", "lone surrogate"}


@pytest.fixture(scope="module")
def tenant(tmp_path_factory):
    """alice, whose /in and /out hold a clip and links planted towards bob and outside."""
    emulator = start_in_process(
        tmp_path_factory.mktemp("paths"),
        users=["alice:KEY1-alice-0123456789", "bob:KEY2-bob-0123456789xx"],
    )
    alice = open_tenant(emulator, "alice", "KEY1-alice-0123456789")
    bob = open_tenant(emulator, "bob", "KEY2-bob-0123456789xx")
    (bob.home / "in" / "clip.wmv").write_bytes(b"bob's clip")
    outside = tmp_path_factory.mktemp("outside")
    (outside / "clip.wmv").write_bytes(b"outside the data directory")
    for folder in ("in", "out"):
        (alice.home / folder / "clip.wmv").write_bytes(b"alice's clip")
        os.symlink(bob.home / "in" / "clip.wmv", alice.home / folder / "linked.wmv")
        os.symlink(outside, alice.home / folder / "linked-folder")
    yield alice
    emulator.stop(grace=1)


def bad_path(name: str, folder: str) -> str:
    return BAD_PATHS[name][0].format(folder=folder)


def api_calls(field: str, path: str) -> tuple[str, str, list, bool]:
    """(service, method, parameters, needs the transcode account id) using `path` as `field`."""
    if field == "inputFile":
        return JOB, "createObject", [job_template(path, "/out/result")], False
    if field == "outputFile":
        return JOB, "createObject", [job_template("/in/clip.wmv", path)], False
    if field == "watermark fileName":
        template = job_template("/in/clip.wmv", "/out/result", watermark={"fileName": path})
        return JOB, "createObject", [template], False
    if field == "source":
        return ACCOUNT, "getFileDetail", [path], True
    return ACCOUNT, "getDirectoryInformation", [path, ""], True


FIELDS = {
    "inputFile": "in",
    "outputFile": "out",
    "watermark fileName": "in",
    "source": "in",
    "directoryName": "in",
}


def expected_message(field: str, name: str, path: str) -> str:
    ending = BAD_PATHS[name][1]
    if name in ("long name",):
        return f"A name in the {field} {ending}"
    if ending == "must be in":
        folders = "/in or /out" if field in ("source", "directoryName") else f"/{FIELDS[field]}"
        return f"The {field} '{path}' must be in {folders}."
    if name in ("NUL byte", "escape sequence", "newline", "lone surrogate", "long path"):
        return f"The {field} {ending}"
    return f"The {field} '{path}' {ending}"


@pytest.mark.parametrize("field", list(FIELDS))
@pytest.mark.parametrize("name", list(BAD_PATHS))
def test_the_api_refuses_the_path_with_a_clear_error(tenant, field, name):
    path = bad_path(name, FIELDS[field])
    if name == "symlink to a folder" and field == "directoryName":
        path = f"/{FIELDS[field]}/linked-folder"
    service, method, parameters, with_id = api_calls(field, path)
    url = tenant.emulator.rest_url + service
    url += f"/{tenant.transcode_account_id}/{method}.json" if with_id else f"/{method}.json"

    # Escaped JSON, so a lone surrogate travels as `\ud800` like any client sends it.
    body = json.dumps({"parameters": parameters})
    response = httpx.post(url, content=body, auth=(tenant.username, tenant.api_key), timeout=30)

    assert response.status_code == 500
    assert response.json() == {"error": expected_message(field, name, path), "code": PUBLIC}
    assert tenant.rest.call(ACCOUNT, "getTranscodeJobs", id=tenant.transcode_account_id) == []


@pytest.mark.parametrize("field", list(FIELDS))
@pytest.mark.parametrize("name", sorted(set(BAD_PATHS) - NOT_IN_XML))
def test_xmlrpc_refuses_the_path_with_the_same_error(tenant, field, name):
    path = bad_path(name, FIELDS[field])
    if name == "symlink to a folder" and field == "directoryName":
        path = f"/{FIELDS[field]}/linked-folder"
    service, method, parameters, with_id = api_calls(field, path)
    kwargs = {"id": tenant.transcode_account_id} if with_id else {}

    with pytest.raises(SoftLayer.SoftLayerAPIError) as refused:
        tenant.xmlrpc.call(service, method, *parameters, **kwargs)

    assert refused.value.faultCode == PUBLIC
    assert refused.value.faultString == expected_message(field, name, path)


# -- FTP ---------------------------------------------------------------------------

FTP_BAD_PATHS = {
    "dot-dot": ("/in/../in/clip.wmv", "553 The path '/in/../in/clip.wmv' may not contain '..'."),
    "relative dot-dot": ("../in/clip.wmv", "553 The path '../in/clip.wmv' may not contain '..'."),
    "NUL byte": ("/in/clip\x00.wmv", "553 The path contains a control character."),
    "escape sequence": ("/in/clip\x1b.wmv", "553 The path contains a control character."),
    "bare newline": ("/in/clip\n.wmv", "553 The path contains a control character."),
    "backslash": ("\\in\\clip.wmv", "553 The path '\\in\\clip.wmv' contains a backslash."),
    "long name": ("/in/" + LONG_NAME, "553 A name in the path is longer than 255 bytes."),
    "long path": ("/in/" + "f/" * 520, "553 The path is longer than 1024 characters."),
    "symlink to a file": ("/in/linked.wmv", "553 The path leads through a symbolic link."),
    "symlink to a folder": ("/in/linked-folder/clip.wmv",
                            "553 The path leads through a symbolic link."),
}
FTP_COMMANDS = ["CWD", "SIZE", "MDTM", "DELE", "RNFR", "RNTO", "MLST", "RMD", "MKD", "STAT",
                "LIST", "NLST", "MLSD", "RETR", "STOR", "APPE"]
DATA_COMMANDS = {"LIST", "NLST", "MLSD", "RETR", "STOR", "APPE"}


def send_raw(ftp: ftplib.FTP, line: str) -> str:
    """Send a command byte for byte (ftplib refuses bare newlines) and read the reply."""
    ftp.sock.sendall(line.encode(ftp.encoding, "surrogateescape") + b"\r\n")
    return ftp.getmultiline()


@pytest.mark.parametrize("name", list(FTP_BAD_PATHS))
def test_every_ftp_command_refuses_the_path(tenant, name):
    path, reply = FTP_BAD_PATHS[name]
    before = {folder: sorted(os.listdir(tenant.home / folder)) for folder in ("in", "out")}

    with tenant.ftp() as ftp:
        ftp.voidcmd("TYPE I")
        for command in FTP_COMMANDS:
            if command == "RNTO":
                ftp.sendcmd("RNFR /in/clip.wmv")
            if command in DATA_COMMANDS:
                ftp.voidcmd("PASV")
            answer = send_raw(ftp, f"{command} {path}")
            assert answer == reply, command

        assert ftp.voidcmd("NOOP").startswith("200")
        assert ftp.pwd() == "/"

    after = {folder: sorted(os.listdir(tenant.home / folder)) for folder in ("in", "out")}
    assert after == before
    assert (tenant.home / "in" / "clip.wmv").read_bytes() == b"alice's clip"


@pytest.mark.parametrize("path", ["/etc/passwd", "/2/in/clip.wmv", "/in/../../2/in/clip.wmv"])
def test_ftp_absolute_paths_stay_inside_the_home(tenant, path):
    with tenant.ftp() as ftp:
        ftp.voidcmd("TYPE I")
        received: list[bytes] = []
        with pytest.raises(ftplib.error_perm) as refused:
            ftp.retrbinary(f"RETR {path}", received.append)
        assert str(refused.value)[:3] in ("550", "553")
        assert received == []
        with pytest.raises(ftplib.error_perm):
            ftp.storbinary(f"STOR {path}", io.BytesIO(b"planted"))
    assert not (tenant.home / "etc").exists()
    assert not (tenant.home / "2").exists()


def test_ftp_offers_no_unique_name_uploads_or_folders(tenant):
    with tenant.ftp() as ftp:
        ftp.cwd("/in")
        with pytest.raises(ftplib.error_temp) as unique:
            ftp.storbinary("STOU", io.BytesIO(b"x"))
        assert str(unique.value).startswith("450 Unique names (STOU) are not offered")
        with pytest.raises(ftplib.error_perm) as folder:
            ftp.mkd("/in/sub")
        assert str(folder.value).startswith("550")
    assert sorted(os.listdir(tenant.home / "in")) == ["clip.wmv", "linked-folder", "linked.wmv"]

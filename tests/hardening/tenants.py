"""Users of one emulator, each with a transcode account, as the tests drive them."""

from __future__ import annotations

import ftplib
from dataclasses import dataclass, field
from pathlib import Path

import SoftLayer

from emulator.server import Emulator

ACCOUNT = "SoftLayer_Network_Media_Transcode_Account"
JOB = "SoftLayer_Network_Media_Transcode_Job"
F4V_GUID = "{87E01268-C3E3-4A85-9701-052C9AC42BD4}"
F4V_NAME = "F4V 896kbps 640x352 16x9 29.97fps"


@dataclass
class Tenant:
    username: str
    api_key: str
    emulator: Emulator
    rest: SoftLayer.BaseClient
    xmlrpc: SoftLayer.BaseClient
    account_id: int = 0
    user_id: int = 0
    transcode_account_id: int = 0
    ftp_username: str = ""
    ftp_password: str = ""
    jobs: list[dict] = field(default_factory=list)

    @property
    def job_ids(self) -> list[int]:
        return [job["id"] for job in self.jobs]

    def client(self, transport: str) -> SoftLayer.BaseClient:
        return self.rest if transport == "rest" else self.xmlrpc

    @property
    def home(self):
        return self.emulator.backend.storage.home(self.transcode_account_id)

    def staged_files(self) -> list[Path]:
        """Files half-written in the data directory's staging area, by any process."""
        staging = Path(self.emulator.settings.data_dir) / "staging"
        return [path for path in staging.rglob("*") if path.is_file()]

    def ftp(self) -> ftplib.FTP:
        ftp = ftplib.FTP()
        ftp.connect("127.0.0.1", self.emulator.ftp_port, timeout=30)
        ftp.login(self.ftp_username, self.ftp_password)
        return ftp


def softlayer_client(emulator: Emulator, username: str, api_key: str, transport: str = "rest"):
    url = emulator.rest_url if transport == "rest" else emulator.xmlrpc_url
    return SoftLayer.create_client_from_env(
        username=username, api_key=api_key, endpoint_url=url, timeout=60
    )


def open_tenant(emulator: Emulator, username: str, api_key: str) -> Tenant:
    """The user's clients, with a transcode account created and its FTP login read."""
    tenant = Tenant(
        username,
        api_key,
        emulator,
        rest=softlayer_client(emulator, username, api_key, "rest"),
        xmlrpc=softlayer_client(emulator, username, api_key, "xmlrpc"),
    )
    tenant.rest.call(ACCOUNT, "createTranscodeAccount")
    user = tenant.rest.call("SoftLayer_Account", "getCurrentUser")
    tenant.user_id, tenant.account_id = user["id"], user["accountId"]
    accounts = tenant.rest.call("SoftLayer_Account", "getTranscodeAccounts")
    tenant.transcode_account_id = accounts[0]["id"]
    ftp = tenant.rest.call(ACCOUNT, "getFtpAttributes", id=tenant.transcode_account_id)
    tenant.ftp_username, tenant.ftp_password = ftp["username"], ftp["password"]
    return tenant


def job_template(input_file: str, output_file: str, **changes) -> dict:
    template = {
        "name": "hardening",
        "transcodePresetGuid": F4V_GUID,
        "transcodePresetName": F4V_NAME,
        "inputFile": input_file,
        "outputFile": output_file,
    }
    template.update(changes)
    return template

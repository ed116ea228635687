"""SoftLayer_Network_Media_Transcode_Account: the account, its files and presets."""

from __future__ import annotations

import secrets

from sqlmodel import Session, select

from emulator.backend import Backend

from emulator.dispatch import Service, softlayer_method
from emulator.errors import SoftLayer_Exception_Public, object_not_found
from emulator.jobs import create_job, refused
from emulator.models import Account, TranscodeAccount, TranscodeJob
from emulator.storage import IN_DIR, OUT_DIR, is_regular_file, list_directory

JOB = "SoftLayer_Network_Media_Transcode_Job"


def new_transcode_account(session: Session, backend: Backend, account_id: int) -> TranscodeAccount:
    """A transcode account with its FTP login and empty /in and /out."""
    existing = session.exec(
        select(TranscodeAccount).where(TranscodeAccount.account_id == account_id)
    ).first()
    if existing is not None:
        raise SoftLayer_Exception_Public(
            "This account already has a transcode account; only one is allowed."
        )

    now = backend.clock.now()
    transcode_account = TranscodeAccount(
        account_id=account_id,
        ftp_username=f"SLT{account_id}-1",
        ftp_password=secrets.token_urlsafe(12),
        create_date=now,
        modify_date=now,
    )
    session.add(transcode_account)
    session.flush()
    backend.storage.create_home(transcode_account.id)
    return transcode_account


class TranscodeAccountService(Service):
    name = "SoftLayer_Network_Media_Transcode_Account"

    @softlayer_method("createTranscodeAccount")
    def create_transcode_account(self, account_id: int | None = None) -> bool:
        if account_id is not None and account_id != self.user.account_id:
            raise object_not_found(account_id)
        new_transcode_account(self.session, self.backend, self.user.account_id)
        return True

    @softlayer_method("createTranscodeJob")
    def create_transcode_job(self, template: dict) -> bool:
        """The obsolete form of SoftLayer_Network_Media_Transcode_Job::createObject."""
        create_job(self.session, self.backend, self.user, self.own(), template)
        return True

    @softlayer_method("getObject", returns="SoftLayer_Network_Media_Transcode_Account")
    def get_object(self) -> TranscodeAccount:
        return self.own()

    @softlayer_method("getAccount", returns="SoftLayer_Account")
    def get_account(self) -> Account:
        return self.session.get(Account, self.own().account_id)

    @softlayer_method("getTranscodeJobs", returns=JOB, many=True, list_property="transcodeJobs")
    def get_transcode_jobs(self):
        return select(TranscodeJob).where(TranscodeJob.transcode_account_id == self.own().id)

    @softlayer_method("getTranscodeJobCount")
    def get_transcode_job_count(self) -> int:
        return len(self.own().transcode_jobs)

    @softlayer_method(
        "getDirectoryInformation",
        returns="SoftLayer_Container_Network_Directory_Listing",
        many=True,
    )
    def get_directory_information(self, directory_name: str, extension_filter: str = "") -> list:
        account = self.own()
        home = self.backend.storage.home(account.id)
        if directory_name.strip() in ("", "/"):
            return list_directory(home, extension_filter)

        folder = self.backend.storage.resolve(
            account.id, directory_name, (IN_DIR, OUT_DIR), "directoryName"
        )
        if not folder.real.is_dir():
            raise refused(f"The directory '{folder.virtual}' does not exist.")
        return list_directory(folder.real, extension_filter)

    @softlayer_method("getFileDetail", returns="SoftLayer_Container_Network_Media_Information")
    def get_file_detail(self, source: str) -> dict:
        account = self.own()
        path = self.backend.storage.resolve(account.id, source, (IN_DIR, OUT_DIR), "source")
        if not is_regular_file(path.real):
            raise refused(f"The file '{path.virtual}' does not exist.")
        return self.backend.prober.probe(path.real, path.virtual)

    @softlayer_method("getFtpAttributes", returns="SoftLayer_Container_Network_Authentication_Data")
    def get_ftp_attributes(self) -> dict:
        account = self.own()
        settings = self.backend.settings
        return {
            "host": settings.ftp_public_host or settings.host,
            "port": settings.ftp_port,
            "username": account.ftp_username,
            "password": account.ftp_password,
            "type": "ftp",
        }

    @softlayer_method(
        "getPresets", returns="SoftLayer_Container_Network_Media_Transcode_Preset", many=True
    )
    def get_presets(self) -> list:
        self.own()
        return [preset.summary() for preset in self.backend.catalog.presets]

    @softlayer_method(
        "getPresetDetail",
        returns="SoftLayer_Container_Network_Media_Transcode_Preset_Element",
        many=True,
    )
    def get_preset_detail(self, guid: str) -> list:
        self.own()
        preset = self.backend.catalog.get(guid)
        if preset is None:
            raise refused(f"Unknown transcode preset GUID '{guid[:80]}'.")
        return preset.elements()

    def own(self) -> TranscodeAccount:
        """The transcode account named by the init id, if it is the caller's."""
        account_id = self.required_id()
        account = self.session.get(TranscodeAccount, account_id)
        if account is None or account.account_id != self.user.account_id:
            raise object_not_found(account_id)
        return account

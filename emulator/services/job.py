"""SoftLayer_Network_Media_Transcode_Job and its statuses."""

from __future__ import annotations

from sqlmodel import select

from emulator.dispatch import Service, softlayer_method
from emulator.errors import SoftLayer_Exception_Public, object_not_found
from emulator.jobs import create_job
from emulator.models import (
    TranscodeAccount,
    TranscodeJob,
    TranscodeJobHistory,
    TranscodeJobStatus,
    User,
)

JOB = "SoftLayer_Network_Media_Transcode_Job"
STATUS = "SoftLayer_Network_Media_Transcode_Job_Status"


class TranscodeJobService(Service):
    name = JOB

    @softlayer_method("createObject", returns=JOB)
    def create_object(self, template: dict) -> TranscodeJob:
        transcode_account = self.session.exec(
            select(TranscodeAccount).where(TranscodeAccount.account_id == self.user.account_id)
        ).first()
        if transcode_account is None:
            raise SoftLayer_Exception_Public(
                "This account has no transcode account; call createTranscodeAccount first."
            )
        requested = template.get("transcodeAccountId")
        if requested not in (None, "") and str(requested) != str(transcode_account.id):
            raise object_not_found(requested)
        return create_job(self.session, self.backend, self.user, transcode_account, template)

    @softlayer_method("getObject", returns=JOB)
    def get_object(self) -> TranscodeJob:
        return self.own()

    @softlayer_method(
        "getHistory",
        returns="SoftLayer_Network_Media_Transcode_Job_History",
        many=True,
        list_property="history",
    )
    def get_history(self):
        return select(TranscodeJobHistory).where(TranscodeJobHistory.job_id == self.own().id)

    @softlayer_method("getTranscodeAccount", returns="SoftLayer_Network_Media_Transcode_Account")
    def get_transcode_account(self) -> TranscodeAccount:
        return self.own().transcode_account

    @softlayer_method("getTranscodeStatus", returns=STATUS)
    def get_transcode_status(self) -> TranscodeJobStatus:
        return self.own().transcode_status

    @softlayer_method("getTranscodeStatusName")
    def get_transcode_status_name(self) -> str:
        return self.own().transcode_status.name

    @softlayer_method("getUser", returns="SoftLayer_User_Customer")
    def get_user(self) -> User:
        return self.own().user

    def own(self) -> TranscodeJob:
        """The job named by the init id, if it belongs to the caller's account."""
        job_id = self.required_id()
        # One query checks existence and ownership, instead of loading the job
        # and then lazily its transcode account.
        job = self.session.exec(
            select(TranscodeJob)
            .join(TranscodeAccount)
            .where(TranscodeJob.id == job_id)
            .where(TranscodeAccount.account_id == self.user.account_id)
        ).first()
        if job is None:
            raise object_not_found(job_id)
        return job


class TranscodeJobStatusService(Service):
    name = STATUS

    @softlayer_method("getAllStatuses", returns=STATUS, many=True)
    def get_all_statuses(self):
        return select(TranscodeJobStatus)

    @softlayer_method("getObject", returns=STATUS)
    def get_object(self) -> TranscodeJobStatus:
        status_id = self.required_id()
        status = self.session.get(TranscodeJobStatus, status_id)
        if status is None:
            raise object_not_found(status_id)
        return status

"""The emulator's state: SQLModel tables, one per SoftLayer entity it stores.

Columns are snake_case; `emulator.types` maps them to SoftLayer's property
names. Timestamps are naive UTC datetimes in service time (see `Clock`).
"""


from datetime import datetime
from typing import Optional

from sqlalchemy import Column, Index, Text, UniqueConstraint
from sqlmodel import Field, Relationship, SQLModel

PENDING = 1
PROCESSING = 2
COMPLETE = 3
ERROR = 4
DELETED = 5

# The public reference gives no ids; these are the emulator's, fixed forever.
JOB_STATUSES = {
    PENDING: ("Pending", "The job is queued and waits for a transcoder."),
    PROCESSING: ("Processing", "A transcoder is converting the input file."),
    COMPLETE: ("Complete", "The output file is ready in /out."),
    ERROR: ("Error", "The job failed; its history says why."),
    DELETED: ("Deleted", "The job's output file was deleted from /out."),
}
FINISHED_STATUSES = (COMPLETE, ERROR, DELETED)


class Account(SQLModel, table=True):
    id: Optional[int] = Field(default=None, primary_key=True)
    company_name: str = ""
    email: str = ""
    create_date: datetime

    users: list["User"] = Relationship(back_populates="account")
    transcode_accounts: list["TranscodeAccount"] = Relationship(
        back_populates="account"
    )


class User(SQLModel, table=True):
    id: Optional[int] = Field(default=None, primary_key=True)
    username: str = Field(index=True, unique=True)
    api_key: str
    account_id: int = Field(foreign_key="account.id", index=True)
    email: str = ""
    first_name: str = ""
    last_name: str = ""
    create_date: datetime

    account: Optional[Account] = Relationship(back_populates="users")


class TranscodeAccount(SQLModel, table=True):
    id: Optional[int] = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id", unique=True)
    ftp_username: str = Field(index=True, unique=True)
    ftp_password: str
    create_date: datetime
    modify_date: datetime

    account: Optional[Account] = Relationship(back_populates="transcode_accounts")
    transcode_jobs: list["TranscodeJob"] = Relationship(
        back_populates="transcode_account"
    )


class TranscodeJobStatus(SQLModel, table=True):
    id: int = Field(primary_key=True)
    name: str = Field(unique=True)
    description: str = ""


class TranscodeJob(SQLModel, table=True):
    __table_args__ = (
        Index("ix_job_account_status", "transcode_account_id", "status_id"),
        Index("ix_job_status_created", "status_id", "create_date"),
        # An account's jobs newest first: filtered pages stop after `limit` rows.
        Index("ix_job_account_created", "transcode_account_id", "create_date"),
    )

    id: Optional[int] = Field(default=None, primary_key=True)
    transcode_account_id: int = Field(foreign_key="transcodeaccount.id", index=True)
    user_id: int = Field(foreign_key="user.id")
    name: str = ""
    input_file: str
    output_file: str
    preset_guid: str
    preset_name: str
    job_guid: str = Field(unique=True)
    status_id: int = Field(foreign_key="transcodejobstatus.id")
    byte_in: int = 0
    auto_delete_duration: Optional[int] = None
    create_date: datetime
    modify_date: datetime
    watermark: Optional[str] = Field(default=None, sa_column=Column(Text))

    # Worker bookkeeping, never shown to SoftLayer clients.
    progress: int = 0
    attempts: int = 0
    worker_id: Optional[str] = None
    lease_expires: Optional[float] = None
    processing_started: Optional[float] = None

    transcode_account: Optional[TranscodeAccount] = Relationship(
        back_populates="transcode_jobs"
    )
    transcode_status: Optional[TranscodeJobStatus] = Relationship()
    user: Optional[User] = Relationship()
    history: list["TranscodeJobHistory"] = Relationship(
        back_populates="job",
        sa_relationship_kwargs={"order_by": "TranscodeJobHistory.id"},
    )


class TranscodeJobHistory(SQLModel, table=True):
    id: Optional[int] = Field(default=None, primary_key=True)
    job_id: int = Field(foreign_key="transcodejob.id", index=True)
    create_date: datetime
    public_notes: str = Field(default="", sa_column=Column(Text))
    status_name: str

    job: Optional[TranscodeJob] = Relationship(back_populates="history")


class StoredFile(SQLModel, table=True):
    """A file in a transcode account's /in or /out, for retention and auto-delete."""

    __table_args__ = (UniqueConstraint("transcode_account_id", "path"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    transcode_account_id: int = Field(foreign_key="transcodeaccount.id", index=True)
    path: str
    size: int = 0
    created_at: float = Field(index=True)
    delete_at: Optional[float] = Field(default=None, index=True)


class Notification(SQLModel, table=True):
    id: Optional[int] = Field(default=None, primary_key=True)
    account_id: int = Field(index=True)
    transcode_account_id: int
    job_id: Optional[int] = Field(default=None, index=True)
    recipient: str
    subject: str
    body: str = Field(sa_column=Column(Text))
    create_date: datetime
    delivered: bool = False
    delivery_error: str = ""
    # Set by the process that is sending it, so a notification goes out once
    # even when several processes share the database.
    sending_since: Optional[float] = None


class SteeringRule(SQLModel, table=True):
    """A control-API instruction to the workers: hold, fail or delay jobs."""

    id: Optional[int] = Field(default=None, primary_key=True)
    kind: str  # "hold", "fail" or "delay"
    preset: str = ""
    file_pattern: str = ""
    message: str = ""
    remaining: Optional[int] = None  # None: applies until removed
    delay_seconds: float = 0.0


class EmulatorState(SQLModel, table=True):
    key: str = Field(primary_key=True)
    value: str

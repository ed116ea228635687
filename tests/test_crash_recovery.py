"""Crashes and shutdowns: `transcode-emulator serve` killed with SIGKILL in the
middle of a job and of an upload, stopped with SIGTERM, and workers whose
lease ran out. Jobs are re-run or end in Error; nothing half-written shows."""

from __future__ import annotations

import ftplib
import io
import signal
import threading
import time
from pathlib import Path

import pytest
import SoftLayer
from sqlalchemy import update
from sqlmodel import Session

from emulator.config import DEFAULT_API_KEY, DEFAULT_USERNAME
from emulator.models import TranscodeJob
from emulator.worker import claim_next_job, recover_abandoned_jobs
from tests.job_flow import (
    USERS,
    client_for,
    control,
    create_job,
    download,
    ftp_session,
    history,
    job,
    listing,
    start_emulator,
    transcode_account_id,
    upload,
    wait_for_job,
    wait_until,
)
from tests.media import make_clip
from tests.served import serve
from tests.worker_process import WorkerProcess

REQUEUED = ("Pending", "The transcoder stopped unexpectedly; the job is queued again.")
SHUT_DOWN = ("Pending", "The transcoder shut down; the job is queued again.")
UPLOADED_BEFORE_KILL = 512 * 1024


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    return make_clip(tmp_path_factory.mktemp("media") / "clip.wmv", seconds=1, size="160x120")


def client_of(served):
    return SoftLayer.create_client_from_env(
        username=DEFAULT_USERNAME, api_key=DEFAULT_API_KEY, endpoint_url=served.rest_url
    )


def staged(data_dir: Path, suffix: str) -> list[Path]:
    return sorted(path for path in (data_dir / "staging").rglob(f"*{suffix}") if path.is_file())


def wait_until_waiting_in_staging(client, job_id: int) -> None:
    """The job's output is written and waits in staging (the steered delay)."""
    wait_until(
        lambda: ("Processing", "Processing: 50% done.") in history(client, job_id), timeout=120
    )


class StalledUpload(io.RawIOBase):
    """Upload content that stops arriving after a while, until `resume` is set."""

    def __init__(self, resume: threading.Event) -> None:
        self.resume = resume
        self.sent = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if self.sent >= UPLOADED_BEFORE_KILL:
            self.resume.wait(60)
            return b""
        chunk = b"\x30\x26\xb2\x75" * (min(size, 8192) // 4)
        self.sent += len(chunk)
        return chunk


def start_stalled_upload(client, transcode_id: int, name: str) -> threading.Event:
    resume = threading.Event()

    def send() -> None:
        try:
            with ftp_session(client, transcode_id) as ftp:
                ftp.storbinary(f"STOR /in/{name}", StalledUpload(resume))
        except (OSError, EOFError, ftplib.Error):
            pass

    threading.Thread(target=send, daemon=True).start()
    return resume


def test_kill_during_a_job_and_an_upload_reruns_the_job_and_loses_nothing(tmp_path, clip):
    data_dir = tmp_path / "data"
    served = serve(data_dir, "--workers", "1")
    try:
        client = client_of(served)
        transcode_id = transcode_account_id(client)
        upload(client, transcode_id, clip, "clip.wmv")
        done = create_job(client, "/in/clip.wmv", "/out/done", name="Finished before")["id"]
        assert wait_for_job(client, done)["transcodeStatusName"] == "Complete"
        done_history = history(client, done)
        done_output = download(client, transcode_id, "/out/done.f4v")
        done_notifications = control(served.api_url, "GET", f"notifications?jobId={done}")

        control(served.api_url, "POST", "jobs/delay", {"seconds": 120})
        running = create_job(client, "/in/clip.wmv", "/out/running")["id"]
        wait_until_waiting_in_staging(client, running)
        resume = start_stalled_upload(client, transcode_id, "partial.wmv")
        wait_until(
            lambda: any(
                part.stat().st_size >= UPLOADED_BEFORE_KILL for part in staged(data_dir, ".upload")
            )
        )
        unplaced_output = staged(data_dir, ".f4v")
    finally:
        served.stop(signal.SIGKILL)
    resume.set()
    assert len(unplaced_output) == 1

    served = serve(data_dir, "--workers", "1")
    try:
        client = client_of(served)
        in_after_restart = listing(client, transcode_id, "/in")
        out_after_restart = listing(client, transcode_id, "/out")
        leftover_uploads = staged(data_dir, ".upload")
        wait_until(lambda: REQUEUED in history(client, running), timeout=60)
        control(served.api_url, "DELETE", "jobs/rules")
        rerun = wait_for_job(client, running)

        assert in_after_restart == ["clip.wmv"]
        assert out_after_restart == ["done.f4v"]
        assert leftover_uploads == []
        assert not unplaced_output[0].exists()
        assert rerun["transcodeStatusName"] == "Complete"
        assert rerun["outputFile"] == "/out/running.f4v"
        statuses = history(client, running)
        assert statuses[statuses.index(REQUEUED) + 1][1].endswith("(attempt 2).")
        assert listing(client, transcode_id, "/out") == ["done.f4v", "running.f4v"]
        assert history(client, done) == done_history
        assert download(client, transcode_id, "/out/done.f4v") == done_output
        assert control(served.api_url, "GET", f"notifications?jobId={done}") == done_notifications
    finally:
        served.stop()


def test_job_killed_in_its_last_attempt_ends_in_error(tmp_path, clip):
    data_dir = tmp_path / "data"
    one_attempt = {"TRANSCODE_EMULATOR_JOB_MAX_ATTEMPTS": "1"}
    served = serve(data_dir, "--workers", "1", "--no-ftp", env=one_attempt)
    try:
        client = client_of(served)
        transcode_id = transcode_account_id(client)
        (data_dir / "ftp" / str(transcode_id) / "in" / "clip.wmv").write_bytes(clip.read_bytes())
        control(served.api_url, "POST", "jobs/delay", {"seconds": 120})
        doomed = create_job(client, "/in/clip.wmv", "/out/doomed")["id"]
        wait_until_waiting_in_staging(client, doomed)
    finally:
        served.stop(signal.SIGKILL)

    served = serve(data_dir, "--workers", "1", "--no-ftp", env=one_attempt)
    try:
        client = client_of(served)
        failed = wait_for_job(client, doomed, timeout=60)
        control(served.api_url, "DELETE", "jobs/rules")
        after = wait_for_job(client, create_job(client, "/in/clip.wmv", "/out/after")["id"])

        assert failed["transcodeStatusName"] == "Error"
        assert history(client, doomed)[-1] == (
            "Error", "The transcoder stopped unexpectedly during attempt 1; the job has failed."
        )
        assert after["transcodeStatusName"] == "Complete"
        assert listing(client, transcode_id, "/out") == ["after.f4v"]
    finally:
        served.stop()


def test_sigterm_requeues_the_running_job_and_the_next_start_runs_it(tmp_path, clip):
    data_dir = tmp_path / "data"
    served = serve(data_dir, "--workers", "1", "--no-ftp")
    try:
        client = client_of(served)
        transcode_id = transcode_account_id(client)
        (data_dir / "ftp" / str(transcode_id) / "in" / "clip.wmv").write_bytes(clip.read_bytes())
        control(served.api_url, "POST", "jobs/delay", {"seconds": 120})
        interrupted = create_job(client, "/in/clip.wmv", "/out/interrupted")["id"]
        wait_until_waiting_in_staging(client, interrupted)
    finally:
        exit_code = served.stop(signal.SIGTERM, timeout=60)
    assert exit_code == 0
    assert f"job={interrupted} requeued by shutdown" in served.log_text()
    assert staged(data_dir, ".f4v") == []

    served = serve(data_dir, "--workers", "1", "--no-ftp")
    try:
        client = client_of(served)
        requeued = history(client, interrupted)
        control(served.api_url, "DELETE", "jobs/rules")
        finished = wait_for_job(client, interrupted)
        notes = history(client, interrupted)
    finally:
        served.stop()

    assert SHUT_DOWN in requeued
    assert finished["transcodeStatusName"] == "Complete"
    starts = [note for status, note in notes if note.startswith("Transcoding started")]
    assert len(starts) == 2
    assert all(note.endswith("(attempt 1).") for note in starts)
    assert notes.index(SHUT_DOWN) == 1 + notes.index(("Processing", "Processing: 50% done."))


def test_job_of_a_worker_whose_lease_ran_out_is_queued_again_then_failed(tmp_path, clip):
    emulator = start_emulator(tmp_path / "data", workers=0, ftp=False)
    try:
        emulator.seed({"users": [{
            "username": "alice", "apiKey": USERS["alice"],
            "files": {"/in/clip.wmv": {"path": str(clip)}},
        }]})
        alice = client_for(emulator, "alice")
        job_id = create_job(alice, "/in/clip.wmv", "/out/clip")["id"]
        backend = emulator.backend

        claimed = claim_next_job(backend, "other-host:4242:0badf00d")
        alive = recover_abandoned_jobs(backend, same_host_only=False)
        expire_lease(emulator, job_id)
        first_recovery = recover_abandoned_jobs(backend, same_host_only=False)
        after_first = job(alice, job_id)["transcodeStatusName"]

        claim_next_job(backend, "other-host:4242:0badf00d")
        expire_lease(emulator, job_id)
        second_recovery = recover_abandoned_jobs(backend, same_host_only=False)
        notes = history(alice, job_id)
    finally:
        emulator.stop(grace=0)

    assert (claimed, alive, first_recovery, after_first) == (job_id, 0, 1, "Pending")
    assert second_recovery == 1
    assert notes == [
        ("Pending", "Job created; waiting for a transcoder."),
        ("Processing", "Transcoding started by transcoder other-host:4242:0badf00d (attempt 1)."),
        REQUEUED,
        ("Processing", "Transcoding started by transcoder other-host:4242:0badf00d (attempt 2)."),
        ("Error", "The transcoder stopped unexpectedly during attempt 2; the job has failed."),
    ]


def expire_lease(emulator, job_id: int) -> None:
    with Session(emulator.backend.engine) as session:
        session.execute(
            update(TranscodeJob)
            .where(TranscodeJob.id == job_id)
            .values(lease_expires=time.time() - 1)
        )
        session.commit()


def test_a_worker_process_starting_beside_serve_keeps_its_upload_in_flight(tmp_path):
    data_dir = tmp_path / "data"
    served = serve(data_dir, "--no-workers")
    worker = None
    try:
        client = client_of(served)
        transcode_id = transcode_account_id(client)
        resume = start_stalled_upload(client, transcode_id, "arriving.wmv")
        wait_until(
            lambda: any(
                part.stat().st_size >= UPLOADED_BEFORE_KILL for part in staged(data_dir, ".upload")
            )
        )

        worker = WorkerProcess(data_dir)
        worker.wait_ready()
        resume.set()
        wait_until(lambda: listing(client, transcode_id, "/in") == ["arriving.wmv"], timeout=60)
        size = client.call(
            "SoftLayer_Network_Media_Transcode_Account", "getFileDetail", "/in/arriving.wmv",
            id=transcode_id,
        )["fileSize"]
    finally:
        if worker is not None:
            worker.stop()
        served.stop()

    assert size == UPLOADED_BEFORE_KILL

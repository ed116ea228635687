"""Faults end in a clear job Error or a retry, lose nothing, and leave the server serving.

Injected: the disk filling during a transcode and an upload, ffmpeg missing,
crashing and hanging, the database locked by another process, and SIGTERM
while a job runs.
"""

from __future__ import annotations

import ftplib
import io
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
import SoftLayer

from tests.hardening.tenants import ACCOUNT, JOB, job_template, open_tenant, softlayer_client
from tests.media import make_clip
from tests.served import serve

USER = "alice:KEY1-alice-0123456789"
JOB_WAIT = 120
FINISHED = {"Complete", "Error"}


def wait_for_job(
    client, job_id: int, statuses: set[str] = FINISHED, timeout: float = JOB_WAIT
) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        job = client.call(JOB, "getObject", id=job_id,
                          mask="mask[id,transcodeStatusName,outputFile,history]")
        if job["transcodeStatusName"] in statuses:
            return job
        assert time.monotonic() < deadline, f"job {job_id} stayed {job['transcodeStatusName']}"
        time.sleep(0.2)


def last_note(job: dict) -> str:
    return job["history"][-1]["publicNotes"]


def assert_nothing_lost(tenant, inputs: list[str]) -> None:
    """The inputs are still in /in, nothing half-written shows, the server serves."""
    assert sorted(os.listdir(tenant.home / "in")) == sorted(inputs)
    assert tenant.staged_files() == []
    assert tenant.rest.call("SoftLayer_Account", "getObject")["id"] == tenant.account_id
    health = httpx.get(tenant.emulator.api_url + "/_emulator/health", timeout=30)
    assert health.status_code == 200


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    return make_clip(tmp_path_factory.mktemp("media") / "clip.wmv", seconds=1, size="160x120")


def tenant_with_clip(emulator, clip: Path):
    tenant = open_tenant(emulator, "alice", "KEY1-alice-0123456789")
    shutil.copyfile(clip, tenant.home / "in" / "clip.wmv")
    return tenant


# -- ffmpeg missing, crashing, hanging ------------------------------------------------


def fake_ffmpeg(directory: Path, body: str) -> str:
    script = directory / "ffmpeg"
    script.write_text("#!/bin/sh\n" + body + "\n")
    script.chmod(0o755)
    return str(script)


@pytest.mark.parametrize(
    "fault, script, timeout, reason",
    [
        ("missing", None, 3600, "ffmpeg"),
        ("crashing", "kill -SEGV $$", 3600, "ffmpeg was killed by signal 11"),
        ("hanging", "echo $$ > \"$(dirname \"$0\")/pid\"; exec sleep 600", 2, "job timeout"),
    ],
)
def test_an_ffmpeg_fault_ends_the_job_in_a_clear_error(
    start_emulator, clip, tmp_path, fault, script, timeout, reason
):
    ffmpeg = fake_ffmpeg(tmp_path, script) if script else str(tmp_path / "no" / "ffmpeg")
    emulator = start_emulator(users=[USER], workers=1, ffmpeg=ffmpeg, job_timeout=timeout)
    tenant = tenant_with_clip(emulator, clip)

    job = tenant.rest.call(JOB, "createObject", job_template("/in/clip.wmv", "/out/clip"))
    finished = wait_for_job(tenant.rest, job["id"])

    assert finished["transcodeStatusName"] == "Error"
    assert reason in last_note(finished), last_note(finished)
    assert os.listdir(tenant.home / "out") == []
    assert_nothing_lost(tenant, ["clip.wmv"])
    if fault == "hanging":
        with pytest.raises(ProcessLookupError):
            os.kill(int((tmp_path / "pid").read_text()), 0)


# -- the disk fills ------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path) -> Path:
    """A 2 MiB tmpfs for the data directory, unmounted afterwards."""
    mount_point = tmp_path / "small-disk"
    mount_point.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a small tmpfs needs root; the full-disk test cannot run here")
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount_point)],
        capture_output=True, text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"mounting a small tmpfs is not permitted here: {mounted.stderr.strip()}")
    yield mount_point
    subprocess.run(["umount", "-l", str(mount_point)], check=False)


def fill(disk: Path, leave_bytes: int) -> Path:
    filler = disk / "filler"
    free = shutil.disk_usage(disk).free
    with filler.open("wb") as out:
        out.write(b"\0" * max(0, free - leave_bytes))
    return filler


def test_a_full_disk_fails_the_transcode_and_the_upload_and_nothing_is_lost(
    small_disk, start_emulator, clip, tmp_path
):
    # small_disk comes first, so it is unmounted after the emulator stops.
    emulator = start_emulator(
        users=[USER], workers=1, data_dir=small_disk,
        database_url=f"sqlite:///{tmp_path / 'emulator.db'}",
    )
    tenant = tenant_with_clip(emulator, clip)
    filler = fill(small_disk, leave_bytes=16 * 1024)

    job = tenant.rest.call(JOB, "createObject", job_template("/in/clip.wmv", "/out/clip"))
    failed = wait_for_job(tenant.rest, job["id"])
    with tenant.ftp() as ftp:
        with pytest.raises(ftplib.error_temp) as upload:
            try:
                ftp.storbinary("STOR /in/big.wmv", io.BytesIO(b"u" * 200_000))
            except ConnectionResetError:
                # The server may drop the data connection before the client has
                # sent everything; its reply still waits on the control one.
                ftp.voidresp()

    assert failed["transcodeStatusName"] == "Error"
    assert "No space left on device" in last_note(failed), last_note(failed)
    assert str(upload.value) == "452 Insufficient storage space; the upload was discarded."
    assert os.listdir(tenant.home / "out") == []
    assert_nothing_lost(tenant, ["clip.wmv"])

    # Once there is room again, the same work succeeds.
    filler.unlink()
    with tenant.ftp() as ftp:
        ftp.storbinary("STOR /in/big.wmv", io.BytesIO(b"u" * 200_000))
    retried = tenant.rest.call(JOB, "createObject", job_template("/in/clip.wmv", "/out/clip"))
    assert wait_for_job(tenant.rest, retried["id"])["transcodeStatusName"] == "Complete"
    assert os.listdir(tenant.home / "out") == ["clip.f4v"]
    assert_nothing_lost(tenant, ["big.wmv", "clip.wmv"])


# -- the database is locked by another process ----------------------------------------

LOCK_SECONDS = 4
LOCKER = """
import sqlite3, sys, time
connection = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)
connection.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
connection.execute("COMMIT")
print("released", time.time(), flush=True)
"""


def test_requests_wait_while_another_process_locks_the_database(start_emulator, clip, caplog):
    emulator = start_emulator(users=[USER], workers=1)
    tenant = tenant_with_clip(emulator, clip)
    database = Path(emulator.settings.data_dir) / "emulator.db"
    outcomes: dict[str, object] = {}

    def create_job() -> None:
        client = softlayer_client(emulator, "alice", "KEY1-alice-0123456789")
        template = job_template("/in/clip.wmv", "/out/clip")
        outcomes["job"] = client.call(JOB, "createObject", template)
        outcomes["job_done_at"] = time.time()

    def upload() -> None:
        with tenant.ftp() as ftp:
            ftp.storbinary("STOR /in/during-lock.wmv", io.BytesIO(b"d" * 50_000))
        outcomes["upload_done_at"] = time.time()

    locker = subprocess.Popen([sys.executable, "-c", LOCKER, str(database), str(LOCK_SECONDS)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert locker.stdout.readline().strip() == "locked"
        writers = [threading.Thread(target=create_job), threading.Thread(target=upload)]
        for writer in writers:
            writer.start()
        # Reading goes on while the lock is held.
        listing = tenant.rest.call(ACCOUNT, "getDirectoryInformation", "/in", "",
                                   id=tenant.transcode_account_id)
        released_at = float(locker.stdout.readline().split()[1])
        for writer in writers:
            writer.join(timeout=60)
    finally:
        locker.wait(timeout=30)

    assert {"name": "clip.wmv", "type": ""} in listing
    assert outcomes["job_done_at"] >= released_at
    assert outcomes["upload_done_at"] >= released_at
    job = wait_for_job(tenant.rest, outcomes["job"]["id"])
    assert job["transcodeStatusName"] == "Complete", job["history"]
    assert "database is locked" not in caplog.text
    assert_nothing_lost(tenant, ["clip.wmv", "during-lock.wmv"])


# -- SIGTERM during work, then a restart -----------------------------------------------


def test_after_sigterm_during_a_transcode_a_restart_finishes_the_work(tmp_path, clip):
    data_dir = tmp_path / "data"
    served = serve(data_dir, "--user", USER, "--workers", "1")
    client = softlayer_client_for(served)
    client.call(ACCOUNT, "createTranscodeAccount")
    account_id = client.call("SoftLayer_Account", "getTranscodeAccounts")[0]["id"]
    shutil.copyfile(clip, data_dir / "ftp" / str(account_id) / "in" / "clip.wmv")
    httpx.post(served.api_url + "/_emulator/jobs/delay", json={"seconds": 60}, timeout=30)
    running = client.call(JOB, "createObject", job_template("/in/clip.wmv", "/out/clip"))
    wait_for_job(client, running["id"], {"Processing"})
    queued = client.call(JOB, "createObject", job_template("/in/clip.wmv", "/out/second"))

    exit_code = served.stop(signal.SIGTERM, timeout=60)
    assert exit_code == 0

    restarted = serve(data_dir, "--user", USER, "--workers", "1")
    try:
        client = softlayer_client_for(restarted)
        httpx.delete(restarted.api_url + "/_emulator/jobs/rules", timeout=30)
        first = wait_for_job(client, running["id"])
        second = wait_for_job(client, queued["id"])
        jobs = client.call(ACCOUNT, "getTranscodeJobs", id=account_id)
        listing = client.call(ACCOUNT, "getDirectoryInformation", "/out", "", id=account_id)
    finally:
        restarted.stop()

    assert (first["transcodeStatusName"], second["transcodeStatusName"]) == ("Complete", "Complete")
    notes = [entry["publicNotes"] for entry in first["history"]]
    assert any("queued again" in note for note in notes), notes
    assert sorted(j["id"] for j in jobs) == sorted([running["id"], queued["id"]])
    assert sorted(entry["name"] for entry in listing) == ["clip.f4v", "second.f4v"]
    assert os.listdir(data_dir / "ftp" / str(account_id) / "in") == ["clip.wmv"]
    assert [p for p in (data_dir / "staging").rglob("*") if p.is_file()] == []


def softlayer_client_for(served):
    return SoftLayer.create_client_from_env(
        username="alice", api_key="KEY1-alice-0123456789", endpoint_url=served.rest_url,
        timeout=60,
    )

"""Driving transcode jobs through the API and FTP, as a client program does."""

from __future__ import annotations

import ftplib
import time
from pathlib import Path
from typing import Any

from emulator.presets import Preset

JOB = "SoftLayer_Network_Media_Transcode_Job"
ACCOUNT = "SoftLayer_Network_Media_Transcode_Account"
FINAL_STATUSES = {"Complete", "Error"}


def upload(ftp: ftplib.FTP, local: Path, name: str | None = None) -> str:
    remote = f"/in/{name or local.name}"
    with local.open("rb") as source:
        ftp.storbinary(f"STOR {remote}", source)
    return remote


def download(ftp: ftplib.FTP, remote: str, local: Path) -> Path:
    with local.open("wb") as target:
        ftp.retrbinary(f"RETR {remote}", target.write)
    return local


def run_job(
    client,
    preset: Preset,
    input_file: str,
    output_name: str,
    watermark: dict[str, Any] | None = None,
    timeout: float = 120,
) -> dict[str, Any]:
    """Create a job and wait for it to end; the job with its history."""
    template: dict[str, Any] = {
        "name": output_name,
        "transcodePresetGuid": preset.guid,
        "transcodePresetName": preset.name,
        "inputFile": input_file,
        "outputFile": f"/out/{output_name}",
    }
    if watermark is not None:
        template["watermark"] = watermark
    job = client.call(JOB, "createObject", template)
    return wait_for_end(client, job["id"], timeout)


def wait_for_end(client, job_id: int, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        job = client.call(JOB, "getObject", id=job_id,
                          mask="mask[id,outputFile,transcodeStatusName,history]")
        if job["transcodeStatusName"] in FINAL_STATUSES:
            return job
        if time.monotonic() > deadline:
            raise AssertionError(f"job {job_id} still {job['transcodeStatusName']} "
                                 f"after {timeout:g} s: {job['history']}")
        time.sleep(0.1)


def last_note(job: dict[str, Any]) -> str:
    return job["history"][-1]["publicNotes"]

"""API and workers in separate processes sharing one PostgreSQL database and
one data directory: `serve --no-workers` and two `worker` processes."""

from __future__ import annotations

import base64
import os
import re
from pathlib import Path

import pytest
import SoftLayer

from tests.job_flow import ACCOUNT, MP3_NAME, control, create_job, preset, wait_until
from tests.media import make_clip
from tests.postgres_server import start_postgres
from tests.served import serve
from tests.worker_process import WorkerProcess

USERS = {f"tenant{n}": f"tenant{n}-api-key-0123456789abcdef" for n in range(10)}
JOBS_PER_USER = 3
STARTED = re.compile(
    r"Transcoding started by transcoder ([^:\s]+):(\d+):([0-9a-f]{8}) \(attempt (\d+)\)\."
)


@pytest.fixture(scope="module")
def postgres():
    server = start_postgres()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def tone_clip(tmp_path_factory) -> Path:
    return make_clip(tmp_path_factory.mktemp("media") / "tone.wmv", seconds=0.5, size="64x48")


def clients(served) -> dict[str, SoftLayer.API.BaseClient]:
    return {
        name: SoftLayer.create_client_from_env(
            username=name, api_key=key, endpoint_url=served.rest_url
        )
        for name, key in USERS.items()
    }


def all_finished(by_user) -> dict[str, list[dict]] | None:
    """Every user's jobs with their history, once all of them have finished."""
    found = {}
    for name, client in by_user.items():
        transcode_id = client.call("SoftLayer_Account", "getTranscodeAccounts")[0]["id"]
        found[name] = client.call(
            ACCOUNT, "getTranscodeJobs", id=transcode_id,
            mask="mask[id,transcodeStatusName,outputFile,history]",
        )
        if any(j["transcodeStatusName"] not in ("Complete", "Error") for j in found[name]):
            return None
    return found


def test_two_worker_processes_run_each_of_30_jobs_exactly_once(tmp_path, postgres, tone_clip):
    data_dir = tmp_path / "data"
    user_options = [option for name, key in USERS.items() for option in ("--user", f"{name}:{key}")]
    served = serve(
        data_dir, "--no-workers", "--no-ftp", "--database-url", postgres.url, *user_options
    )
    workers: list[WorkerProcess] = []
    try:
        content = base64.b64encode(tone_clip.read_bytes()).decode()
        seeded = control(served.api_url, "POST", "seed", {"users": [
            {"username": name, "apiKey": key, "files": {"/in/tone.wmv": {"base64": content}}}
            for name, key in USERS.items()
        ]})
        by_user = clients(served)
        first = next(iter(by_user.values()))
        mp3 = preset(first, seeded["users"][0]["transcodeAccountId"], MP3_NAME)

        # Held until both workers run, so neither can take them all first.
        control(served.api_url, "POST", "jobs/hold", {})
        for client in by_user.values():
            for _ in range(JOBS_PER_USER):
                create_job(client, "/in/tone.wmv", "/out/tone", mp3)
        workers = [WorkerProcess(data_dir, postgres.url) for _ in range(2)]
        for worker in workers:
            worker.wait_ready()
        control(served.api_url, "POST", "jobs/release")

        finished = wait_until(lambda: all_finished(by_user), timeout=300, interval=1)
        outputs = {
            name: sorted(os.listdir(data_dir / "ftp" / str(user["transcodeAccountId"]) / "out"))
            for name, user in zip(USERS, seeded["users"])
        }
    finally:
        exit_codes = [worker.stop() for worker in workers]
        served.stop()

    jobs = [j for user_jobs in finished.values() for j in user_jobs]
    starts = {
        j["id"]: [
            STARTED.fullmatch(entry["publicNotes"])
            for entry in j["history"]
            if entry["publicNotes"].startswith("Transcoding started")
        ]
        for j in jobs
    }
    worker_pids = {int(match.group(2)) for matches in starts.values() for match in matches}
    transcoders = {match.group(3) for matches in starts.values() for match in matches}

    assert len(jobs) == 30
    assert [j["transcodeStatusName"] for j in jobs] == ["Complete"] * 30, [
        j["history"][-1]["publicNotes"] for j in jobs if j["transcodeStatusName"] != "Complete"
    ]
    assert all(len(matches) == 1 and matches[0] for matches in starts.values()), starts
    assert {matches[0].group(4) for matches in starts.values()} == {"1"}
    assert all(
        entry["transcodeStatusName"] != "Pending" for j in jobs for entry in j["history"][1:]
    )
    assert worker_pids == {worker.process.pid for worker in workers}
    assert len(transcoders) == 2
    assert outputs == {name: ["tone.mp3", "tone_2.mp3", "tone_3.mp3"] for name in USERS}
    assert exit_codes == [0, 0]

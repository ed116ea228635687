"""How many jobs run at once, and whose: concurrency and fairness between accounts."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import update
from sqlmodel import Session

from emulator.config import Settings
from emulator.models import TranscodeJob
from emulator.worker import claim_next_job
from tests.job_flow import (
    USERS,
    client_for,
    control,
    create_job,
    job,
    start_emulator,
    wait_for_job,
    wait_until,
)
from tests.media import make_clip
from tests.served import serve


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    return make_clip(tmp_path_factory.mktemp("media") / "clip.wmv", seconds=1, size="160x120")


def seed_users(emulator, clip: Path, names: list[str]) -> list[int]:
    """Users with a transcode account holding /in/clip.wmv; their transcode account ids."""
    seeded = emulator.seed({"users": [
        {"username": name, "apiKey": USERS[name], "files": {"/in/clip.wmv": {"path": str(clip)}}}
        for name in names
    ]})
    return [user["transcodeAccountId"] for user in seeded["users"]]


def test_concurrency_defaults_to_the_number_of_cores(tmp_path):
    assert Settings().workers == (os.cpu_count() or 1)

    served = serve(tmp_path / "data", "--workers", "3", "--no-ftp")
    try:
        banner = served.log_text()
    finally:
        served.stop()
    assert "Transcoders:      3" in banner


def test_configured_concurrency_is_the_number_of_transcoding_threads(tmp_path):
    emulator = start_emulator(tmp_path / "data", workers=3, ftp=False)
    try:
        transcoders = [t for t in emulator.worker.threads if t.name.startswith("transcoder-")]
    finally:
        emulator.stop(grace=0)
    assert len(transcoders) == 3


def test_each_claim_goes_to_the_account_with_fewest_running_jobs(tmp_path, clip):
    emulator = start_emulator(tmp_path / "data", workers=0, ftp=False)
    try:
        seed_users(emulator, clip, ["alice", "bob", "carol"])
        owner = {}
        for name, count in (("alice", 3), ("bob", 3), ("carol", 1)):
            client = client_for(emulator, name)
            for n in range(count):
                owner[create_job(client, "/in/clip.wmv", f"/out/clip{n}")["id"]] = name

        claims = [claim_next_job(emulator.backend, "fairness-test:1:0000abcd") for _ in range(8)]
    finally:
        emulator.stop(grace=0)

    # Created in the order alice x3, bob x3, carol x1; first come, first served
    # would run all of alice's jobs before anyone else's.
    assert [owner[job_id] for job_id in claims[:7]] == [
        "alice", "bob", "carol", "alice", "bob", "alice", "bob",
    ]
    assert sorted(claims[:7]) == sorted(owner)
    assert claims[7] is None


def test_jobs_of_two_accounts_run_side_by_side(tmp_path, clip):
    emulator = start_emulator(tmp_path / "data", workers=2, ftp=False)
    try:
        seed_users(emulator, clip, ["alice", "bob"])
        alice, bob = client_for(emulator, "alice"), client_for(emulator, "bob")
        control(emulator.api_url, "POST", "jobs/hold", {})
        control(emulator.api_url, "POST", "jobs/delay", {"seconds": 60})
        first = create_job(alice, "/in/clip.wmv", "/out/first")["id"]
        second = create_job(alice, "/in/clip.wmv", "/out/second")["id"]
        bobs = create_job(bob, "/in/clip.wmv", "/out/bobs")["id"]

        control(emulator.api_url, "POST", "jobs/release")
        wait_for_job(alice, first, {"Processing"})
        wait_for_job(bob, bobs, {"Processing"})
        waiting = job(alice, second)["transcodeStatusName"]

        control(emulator.api_url, "DELETE", "jobs/rules")
        finished = [wait_for_job(c, n) for c, n in ((alice, first), (alice, second), (bob, bobs))]
    finally:
        emulator.stop(grace=0)

    assert waiting == "Pending"
    assert [j["transcodeStatusName"] for j in finished] == ["Complete"] * 3


def test_a_worker_that_lost_its_job_writes_nothing(tmp_path, clip):
    emulator = start_emulator(tmp_path / "data", workers=1, ftp=False)
    try:
        [transcode_id] = seed_users(emulator, clip, ["alice"])
        alice = client_for(emulator, "alice")
        control(emulator.api_url, "POST", "jobs/delay", {"seconds": 60})
        job_id = create_job(alice, "/in/clip.wmv", "/out/clip")["id"]
        wait_for_job(alice, job_id, {"Processing"})
        # As if this worker's lease had run out and another worker had taken the job.
        take_over(emulator, job_id, "elsewhere:4242:feedf00d")

        control(emulator.api_url, "DELETE", "jobs/rules")
        wait_until(lambda: not emulator.worker.running, timeout=60)
        after = job(alice, job_id)
        out = sorted(os.listdir(emulator.backend.storage.home(transcode_id) / "out"))
    finally:
        emulator.stop(grace=0)

    assert after["transcodeStatusName"] == "Processing"
    assert out == []
    assert [entry["transcodeStatusName"] for entry in after["history"]].count("Complete") == 0


def take_over(emulator, job_id: int, worker_id: str) -> None:
    with Session(emulator.backend.engine) as session:
        session.execute(
            update(TranscodeJob).where(TranscodeJob.id == job_id).values(worker_id=worker_id)
        )
        session.commit()

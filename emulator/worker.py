"""Transcoders: claim Pending jobs, run ffmpeg, record the outcome.

Claiming is one conditional UPDATE (`... WHERE status = Pending`), so a job
runs once however many workers and processes share the database; on
PostgreSQL candidates are also read `FOR UPDATE SKIP LOCKED`. A running job
holds a lease that its worker renews; a job whose lease runs out (its worker
died) is queued again, or fails once it has been tried too often.
"""

from __future__ import annotations

import fnmatch
import json
import logging
import os
import socket
import threading
import time
import uuid
from pathlib import Path

from sqlalchemy import func, update
from sqlmodel import Session, select

from emulator.backend import Backend
from emulator.db import is_postgres
from emulator.models import (
    COMPLETE,
    ERROR,
    PENDING,
    PROCESSING,
    StoredFile,
    SteeringRule,
    TranscodeJob,
)
from emulator.jobs import add_history, add_progress_note, place_output, record_file
from emulator.storage import IN_DIR, OUT_DIR, is_regular_file
from emulator.transcode import (
    TranscodeError,
    TranscodePlan,
    Watermark,
    build_arguments,
    run_ffmpeg,
)
from emulator.watermark import render_text

log = logging.getLogger("emulator.worker")

CANDIDATES = 20
PROGRESS_STEP = 25  # a history note every 25 %


class JobRequeued(Exception):
    """The worker is stopping; the job goes back to Pending."""


def new_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Worker:
    """A pool of transcoding threads of one process."""

    def __init__(self, backend: Backend, concurrency: int) -> None:
        self.backend = backend
        self.concurrency = max(1, concurrency)
        self.worker_id = new_worker_id()
        self.stopping = threading.Event()
        self.cancelling = threading.Event()
        self.threads: list[threading.Thread] = []
        self.running: set[int] = set()
        self.lock = threading.Lock()

    def start(self) -> None:
        recover_abandoned_jobs(self.backend, same_host_only=True)
        for index in range(self.concurrency):
            thread = threading.Thread(target=self._loop, name=f"transcoder-{index}", daemon=True)
            thread.start()
            self.threads.append(thread)
        keeper = threading.Thread(target=self._keep_leases, name="lease-keeper", daemon=True)
        keeper.start()
        self.threads.append(keeper)
        log.info("worker=%s started transcoders=%d", self.worker_id, self.concurrency)

    def stop(self, grace: float = 10.0) -> None:
        """Stop claiming; let running jobs finish for `grace` seconds, then requeue them."""
        self.stopping.set()
        self.backend.job_available.set()
        deadline = time.monotonic() + grace
        for thread in self.threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
        if any(t.is_alive() for t in self.threads):
            self.cancelling.set()
            for thread in self.threads:
                thread.join(timeout=10)

    def _loop(self) -> None:
        while not self.stopping.is_set():
            try:
                job_id = claim_next_job(self.backend, self.worker_id)
            except Exception:
                log.exception("claiming a job failed")
                job_id = None
            if job_id is None:
                self.backend.job_available.wait(self.backend.settings.poll_interval)
                self.backend.job_available.clear()
                continue
            with self.lock:
                self.running.add(job_id)
            try:
                JobRun(self.backend, job_id, self.worker_id, self.cancelling).run()
            except Exception:
                log.exception("job=%s crashed the transcoder", job_id)
                fail_job(self.backend, job_id, "The transcoder failed unexpectedly.")
            finally:
                with self.lock:
                    self.running.discard(job_id)

    def _keep_leases(self) -> None:
        settings = self.backend.settings
        interval = max(0.5, settings.lease_seconds / 3)
        while not self.stopping.wait(interval):
            try:
                with self.lock:
                    running = list(self.running)
                renew_leases(self.backend, running, self.worker_id)
                recover_abandoned_jobs(self.backend, same_host_only=False)
            except Exception:
                log.exception("lease upkeep failed")


def claim_next_job(backend: Backend, worker_id: str) -> int | None:
    """Take the fairest Pending job: its account has the fewest running jobs."""
    with Session(backend.engine, expire_on_commit=False) as session:
        rules = session.exec(select(SteeringRule).where(SteeringRule.kind == "hold")).all()
        candidates = _candidates(session, backend)
        for job in candidates:
            if any(rule_matches(rule, job) for rule in rules):
                continue
            claimed = session.execute(
                update(TranscodeJob)
                .where(TranscodeJob.id == job.id, TranscodeJob.status_id == PENDING)
                .values(
                    status_id=PROCESSING,
                    worker_id=worker_id,
                    lease_expires=time.time() + backend.settings.lease_seconds,
                    processing_started=time.time(),
                    attempts=TranscodeJob.attempts + 1,
                    progress=0,
                )
            ).rowcount
            if claimed != 1:
                continue
            session.refresh(job)
            add_history(session, backend, job, PROCESSING, f"Transcoding started (attempt {job.attempts}).")
            session.commit()
            log.info("job=%s status=Processing worker=%s", job.id, worker_id)
            return job.id
        session.commit()
    return None


def _candidates(session: Session, backend: Backend) -> list[TranscodeJob]:
    running = TranscodeJob.__table__.alias("running")
    running_count = (
        select(func.count())
        .select_from(running)
        .where(running.c.transcode_account_id == TranscodeJob.transcode_account_id)
        .where(running.c.status_id == PROCESSING)
        .scalar_subquery()
    )
    statement = (
        select(TranscodeJob)
        .where(TranscodeJob.status_id == PENDING)
        .order_by(running_count, TranscodeJob.id)
        .limit(CANDIDATES)
    )
    if is_postgres(backend.engine):
        statement = (
            select(TranscodeJob)
            .where(TranscodeJob.status_id == PENDING)
            .order_by(TranscodeJob.id)
            .limit(CANDIDATES)
            .with_for_update(skip_locked=True)
        )
        jobs = list(session.exec(statement))
        counts = _running_counts(session)
        return sorted(jobs, key=lambda j: (counts.get(j.transcode_account_id, 0), j.id))
    return list(session.exec(statement))


def _running_counts(session: Session) -> dict[int, int]:
    rows = session.exec(
        select(TranscodeJob.transcode_account_id, func.count())
        .where(TranscodeJob.status_id == PROCESSING)
        .group_by(TranscodeJob.transcode_account_id)
    ).all()
    return dict(rows)


def rule_matches(rule: SteeringRule, job: TranscodeJob) -> bool:
    if rule.preset and rule.preset not in (job.preset_guid, job.preset_name):
        return False
    if rule.file_pattern and not (
        fnmatch.fnmatch(job.input_file, rule.file_pattern)
        or fnmatch.fnmatch(os.path.basename(job.input_file), rule.file_pattern)
    ):
        return False
    return True


def renew_leases(backend: Backend, job_ids: list[int], worker_id: str) -> None:
    if not job_ids:
        return
    with Session(backend.engine, expire_on_commit=False) as session:
        session.execute(
            update(TranscodeJob)
            .where(TranscodeJob.id.in_(job_ids), TranscodeJob.worker_id == worker_id)
            .values(lease_expires=time.time() + backend.settings.lease_seconds)
        )
        session.commit()


def recover_abandoned_jobs(backend: Backend, same_host_only: bool) -> int:
    """Requeue (or fail) Processing jobs whose worker is gone.

    A worker on this host is known gone when its process no longer exists;
    elsewhere, when its lease has run out.
    """
    host = socket.gethostname()
    recovered = 0
    with Session(backend.engine, expire_on_commit=False) as session:
        jobs = session.exec(select(TranscodeJob).where(TranscodeJob.status_id == PROCESSING)).all()
        for job in jobs:
            if not _abandoned(job, host, same_host_only):
                continue
            if job.attempts >= backend.settings.job_max_attempts:
                note = (
                    f"The transcoder stopped unexpectedly during attempt {job.attempts}; "
                    "the job has failed."
                )
                add_history(session, backend, job, ERROR, note)
                _after_job(session, backend, job)
            else:
                note = "The transcoder stopped unexpectedly; the job is queued again."
                job.worker_id = None
                job.lease_expires = None
                add_history(session, backend, job, PENDING, note)
            log.warning("job=%s recovered from worker=%s: %s", job.id, job.worker_id, note)
            recovered += 1
        session.commit()
    if recovered:
        backend.job_available.set()
    return recovered


def _abandoned(job: TranscodeJob, host: str, same_host_only: bool) -> bool:
    worker_host, _, rest = (job.worker_id or "").partition(":")
    pid = rest.partition(":")[0]
    if worker_host == host and pid.isdigit():
        if int(pid) == os.getpid():
            return False
        return not _process_alive(int(pid))
    if same_host_only:
        return False
    return job.lease_expires is None or job.lease_expires < time.time()


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def fail_job(backend: Backend, job_id: int, note: str) -> None:
    with Session(backend.engine, expire_on_commit=False) as session:
        job = session.get(TranscodeJob, job_id)
        if job is None or job.status_id != PROCESSING:
            return
        add_history(session, backend, job, ERROR, note)
        _after_job(session, backend, job)
        session.commit()
    log.warning("job=%s status=Error note=%r", job_id, note)


class JobRun:
    """One attempt at one job, from a claimed Processing job to its outcome."""

    def __init__(self, backend: Backend, job_id: int, worker_id: str, cancelling: threading.Event) -> None:
        self.backend = backend
        self.job_id = job_id
        self.worker_id = worker_id
        self.cancelling = cancelling
        self.staged: list[Path] = []

    def run(self) -> None:
        try:
            output = self._transcode()
        except TranscodeError as error:
            self._finish(ERROR, str(error))
        except JobRequeued:
            self._requeue()
        else:
            self._complete(output)
        finally:
            for path in self.staged:
                path.unlink(missing_ok=True)

    def _transcode(self) -> Path:
        with Session(self.backend.engine, expire_on_commit=False) as session:
            job = session.get(TranscodeJob, self.job_id)
            rules = session.exec(
                select(SteeringRule).where(SteeringRule.kind.in_(("fail", "delay")))
            ).all()
            self._apply_fail_rules(session, job, rules)
            delay = max((r.delay_seconds for r in rules if r.kind == "delay" and rule_matches(r, job)), default=0)
            session.commit()

        preset = self.backend.catalog.get(job.preset_guid)
        if preset is None:
            raise TranscodeError(f"The preset {job.preset_guid} is no longer in the catalog.")
        home = self.backend.storage.home(job.transcode_account_id)
        source = home / IN_DIR / os.path.basename(job.input_file)
        if not is_regular_file(source):
            raise TranscodeError(f"The input file {job.input_file} no longer exists in /in.")

        info = self.backend.prober.probe(source, job.input_file)
        if info.get("errorMessage") and not (info.get("videoCodec") or info.get("audioCodec")):
            raise TranscodeError(f"The input file is not readable media: {info['errorMessage']}")
        if delay:
            self._wait(delay)

        destination = self.backend.storage.staging_file("." + preset.extension)
        self.staged.append(destination)
        plan = TranscodePlan(
            source=source,
            destination=destination,
            preset=preset,
            duration=info.get("duration"),
            has_video=bool(info.get("videoCodec")),
            has_audio=bool(info.get("audioCodec")),
            watermark=self._watermark(job, home),
        )
        arguments = build_arguments(plan, self.backend.ffmpeg_path)
        log.debug("job=%s ffmpeg %s", self.job_id, " ".join(arguments))
        run_ffmpeg(
            arguments,
            plan.duration,
            self._progress,
            self.backend.settings.job_timeout,
            cancelled=self.cancelling.is_set,
        )
        if self.cancelling.is_set():
            raise JobRequeued()
        if not destination.exists() or destination.stat().st_size == 0:
            raise TranscodeError("ffmpeg finished without writing any output.")
        return destination

    def _apply_fail_rules(self, session: Session, job: TranscodeJob, rules: list[SteeringRule]) -> None:
        for rule in rules:
            if rule.kind != "fail" or not rule_matches(rule, job):
                continue
            if rule.remaining is not None:
                rule.remaining -= 1
                if rule.remaining <= 0:
                    session.delete(rule)
                else:
                    session.add(rule)
            session.commit()
            raise TranscodeError(rule.message or "Failure forced by the emulator's control API.")

    def _wait(self, seconds: float) -> None:
        """A steered slow-down: stay Processing for `seconds`, reporting progress."""
        started = time.monotonic()
        while (elapsed := time.monotonic() - started) < seconds:
            if self.cancelling.wait(0.1):
                raise JobRequeued()
            self._set_progress(int(elapsed / seconds * 50))

    def _watermark(self, job: TranscodeJob, home: Path) -> Watermark | None:
        if not job.watermark:
            return None
        mark = json.loads(job.watermark)
        if mark.get("fileName"):
            image = home / IN_DIR / os.path.basename(mark["fileName"])
            if not is_regular_file(image):
                raise TranscodeError(f"The watermark image {mark['fileName']} no longer exists in /in.")
        else:
            image = self.backend.storage.staging_file(".png")
            self.staged.append(image)
            render_text(mark["text"], image)
        start, end = mark.get("startTime"), mark.get("endTime")
        return Watermark(
            image=image,
            x=mark["position"]["x"],
            y=mark["position"]["y"],
            opacity=1 - mark.get("transparencyPercentage", 0) / 100,
            start=start / 1000 if start is not None else None,
            end=end / 1000 if end is not None else None,
        )

    def _progress(self, percent: int) -> None:
        self._set_progress(percent)

    def _set_progress(self, percent: int) -> None:
        with Session(self.backend.engine, expire_on_commit=False) as session:
            job = session.get(TranscodeJob, self.job_id)
            if job is None or percent <= job.progress:
                return
            crossed = percent // PROGRESS_STEP > job.progress // PROGRESS_STEP
            job.progress = percent
            if crossed:
                add_progress_note(session, self.backend, job, f"Processing: {percent // PROGRESS_STEP * PROGRESS_STEP}% done.")
            session.add(job)
            session.commit()

    def _complete(self, staged: Path) -> None:
        with Session(self.backend.engine, expire_on_commit=False) as session:
            job = session.get(TranscodeJob, self.job_id)
            preset = self.backend.catalog.get(job.preset_guid)
            out_dir = self.backend.storage.home(job.transcode_account_id) / OUT_DIR
            final = place_output(staged, out_dir, os.path.basename(job.output_file), preset.extension)
            size = final.stat().st_size
            virtual = f"/{OUT_DIR}/{final.name}"
            record_file(session, self.backend, job.transcode_account_id, virtual, size)
            job.output_file = virtual
            job.progress = 100
            add_history(session, self.backend, job, COMPLETE, f"Output written to {virtual} ({size} bytes).")
            _after_job(session, self.backend, job)
            session.commit()
        log.info("job=%s status=Complete output=%s bytes=%s", self.job_id, virtual, size)

    def _finish(self, status: int, note: str) -> None:
        with Session(self.backend.engine, expire_on_commit=False) as session:
            job = session.get(TranscodeJob, self.job_id)
            add_history(session, self.backend, job, status, note)
            _after_job(session, self.backend, job)
            session.commit()
        log.warning("job=%s status=Error note=%r", self.job_id, note)

    def _requeue(self) -> None:
        with Session(self.backend.engine, expire_on_commit=False) as session:
            job = session.get(TranscodeJob, self.job_id)
            job.worker_id = None
            job.lease_expires = None
            job.attempts = max(0, job.attempts - 1)
            add_history(session, self.backend, job, PENDING, "The transcoder shut down; the job is queued again.")
            session.commit()
        log.info("job=%s requeued by shutdown", self.job_id)


def _after_job(session: Session, backend: Backend, job: TranscodeJob) -> None:
    """Start the input's auto-delete countdown once no other job needs it."""
    job.worker_id = None
    job.lease_expires = None
    session.add(job)
    if job.auto_delete_duration is None:
        return
    still_reading = session.exec(
        select(func.count())
        .select_from(TranscodeJob)
        .where(TranscodeJob.transcode_account_id == job.transcode_account_id)
        .where(TranscodeJob.input_file == job.input_file)
        .where(TranscodeJob.id != job.id)
        .where(TranscodeJob.status_id.in_((PENDING, PROCESSING)))
    ).one()
    if still_reading:
        return
    stored = session.exec(
        select(StoredFile)
        .where(StoredFile.transcode_account_id == job.transcode_account_id)
        .where(StoredFile.path == job.input_file)
    ).first()
    if stored is None:
        source = backend.storage.home(job.transcode_account_id) / IN_DIR / os.path.basename(job.input_file)
        if not source.exists():
            return
        stored = record_file(session, backend, job.transcode_account_id, job.input_file, source.stat().st_size)
    stored.delete_at = backend.clock.time() + job.auto_delete_duration
    session.add(stored)
    backend.reaper_wakeup.set()

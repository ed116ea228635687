"""Transcoders: claim Pending jobs, run ffmpeg, record the outcome.

Claiming is one conditional UPDATE (`... WHERE status = Pending`), so a job
runs once however many workers and processes share the database; on
PostgreSQL the chosen row is first locked `FOR UPDATE SKIP LOCKED`, so
workers never queue behind each other's claims. A running job
holds a lease that its worker renews; a job whose worker died (its process
is gone from this host, or its lease ran out) is queued again, or fails once
it has been tried too often. Every write a transcoder makes about its job is
fenced by the lease: a worker that lost its job to recovery changes nothing.
"""

from __future__ import annotations

import fnmatch
import json
import logging
import os
import re
import socket
import threading
import time
import uuid
from pathlib import Path

from PIL import Image
from sqlalchemy import func, update
from sqlmodel import Session, select

from emulator.backend import Backend
from emulator.db import is_postgres
from emulator.jobs import (
    add_history,
    add_progress_note,
    place_output,
    record_file,
    schedule_auto_delete,
)
from emulator.models import (
    COMPLETE,
    ERROR,
    PENDING,
    PROCESSING,
    SteeringRule,
    TranscodeJob,
)
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
CLAIM_ROUNDS = 10
PROGRESS_STEP = 25  # a history note each time another 25 % is done
# With a steered delay, ffmpeg's run is the first half of the progress and
# the delay the second.
DELAY_SHARE = 50
RULE_RECHECK_SECONDS = 0.5
MAX_NOTE_LENGTH = 300
# ffmpeg prefixes its messages with the component that wrote them.
FFMPEG_CONTEXT = re.compile(r"\[[^\[\]]* @ 0x[0-9a-fA-F]+\]\s*")


class JobRequeued(Exception):
    """The worker is stopping; the job goes back to Pending."""


class JobLost(Exception):
    """The job is no longer this worker's (its lease ran out and it was recovered)."""


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
        log.info("worker=%s stopped", self.worker_id)

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
                note = "The transcoder failed unexpectedly."
                fail_job(self.backend, job_id, self.worker_id, note)
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
    """Take the fairest Pending job: its account has the fewest running jobs.

    Another worker may take the chosen job first; the order is then read
    again, since that claim changed which account is fairest.
    """
    for _ in range(CLAIM_ROUNDS):
        with Session(backend.engine, expire_on_commit=False) as session:
            job = _fairest_pending_job(session)
            if job is None:
                return None
            if _claim(session, backend, job, worker_id):
                session.commit()
                log.info(
                    "job=%s status=Processing worker=%s attempt=%s",
                    job.id, worker_id, job.attempts,
                )
                return job.id
            session.rollback()
    return None


def _fairest_pending_job(session: Session) -> TranscodeJob | None:
    rules = session.exec(select(SteeringRule).where(SteeringRule.kind == "hold")).all()
    for job in _candidates(session):
        if not any(rule_matches(rule, job) for rule in rules):
            return job
    return None


def _candidates(session: Session) -> list[TranscodeJob]:
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
    return list(session.exec(statement))


def _claim(session: Session, backend: Backend, job: TranscodeJob, worker_id: str) -> bool:
    if is_postgres(backend.engine):
        # A row another worker is claiming right now is skipped, not waited for.
        free = session.exec(
            select(TranscodeJob.id)
            .where(TranscodeJob.id == job.id, TranscodeJob.status_id == PENDING)
            .with_for_update(skip_locked=True)
        ).first()
        if free is None:
            return False

    now = time.time()
    claimed = session.execute(
        update(TranscodeJob)
        .where(TranscodeJob.id == job.id, TranscodeJob.status_id == PENDING)
        .values(
            status_id=PROCESSING,
            worker_id=worker_id,
            lease_expires=now + backend.settings.lease_seconds,
            processing_started=now,
            attempts=TranscodeJob.attempts + 1,
            progress=0,
        )
    ).rowcount
    if claimed != 1:
        return False

    session.refresh(job)
    note = f"Transcoding started by transcoder {worker_id} (attempt {job.attempts})."
    add_history(session, backend, job, PROCESSING, note)
    return True


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
    any worker, when its lease has run out (`same_host_only` skips that test,
    for a start-up pass before this process's own leases could be renewed).
    """
    host = socket.gethostname()
    recovered = 0
    with Session(backend.engine, expire_on_commit=False) as session:
        jobs = session.exec(select(TranscodeJob).where(TranscodeJob.status_id == PROCESSING)).all()
        for job in jobs:
            if _abandoned(job, host, same_host_only) and _recover(session, backend, job):
                recovered += 1
        session.commit()
    if recovered:
        backend.job_available.set()
    return recovered


def _abandoned(job: TranscodeJob, host: str, same_host_only: bool) -> bool:
    worker_host, _, rest = (job.worker_id or "").partition(":")
    pid = rest.partition(":")[0]
    if worker_host == host and pid.isdigit() and int(pid) != os.getpid():
        if not _process_alive(int(pid)):
            return True
    if same_host_only:
        return False
    return job.lease_expires is None or job.lease_expires < time.time()


def _recover(session: Session, backend: Backend, job: TranscodeJob) -> bool:
    # Two processes may find the same abandoned job; the one whose UPDATE
    # still sees the dead worker's id recovers it.
    dead_worker = job.worker_id
    taken = session.execute(
        update(TranscodeJob)
        .where(TranscodeJob.id == job.id, TranscodeJob.status_id == PROCESSING)
        .where(TranscodeJob.worker_id == dead_worker)
        .values(worker_id=None, lease_expires=None)
    ).rowcount
    if taken != 1:
        return False

    job.worker_id = None
    job.lease_expires = None
    if job.attempts >= backend.settings.job_max_attempts:
        note = (
            f"The transcoder stopped unexpectedly during attempt {job.attempts}; "
            "the job has failed."
        )
        add_history(session, backend, job, ERROR, note)
        schedule_auto_delete(session, backend, job)
    else:
        note = "The transcoder stopped unexpectedly; the job is queued again."
        add_history(session, backend, job, PENDING, note)
    log.warning("job=%s recovered from worker=%s: %s", job.id, dead_worker, note)
    return True


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def fail_job(backend: Backend, job_id: int, worker_id: str, note: str) -> None:
    with Session(backend.engine, expire_on_commit=False) as session:
        try:
            job = _fence(session, backend, job_id, worker_id)
        except JobLost:
            return
        _release(session, backend, job)
        add_history(session, backend, job, ERROR, note)
        session.commit()
    log.warning("job=%s status=Error note=%r", job_id, note)


def _fence(session: Session, backend: Backend, job_id: int, worker_id: str) -> TranscodeJob:
    """The job, if this worker still holds it; its lease renewed and row locked."""
    held = session.execute(
        update(TranscodeJob)
        .where(TranscodeJob.id == job_id, TranscodeJob.status_id == PROCESSING)
        .where(TranscodeJob.worker_id == worker_id)
        .values(lease_expires=time.time() + backend.settings.lease_seconds)
    ).rowcount
    if held != 1:
        raise JobLost()
    return session.get(TranscodeJob, job_id, populate_existing=True)


def _release(session: Session, backend: Backend, job: TranscodeJob) -> None:
    job.worker_id = None
    job.lease_expires = None
    session.add(job)


def is_readable_image(path: Path) -> bool:
    try:
        with Image.open(path) as picture:
            picture.verify()
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        return False
    return True


class ForcedFailure(TranscodeError):
    """A failure a control-API rule asked for; its message is the note, verbatim."""


def failure_note(error: TranscodeError) -> str:
    """ffmpeg's reason as one readable line, without its internal addresses."""
    text = " ".join(FFMPEG_CONTEXT.sub("", str(error)).split())
    if len(text) > MAX_NOTE_LENGTH:
        text = text[: MAX_NOTE_LENGTH - 3].rstrip() + "..."
    if text and text[-1].isalnum():
        text += "."
    return text or "ffmpeg failed without saying why."


class JobRun:
    """One attempt at one job, from a claimed Processing job to its outcome."""

    def __init__(
        self, backend: Backend, job_id: int, worker_id: str, cancelling: threading.Event
    ) -> None:
        self.backend = backend
        self.job_id = job_id
        self.worker_id = worker_id
        self.cancelling = cancelling
        self.staged: list[Path] = []
        self.delay = 0.0

    def run(self) -> None:
        try:
            self._attempt()
        except JobLost:
            log.warning("job=%s was recovered by another worker; result discarded", self.job_id)
        finally:
            for path in self.staged:
                path.unlink(missing_ok=True)

    def _attempt(self) -> None:
        try:
            output = self._transcode()
            self._hold_for_delay()
            self._complete(output)
        except ForcedFailure as error:
            self._fail(str(error))
        except TranscodeError as error:
            self._fail(failure_note(error))
        except JobRequeued:
            self._requeue()

    def _transcode(self) -> Path:
        with Session(self.backend.engine, expire_on_commit=False) as session:
            job = session.get(TranscodeJob, self.job_id)
            rules = session.exec(
                select(SteeringRule).where(SteeringRule.kind.in_(("fail", "delay")))
            ).all()
            self._apply_fail_rules(session, job, rules)
            self.delay = max(
                (r.delay_seconds for r in rules if r.kind == "delay" and rule_matches(r, job)),
                default=0.0,
            )
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
            reason = info["errorMessage"].removeprefix("Not readable as media: ")
            raise TranscodeError(f"The input file {job.input_file} is not readable media: {reason}")

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
            input_problem=info.get("errorMessage", ""),
        )
        arguments = build_arguments(plan, self.backend.ffmpeg_path)
        log.debug("job=%s ffmpeg %s", self.job_id, " ".join(arguments))
        try:
            run_ffmpeg(
                arguments,
                plan.duration,
                self._ffmpeg_progress,
                self.backend.settings.job_timeout,
                cancelled=self.cancelling.is_set,
            )
        except TranscodeError as error:
            if self.cancelling.is_set():
                raise JobRequeued() from error
            reason = self._as_client_paths(str(error), job, home, destination)
            raise TranscodeError(f"Transcoding failed: {reason}") from error
        if not destination.exists() or destination.stat().st_size == 0:
            raise TranscodeError("ffmpeg finished without writing any output.")
        return destination

    def _as_client_paths(self, text: str, job: TranscodeJob, home: Path, output: Path) -> str:
        """ffmpeg's message with the data directory's paths as the client knows them."""
        text = text.replace(str(output), job.output_file)
        for staged in self.staged:
            text = text.replace(str(staged), "a staged file")
        return text.replace(f"{home}/", "/")

    def _apply_fail_rules(
        self, session: Session, job: TranscodeJob, rules: list[SteeringRule]
    ) -> None:
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
            raise ForcedFailure(rule.message or "Failure forced by the emulator's control API.")

    def _hold_for_delay(self) -> None:
        """A steered slow-down: the finished output waits `delay` seconds in staging.

        The job stays Processing meanwhile, reporting progress; removing the
        delay rule through the control API ends the wait early.
        """
        if not self.delay:
            return
        started = time.monotonic()
        checked = started
        while (elapsed := time.monotonic() - started) < self.delay:
            if self.cancelling.wait(0.1):
                raise JobRequeued()
            if time.monotonic() - checked > RULE_RECHECK_SECONDS:
                checked = time.monotonic()
                if not self._delay_rule_remains():
                    return
            share = 100 - DELAY_SHARE
            self._set_progress(DELAY_SHARE + min(share - 1, int(elapsed / self.delay * share)))

    def _delay_rule_remains(self) -> bool:
        with Session(self.backend.engine) as session:
            job = session.get(TranscodeJob, self.job_id)
            rules = session.exec(select(SteeringRule).where(SteeringRule.kind == "delay")).all()
            return any(rule_matches(rule, job) for rule in rules)

    def _watermark(self, job: TranscodeJob, home: Path) -> Watermark | None:
        if not job.watermark:
            return None
        mark = json.loads(job.watermark)
        if mark.get("fileName"):
            image = home / IN_DIR / os.path.basename(mark["fileName"])
            if not is_regular_file(image):
                raise TranscodeError(
                    f"The watermark image {mark['fileName']} no longer exists in /in."
                )
            # ffmpeg loops over an unreadable image instead of failing.
            if not is_readable_image(image):
                raise TranscodeError(
                    f"The watermark image {mark['fileName']} is not a readable image."
                )
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

    def _ffmpeg_progress(self, percent: int) -> None:
        share = DELAY_SHARE if self.delay else 100
        self._set_progress(percent * share // 100)

    def _set_progress(self, percent: int) -> None:
        with Session(self.backend.engine, expire_on_commit=False) as session:
            job = session.get(TranscodeJob, self.job_id)
            if job is None or job.worker_id != self.worker_id or percent <= job.progress:
                return
            crossed = percent // PROGRESS_STEP > job.progress // PROGRESS_STEP
            job.progress = percent
            if crossed:
                done = percent // PROGRESS_STEP * PROGRESS_STEP
                add_progress_note(session, self.backend, job, f"Processing: {done}% done.")
            session.add(job)
            session.commit()

    def _complete(self, staged: Path) -> None:
        with Session(self.backend.engine, expire_on_commit=False) as session:
            job = _fence(session, self.backend, self.job_id, self.worker_id)
            preset = self.backend.catalog.get(job.preset_guid)
            out_dir = self.backend.storage.home(job.transcode_account_id) / OUT_DIR
            try:
                final = place_output(
                    staged, out_dir, os.path.basename(job.output_file), preset.extension
                )
            except OSError as error:
                raise TranscodeError(
                    f"The output could not be placed in /out: {error.strerror or error}"
                ) from error
            size = final.stat().st_size
            virtual = f"/{OUT_DIR}/{final.name}"
            record_file(session, self.backend, job.transcode_account_id, virtual, size)
            job.output_file = virtual
            job.progress = 100
            _release(session, self.backend, job)
            add_history(
                session, self.backend, job, COMPLETE, f"Output written to {virtual} ({size} bytes)."
            )
            schedule_auto_delete(session, self.backend, job)
            session.commit()
        log.info("job=%s status=Complete output=%s bytes=%s", self.job_id, virtual, size)

    def _fail(self, note: str) -> None:
        with Session(self.backend.engine, expire_on_commit=False) as session:
            job = _fence(session, self.backend, self.job_id, self.worker_id)
            _release(session, self.backend, job)
            add_history(session, self.backend, job, ERROR, note)
            schedule_auto_delete(session, self.backend, job)
            session.commit()
        log.warning("job=%s status=Error note=%r", self.job_id, note)

    def _requeue(self) -> None:
        with Session(self.backend.engine, expire_on_commit=False) as session:
            job = _fence(session, self.backend, self.job_id, self.worker_id)
            _release(session, self.backend, job)
            job.attempts = max(0, job.attempts - 1)
            job.progress = 0
            add_history(
                session, self.backend, job, PENDING,
                "The transcoder shut down; the job is queued again.",
            )
            session.commit()
        log.info("job=%s requeued by shutdown", self.job_id)

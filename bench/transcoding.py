"""Jobs: pick-up latency, per-job overhead over ffmpeg, and throughput.

The baselines run the very ffmpeg command the emulator runs for the same
preset and input (emulator.transcode.build_arguments), straight from here.
"""

from __future__ import annotations

import os
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from bench.emulator_process import EmulatorProcess
from bench.job_log import JobLog
from bench.rows import Row
from bench.scale import Scale
from bench.softlayer_rest import JOB, SoftLayerRest, TranscodeUser
from bench.stats import median, paired_ratio, percentile
from emulator.config import default_presets_dir
from emulator.presets import Preset, PresetCatalog
from emulator.transcode import TranscodePlan, build_arguments, find_ffmpeg

MAIN_PRESET = "MP4 H.264 640x360 1Mbps 30fps AAC"
QUICK_PRESET = "FLV 400kbps 320x240 4x3 15fps"
PICKUP_GOAL_MS = 100.0
OVERHEAD_GOAL = 1.10
THROUGHPUT_GOAL = 0.9
PAUSE_BETWEEN_JOBS = 0.3
JOB_TIMEOUT = 600.0


def find_preset(name: str) -> Preset:
    """The preset of that name, or else the first 640x360 video preset."""
    catalog = PresetCatalog.load(default_presets_dir())
    for preset in catalog.presets:
        if preset.name == name:
            return preset
    for preset in catalog.presets:
        if preset.video and (preset.video.width, preset.video.height) == (640, 360):
            return preset
    raise RuntimeError(f"no preset named {name!r} and no 640x360 video preset")


@dataclass
class JobRunner:
    """Creates jobs through REST and times them from the emulator's log."""

    emulator: EmulatorProcess
    log: JobLog

    def create(
        self, user: TranscodeUser, input_file: str, output: str, preset: Preset
    ) -> tuple[int, float]:
        """The new job's id and the moment its create request was sent."""
        api = SoftLayerRest(self.emulator.rest_url, user.username, user.api_key)
        try:
            created_at = time.time()
            job = api.call(JOB, "createObject", {
                "name": f"bench {output}",
                "transcodePresetName": preset.name,
                "transcodePresetGuid": preset.guid,
                "inputFile": input_file,
                "outputFile": f"/out/{output}",
            })
        finally:
            api.close()
        return job["id"], created_at

    def run(self, user: TranscodeUser, input_file: str, output: str, preset: Preset) -> float:
        """Seconds from the create request to `Complete`."""
        job_id, created_at = self.create(user, input_file, output, preset)
        return self.log.wait_for(job_id, "Complete", JOB_TIMEOUT) - created_at


def direct_command(preset: Preset, source: Path, destination: Path, seconds: float) -> list[str]:
    plan = TranscodePlan(
        source=source, destination=destination, preset=preset,
        duration=seconds, has_video=True, has_audio=True,
    )
    return build_arguments(plan, find_ffmpeg())


def run_direct(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, timeout=JOB_TIMEOUT)
    return time.perf_counter() - started


def measure_pickup(scale: Scale, runner: JobRunner, user: TranscodeUser, input_file: str) -> Row:
    preset = find_preset(QUICK_PRESET)
    waits_ms = []
    for index in range(scale.pickup_jobs):
        time.sleep(PAUSE_BETWEEN_JOBS)
        job_id, created_at = runner.create(user, input_file, f"pickup-{index}", preset)
        processing_at = runner.log.wait_for(job_id, "Processing", JOB_TIMEOUT)
        runner.log.wait_for(job_id, "Complete", JOB_TIMEOUT)
        waits_ms.append((processing_at - created_at) * 1000)

    p50, p99 = median(waits_ms), percentile(waits_ms, 99)
    return Row(
        what="job pick-up: create to `Processing`",
        ours=f"p50 {p50:.0f} ms, p99 {p99:.0f} ms",
        baseline="none",
        comparison=f"p50 {p50:.0f} ms",
        goal=f"p50 under {PICKUP_GOAL_MS:g} ms",
        met=p50 < PICKUP_GOAL_MS,
        note=(
            f"{len(waits_ms)} jobs one after another on idle workers; from sending "
            "createObject to the worker's `status=Processing` log line"
        ),
        figures={"p50_ms": p50, "p99_ms": p99, "samples": len(waits_ms)},
    )


def measure_overhead(
    scale: Scale, runner: JobRunner, user: TranscodeUser, input_file: str,
    clip: Path, work_dir: Path,
) -> Row:
    preset = find_preset(MAIN_PRESET)
    destination = work_dir / f"direct.{preset.extension}"
    command = direct_command(preset, clip, destination, scale.clip_seconds)
    if scale.warm_up:
        run_direct(command)

    ours, baseline = [], []
    for index in range(scale.overhead_repetitions):
        baseline.append(run_direct(command))
        ours.append(runner.run(user, input_file, f"overhead-{index}", preset))
    destination.unlink(missing_ok=True)

    ours_s, baseline_s = median(ours), median(baseline)
    share = paired_ratio(ours, baseline)
    return Row(
        what=f"job overhead: create to `Complete`, {scale.clip_seconds:g} s 640x360 clip",
        ours=f"{ours_s:.2f} s",
        baseline=f"{baseline_s:.2f} s (the same ffmpeg command, run directly)",
        comparison=f"{share:.3f}x",
        goal=f"at most {OVERHEAD_GOAL:.2f}x",
        met=share <= OVERHEAD_GOAL,
        note=(
            f"preset '{preset.name}'; {len(ours)} interleaved rounds; medians, and the "
            "median of the per-round ratios"
        ),
        figures={"ours_s": ours_s, "baseline_s": baseline_s, "ratio": share},
    )


def measure_throughput(
    scale: Scale, runner: JobRunner, users: list[TranscodeUser], input_file: str,
    clip: Path, work_dir: Path,
) -> Row:
    preset = find_preset(MAIN_PRESET)
    cores = os.cpu_count() or 1
    jobs = scale.throughput_jobs
    commands = [
        direct_command(
            preset, clip, work_dir / f"batch-{i}.{preset.extension}", scale.clip_seconds
        )
        for i in range(jobs)
    ]

    ours, baseline = [], []
    for round_index in range(scale.throughput_repetitions):
        baseline.append(_direct_batch(commands, cores))
        ours.append(_emulator_batch(runner, users, input_file, preset, jobs, round_index))
    for path in work_dir.glob(f"batch-*.{preset.extension}"):
        path.unlink()

    ours_rate, baseline_rate = median(ours), median(baseline)
    share = paired_ratio(ours, baseline)
    return Row(
        what=f"throughput: {jobs} jobs on {cores} cores, default concurrency",
        ours=f"{ours_rate:.1f} jobs/min",
        baseline=f"{baseline_rate:.1f} jobs/min ({jobs} direct ffmpeg runs, {cores} at a time)",
        comparison=f"{share:.2f}x",
        goal=f"at least {THROUGHPUT_GOAL:g}x",
        met=share >= THROUGHPUT_GOAL,
        note=(
            f"{scale.clip_seconds:g} s 640x360 clips, jobs spread over "
            f"{len(users)} accounts (3 Pending at most each); {len(ours)} interleaved rounds; "
            "medians, and the median of the per-round ratios"
        ),
        figures={"ours_per_min": ours_rate, "baseline_per_min": baseline_rate, "ratio": share},
    )


def _direct_batch(commands: list[list[str]], parallel: int) -> float:
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=parallel) as pool:
        list(pool.map(run_direct, commands))
    return len(commands) / (time.perf_counter() - started) * 60


def _emulator_batch(
    runner: JobRunner, users: list[TranscodeUser], input_file: str, preset: Preset,
    jobs: int, round_index: int,
) -> float:
    started = time.time()
    created = [
        runner.create(users[i % len(users)], input_file, f"batch-{round_index}-{i}", preset)[0]
        for i in range(jobs)
    ]
    finished = max(runner.log.wait_for(job_id, "Complete", JOB_TIMEOUT) for job_id in created)
    return jobs / (finished - started) * 60

"""Load with faults in mind: 50 API clients for 60 s while 3 jobs transcode and FTP uploads run.

`python bench/load_test.py` runs the full test against a `serve` process of
its own (loopback, free ports, a temporary data directory) and prints the
figures; `--seconds 12` runs it shorter, as the test suite does. It passes
when no request fails, the log never says "database is locked", every job
completes and every uploaded or transcoded file is where it belongs.
"""

from __future__ import annotations

import argparse
import asyncio
import ftplib
import json
import sys
import tempfile
import threading
import time
import xmlrpc.client
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import urlencode

if __package__ in (None, ""):
    # Run as `python bench/load_test.py`: make the project importable.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx

from bench.emulator_process import EmulatorProcess, start_emulator
from bench.ftp_client import connect, upload
from bench.media import make_blob, make_clip
from bench.softlayer_rest import JOB, TRANSCODE_ACCOUNT, SoftLayerRest, open_transcode_account
from bench.stats import percentile

USERNAME, API_KEY = "load", "load-test-api-key-0123456789abcdef"
F4V_GUID = "{87E01268-C3E3-4A85-9701-052C9AC42BD4}"
F4V_NAME = "F4V 896kbps 640x352 16x9 29.97fps"
JOBS_IN_FLIGHT = 3
UPLOAD_MEGABYTES = 8
UPLOAD_BYTES_PER_SECOND = 4 * 1024 * 1024
DRAIN_TIMEOUT = 300.0
REQUEST_TIMEOUT = 60.0
LOCKED = "database is locked"


@dataclass
class LoadReport:
    seconds: float
    clients: int
    requests: int = 0
    failed_requests: int = 0
    failures: list[str] = field(default_factory=list)
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    max_ms: float = 0.0
    jobs_created: int = 0
    jobs_complete: int = 0
    jobs_not_complete: list[str] = field(default_factory=list)
    uploads: int = 0
    uploaded_bytes: int = 0
    upload_failures: list[str] = field(default_factory=list)
    files_lost: list[str] = field(default_factory=list)
    locked_log_lines: int = 0
    error_log_lines: int = 0

    @property
    def passed(self) -> bool:
        return (
            self.failed_requests == 0
            and not self.jobs_not_complete
            and not self.upload_failures
            and not self.files_lost
            and self.locked_log_lines == 0
            and self.jobs_created >= JOBS_IN_FLIGHT
            and self.uploads >= 1
        )

    @property
    def requests_per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


# -- the API clients --------------------------------------------------------------


def _requests(rest_url: str, xmlrpc_url: str, transcode_id: int, job_ids: list[int]):
    """The kinds of request a client sends in turn: (label, method, url, body)."""
    job_mask = "mask[id,transcodeStatusName,history,transcodeAccount[id]]"
    newest_first = {"transcodeJobs": {"id": {
        "operation": "orderBy", "options": [{"name": "sort", "value": ["DESC"]}],
    }}}
    list_query = urlencode({"objectFilter": json.dumps(newest_first), "resultLimit": "0,25"})
    mask_query = urlencode({"objectMask": job_mask})
    headers = {"authenticate": {"username": USERNAME, "apiKey": API_KEY},
               f"{TRANSCODE_ACCOUNT}InitParameters": {"id": transcode_id},
               "resultLimit": {"offset": 0, "limit": 25}}
    job_headers = {"authenticate": headers["authenticate"],
                   f"{JOB}InitParameters": {"id": job_ids[0]},
                   "SoftLayer_ObjectMask": {"mask": job_mask}}
    return [
        ("rest account", "GET", rest_url + "SoftLayer_Account.json", None),
        ("rest jobs", "GET",
         rest_url + f"{TRANSCODE_ACCOUNT}/{transcode_id}/getTranscodeJobs.json?{list_query}", None),
        ("rest job", "GET", rest_url + f"{JOB}/{job_ids[0]}/getObject.json?{mask_query}", None),
        ("rest listing", "POST",
         rest_url + f"{TRANSCODE_ACCOUNT}/{transcode_id}/getDirectoryInformation.json",
         json.dumps({"parameters": ["/in", ""]}).encode()),
        ("rest edit", "POST", rest_url + "SoftLayer_User_Customer/editObject.json",
         json.dumps({"parameters": [{"firstName": "Load"}]}).encode()),
        ("xmlrpc jobs", "POST", xmlrpc_url + TRANSCODE_ACCOUNT,
         xmlrpc.client.dumps(({"headers": headers},), "getTranscodeJobs").encode()),
        ("xmlrpc job", "POST", xmlrpc_url + JOB,
         xmlrpc.client.dumps(({"headers": job_headers},), "getObject").encode()),
    ]


async def _client(index: int, requests: list, stop_at: float, latencies: list[float],
                  failures: list[str]) -> None:
    async with httpx.AsyncClient(auth=(USERNAME, API_KEY), timeout=REQUEST_TIMEOUT) as client:
        turn = index
        while time.monotonic() < stop_at:
            label, method, url, body = requests[turn % len(requests)]
            turn += 1
            started = time.perf_counter()
            try:
                response = await client.request(method, url, content=body)
                problem = _problem(label, response)
            except httpx.HTTPError as error:
                problem = f"{label}: {type(error).__name__}: {error}"
            latencies.append(time.perf_counter() - started)
            if problem:
                failures.append(problem)


def _problem(label: str, response: httpx.Response) -> str:
    if response.status_code != 200:
        return f"{label}: HTTP {response.status_code} {response.text[:200]}"
    if label.startswith("xmlrpc"):
        try:
            xmlrpc.client.loads(response.content)
        except xmlrpc.client.Fault as fault:
            return f"{label}: fault {fault.faultCode} {fault.faultString[:200]}"
    return ""


async def _run_clients(count: int, requests: list, seconds: float) -> tuple[list[float], list[str]]:
    latencies: list[float] = []
    failures: list[str] = []
    stop_at = time.monotonic() + seconds
    await asyncio.gather(*(
        _client(index, requests, stop_at, latencies, failures) for index in range(count)
    ))
    return latencies, failures


# -- the jobs and the uploads running beside them ---------------------------------


class JobDriver(threading.Thread):
    """Keeps JOBS_IN_FLIGHT jobs queued or transcoding until told to stop."""

    def __init__(self, api: SoftLayerRest, first_job_ids: list[int]) -> None:
        super().__init__(name="job-driver", daemon=True)
        self.api = api
        self.job_ids = list(first_job_ids)
        self.final: dict[int, str] = {}
        self.failure = ""
        self.stopping = threading.Event()

    def run(self) -> None:
        try:
            while not self.stopping.wait(0.5):
                self._collect()
                while len(self.job_ids) - len(self.final) < JOBS_IN_FLIGHT:
                    self.job_ids.append(create_job(self.api, len(self.job_ids)))
        except Exception as error:  # the report names whatever stopped the driver
            self.failure = f"{type(error).__name__}: {error}"

    def drain(self, timeout: float) -> None:
        self.stopping.set()
        self.join(timeout=30)
        deadline = time.monotonic() + timeout
        while len(self.final) < len(self.job_ids) and time.monotonic() < deadline:
            self._collect()
            time.sleep(0.5)

    def _collect(self) -> None:
        for job_id in self.job_ids:
            if job_id in self.final:
                continue
            job = self.api.call(JOB, "getObject", id=job_id,
                                mask="mask[id,transcodeStatusName,history]")
            status = job["transcodeStatusName"]
            if status in ("Complete", "Error"):
                self.final[job_id] = status if status == "Complete" else (
                    f"job {job_id}: Error: {job['history'][-1]['publicNotes']}"
                )


def create_job(api: SoftLayerRest, number: int) -> int:
    job = api.call(JOB, "createObject", {
        "name": f"load {number}",
        "transcodePresetGuid": F4V_GUID,
        "transcodePresetName": F4V_NAME,
        "inputFile": "/in/clip.wmv",
        "outputFile": f"/out/load-{number}",
    })
    return job["id"]


class Uploader(threading.Thread):
    """One FTP upload after another into /in, paced like a client on a fast line.

    Each upload's size is checked with SIZE once it is stored.
    """

    def __init__(self, emulator: EmulatorProcess, ftp_login: tuple[str, str], blob: Path) -> None:
        super().__init__(name="uploader", daemon=True)
        self.emulator = emulator
        self.ftp_login = ftp_login
        self.blob = blob
        self.names: list[str] = []
        self.failures: list[str] = []
        self.stopping = threading.Event()

    def run(self) -> None:
        size = self.blob.stat().st_size
        while not self.stopping.is_set():
            name = f"upload-{len(self.names) + len(self.failures)}.bin"
            try:
                stored = self._paced_upload(f"/in/{name}")
            except (OSError, EOFError, ftplib.Error) as error:
                self.failures.append(f"{name}: {type(error).__name__}: {error}")
                continue
            if stored != size:
                self.failures.append(f"{name}: {stored} bytes stored of {size}")
            self.names.append(name)

    def _paced_upload(self, target: str) -> int:
        block = 256 * 1024
        pause = block / UPLOAD_BYTES_PER_SECOND
        with connect(self.emulator.ftp_port, *self.ftp_login) as ftp:
            ftp.voidcmd("TYPE I")
            with self.blob.open("rb") as source, ftp.transfercmd(f"STOR {target}") as data:
                while chunk := source.read(block):
                    data.sendall(chunk)
                    time.sleep(pause)
            ftp.voidresp()
            return ftp.size(target)


# -- the whole run ------------------------------------------------------------------


def run_load_test(seconds: float = 60.0, clients: int = 50, work_dir: Path | None = None,
                  ) -> LoadReport:
    with tempfile.TemporaryDirectory(prefix="load-test-") as scratch:
        work = Path(work_dir or scratch)
        clip = make_clip(work / "clip.wmv", seconds=1, size="320x240")
        blob = make_blob(work / "blob.bin", UPLOAD_MEGABYTES)
        emulator = start_emulator(work / "data", [(USERNAME, API_KEY)],
                                  ("--workers", str(JOBS_IN_FLIGHT)))
        try:
            return _measure(emulator, clip, blob, seconds, clients)
        finally:
            emulator.stop()


def _measure(emulator: EmulatorProcess, clip: Path, blob: Path, seconds: float,
             clients: int) -> LoadReport:
    user = open_transcode_account(emulator.rest_url, USERNAME, API_KEY)
    ftp_login = (user.ftp_username, user.ftp_password)
    upload(emulator.ftp_port, *ftp_login, clip, "/in/clip.wmv")
    api = SoftLayerRest(emulator.rest_url, USERNAME, API_KEY)
    first_jobs = [create_job(api, number) for number in range(JOBS_IN_FLIGHT)]

    driver = JobDriver(api, first_jobs)
    uploader = Uploader(emulator, ftp_login, blob)
    driver.start()
    uploader.start()
    requests = _requests(emulator.rest_url, emulator.xmlrpc_url, user.transcode_account_id,
                         first_jobs)
    started = time.monotonic()
    latencies, failures = asyncio.run(_run_clients(clients, requests, seconds))
    elapsed = time.monotonic() - started
    uploader.stopping.set()
    uploader.join(timeout=120)
    driver.drain(DRAIN_TIMEOUT)

    report = LoadReport(seconds=round(elapsed, 1), clients=clients)
    report.requests = len(latencies)
    report.failed_requests = len(failures)
    report.failures = failures[:20]
    if latencies:
        report.p50_ms = round(percentile(latencies, 50) * 1000, 1)
        report.p99_ms = round(percentile(latencies, 99) * 1000, 1)
        report.max_ms = round(max(latencies) * 1000, 1)
    report.jobs_created = len(driver.job_ids)
    report.jobs_complete = sum(1 for s in driver.final.values() if s == "Complete")
    report.jobs_not_complete = [s for s in driver.final.values() if s != "Complete"]
    report.jobs_not_complete += [f"job {j}: never finished" for j in driver.job_ids
                                 if j not in driver.final]
    if driver.failure:
        report.jobs_not_complete.append(f"job driver stopped: {driver.failure}")
    report.uploads = len(uploader.names)
    report.uploaded_bytes = len(uploader.names) * blob.stat().st_size
    report.upload_failures = uploader.failures
    report.files_lost = _files_lost(api, user.transcode_account_id, uploader.names,
                                    report.jobs_complete)
    log = emulator.log_path.read_text(errors="replace")
    report.locked_log_lines = sum(1 for line in log.splitlines() if LOCKED in line)
    report.error_log_lines = sum(1 for line in log.splitlines() if '"level": "error"' in line)
    api.close()
    return report


def _files_lost(
    api: SoftLayerRest, transcode_id: int, uploads: list[str], outputs: int
) -> list[str]:
    listed_in = {e["name"] for e in api.call(TRANSCODE_ACCOUNT, "getDirectoryInformation",
                                             "/in", "", id=transcode_id)}
    listed_out = {e["name"] for e in api.call(TRANSCODE_ACCOUNT, "getDirectoryInformation",
                                              "/out", "", id=transcode_id)}
    lost = [f"/in/{name}" for name in ["clip.wmv", *uploads] if name not in listed_in]
    if len(listed_out) != outputs:
        lost.append(f"/out holds {len(listed_out)} files for {outputs} completed jobs")
    return lost


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60.0, help="length of the load (60)")
    parser.add_argument("--clients", type=int, default=50, help="concurrent API clients (50)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    arguments = parser.parse_args()

    report = run_load_test(arguments.seconds, arguments.clients)
    if arguments.json:
        print(json.dumps({**asdict(report), "passed": report.passed}, indent=2))
    else:
        print(format_report(report))
    return 0 if report.passed else 1


def format_report(report: LoadReport) -> str:
    lines = [
        f"load: {report.clients} API clients for {report.seconds} s",
        f"  requests served:   {report.requests} ({report.requests_per_second:.0f}/s), "
        f"{report.failed_requests} failed",
        f"  latency:           p50 {report.p50_ms} ms, p99 {report.p99_ms} ms, "
        f"max {report.max_ms} ms",
        f"  jobs:              {report.jobs_complete} of {report.jobs_created} complete",
        f"  FTP uploads:       {report.uploads} ({report.uploaded_bytes // 2**20} MiB), "
        f"{len(report.upload_failures)} failed",
        f"  files lost:        {len(report.files_lost)}",
        f"  'database is locked' in the log: {report.locked_log_lines}; "
        f"error lines: {report.error_log_lines}",
        f"  result:            {'PASSED' if report.passed else 'FAILED'}",
    ]
    for problem in (report.failures + report.jobs_not_complete + report.upload_failures
                    + report.files_lost)[:20]:
        lines.append(f"  ! {problem}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())

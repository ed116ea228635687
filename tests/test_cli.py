"""`transcode-emulator` as a person or a CI script runs it: help, banner,
logs, exit codes and the messages of a start that cannot succeed."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import SoftLayer

from emulator.cli import main
from emulator.config import DEFAULT_API_KEY
from tests.job_flow import wait_for_job
from tests.media import make_clip
from tests.served import passive_range, serve

JOB = "SoftLayer_Network_Media_Transcode_Job"
ACCOUNT = "SoftLayer_Network_Media_Transcode_Account"
MP4 = "MP4 H.264 640x360 1Mbps 30fps AAC"
EXIT_USAGE, EXIT_STARTUP = 2, 3


def run_cli(*arguments: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "emulator.cli", *arguments],
        capture_output=True, text=True, timeout=timeout,
    )


def start_serve_expecting_failure(tmp_path: Path, *arguments: str) -> subprocess.CompletedProcess:
    return run_cli(
        "serve", "--ftp-passive-ports", passive_range(), "--workers", "1", *arguments,
    )


def create_job(client, input_file: str) -> int:
    account_id = client.call("SoftLayer_Account", "getTranscodeAccounts")[0]["id"]
    presets = client.call(ACCOUNT, "getPresets", id=account_id)
    guid = next(p["GUID"] for p in presets if p["name"] == MP4)
    return client.call(JOB, "createObject", {
        "transcodePresetName": MP4, "transcodePresetGuid": guid,
        "inputFile": input_file, "outputFile": "/out/result",
    })["id"]


def test_help_groups_the_options_and_states_the_exit_codes(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["serve", "--help"])
    shown = capsys.readouterr().out

    assert exited.value.code == 0
    for heading in ("where it listens:", "users and state:", "transcoding:", "logging:"):
        assert heading in shown
    assert "--seed FILE" in shown
    assert "--log-format {text,json}" in shown
    assert "3 cannot start (port taken, data directory not writable" in shown
    assert max(len(line) for line in shown.splitlines()) <= 100


def test_no_command_prints_usage_and_exits_2(capsys):
    code = main([])
    shown = capsys.readouterr().err

    assert code == EXIT_USAGE
    assert "usage: transcode-emulator" in shown
    assert "serve" in shown and "worker" in shown


def test_the_banner_shows_endpoints_and_the_built_in_credentials(tmp_path):
    served = serve(tmp_path / "data")
    try:
        banner = served.log_text()
    finally:
        code = served.stop()

    assert served.rest_url.endswith("/rest/v3.1/")
    assert served.xmlrpc_url == served.api_url + "/xmlrpc/v3.1/"
    assert f"Dashboard:        {served.api_url}/_emulator/" in banner
    assert f"FTP:              127.0.0.1:{served.ftp_port}" in banner
    assert f"Default user:     SL-TRANSCODE  API key: {DEFAULT_API_KEY}" in banner
    assert "Control API:      /_emulator/ open (loopback only)" in banner
    assert code == 0


def test_given_api_keys_and_the_admin_token_never_reach_the_output(tmp_path):
    served = serve(
        tmp_path / "data",
        "--user", "alice:alice-secret-api-key-123", "--admin-token", "admin-secret-456",
    )
    try:
        client = SoftLayer.create_client_from_env(
            username="alice", api_key="alice-secret-api-key-123", endpoint_url=served.rest_url
        )
        account = client.call("SoftLayer_Account", "getObject")
    finally:
        code = served.stop()

    output = served.log_text()
    assert account["id"] > 0
    assert "Users:            alice (API keys as given)" in output
    assert "alice-secret-api-key-123" not in output
    assert "admin-secret-456" not in output
    assert DEFAULT_API_KEY not in output
    assert code == 0


def test_json_logs_let_a_machine_follow_requests_and_a_seeded_job(tmp_path):
    make_clip(tmp_path / "clip.wmv", seconds=0.5, size="160x120", rate=15)
    seed_file = tmp_path / "seed.yaml"
    seed_file.write_text(
        "users:\n"
        "  - username: ci\n"
        "    apiKey: ci-key-0000\n"
        "    transcodeAccount: true\n"
        "    files:\n"
        "      /in/clip.wmv: clip.wmv\n"
    )
    served = serve(tmp_path / "data", "--log-format", "json", "--seed", str(seed_file))
    try:
        client = SoftLayer.create_client_from_env(
            username="ci", api_key="ci-key-0000", endpoint_url=served.rest_url
        )
        job_id = create_job(client, "/in/clip.wmv")
        job = wait_for_job(client, job_id)
    finally:
        code = served.stop()

    assert job["transcodeStatusName"] == "Complete"
    lines = [line for line in served.output if line.startswith("{")]
    entries = [json.loads(line) for line in lines]
    requests = [e for e in entries if e["logger"] == "emulator.api"]
    assert any("SoftLayer_Network_Media_Transcode_Job::createObject" in e["message"]
               and e["fields"]["status"] == "200" for e in requests)
    job_events = [e["fields"]["status"] for e in entries
                  if e.get("fields", {}).get("job") == str(job_id) and "status" in e["fields"]]
    assert job_events[:1] == ["Pending"] and job_events[-1] == "Complete"
    assert "Processing" in job_events
    assert any("seeded from" in e["message"] for e in entries)
    assert "ci-key-0000" not in served.log_text()
    assert code == 0


def test_a_taken_api_port_is_named_and_exits_3(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]

        result = start_serve_expecting_failure(
            tmp_path, "--data-dir", str(tmp_path / "data"),
            "--api-port", str(port), "--ftp-port", "0",
        )

    assert result.returncode == EXIT_STARTUP
    message = f"The API port {port} on 127.0.0.1 cannot be used: Address already in use"
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_a_taken_ftp_port_is_named_and_exits_3(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]

        result = start_serve_expecting_failure(
            tmp_path, "--data-dir", str(tmp_path / "data"),
            "--api-port", "0", "--ftp-port", str(port),
        )

    assert result.returncode == EXIT_STARTUP
    message = f"The FTP port {port} on 127.0.0.1 cannot be used: Address already in use"
    assert message in result.stderr


def test_a_data_directory_that_cannot_be_written_is_named_and_exits_3(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")

    result = start_serve_expecting_failure(
        tmp_path, "--data-dir", str(blocker / "data"), "--api-port", "0", "--ftp-port", "0",
    )

    assert result.returncode == EXIT_STARTUP
    assert f"The data directory {blocker / 'data'} is not writable" in result.stderr
    assert "choose another with --data-dir" in result.stderr


def test_a_read_only_data_directory_is_refused(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    data.chmod(0o500)
    try:
        if os.access(data, os.W_OK):
            pytest.skip("running as root, which writes anywhere; the not-a-folder case covers this")
        result = start_serve_expecting_failure(
            tmp_path, "--data-dir", str(data), "--api-port", "0", "--ftp-port", "0",
        )
    finally:
        data.chmod(0o700)

    assert result.returncode == EXIT_STARTUP
    assert "Permission denied" in result.stderr


def test_a_seed_file_that_cannot_be_applied_stops_the_start(tmp_path):
    seed_file = tmp_path / "seed.yaml"
    seed_file.write_text("users:\n  - apiKey: no-username\n")

    result = start_serve_expecting_failure(
        tmp_path, "--data-dir", str(tmp_path / "data"), "--api-port", "0", "--ftp-port", "0",
        "--seed", str(seed_file),
    )

    assert result.returncode == EXIT_STARTUP
    message = f"The seed file {seed_file} cannot be applied: each user needs a 'username'"
    assert message in result.stderr


def test_bad_option_values_are_usage_errors_naming_the_option(tmp_path, capsys):
    data = ["serve", "--data-dir", str(tmp_path)]
    codes = {
        "passive": main([*data, "--ftp-passive-ports", "many"]),
        "user": main([*data, "--user", "alice"]),
        "port": main([*data, "--api-port", "70000"]),
    }
    shown = capsys.readouterr().err

    assert codes == {"passive": EXIT_USAGE, "user": EXIT_USAGE, "port": EXIT_USAGE}
    assert "--ftp-passive-ports expects LOW-HIGH, got 'many'" in shown
    assert "--user expects USERNAME:APIKEY" in shown
    assert "--api-port must be between 0 and 65535, got 70000" in shown
    assert not (tmp_path / "emulator.db").exists()


def test_worker_processes_transcode_for_a_serve_without_workers(tmp_path):
    data = tmp_path / "data"
    served = serve(data, "--no-workers")
    worker = subprocess.Popen(
        [sys.executable, "-m", "emulator.cli", "worker", "--data-dir", str(data), "--workers", "1"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        client = SoftLayer.create_client_from_env(
            username="SL-TRANSCODE", api_key=DEFAULT_API_KEY, endpoint_url=served.rest_url
        )
        client.call(ACCOUNT, "createTranscodeAccount")
        account_id = client.call("SoftLayer_Account", "getTranscodeAccounts")[0]["id"]
        clip = make_clip(tmp_path / "clip.wmv", seconds=0.5, size="160x120", rate=15)
        (data / "ftp" / str(account_id) / "in" / "clip.wmv").write_bytes(clip.read_bytes())
        job = wait_for_job(client, create_job(client, "/in/clip.wmv"))
    finally:
        worker.send_signal(signal.SIGTERM)
        worker_code = worker.wait(timeout=60)
        served.stop()

    assert job["transcodeStatusName"] == "Complete"
    assert worker_code == 0
    assert "Transcoders:      1" in worker.stdout.read()


def test_limit_options_reach_the_settings():
    from emulator.cli import build_parser, settings_from

    arguments = build_parser().parse_args([
        "serve", "--upload-quota-bytes", "1000", "--ftp-max-sessions-per-login", "2",
        "--max-body-bytes", "4096",
    ])
    settings = settings_from(arguments)

    assert (settings.upload_quota_bytes, settings.ftp_max_sessions_per_login,
            settings.max_body_bytes) == (1000, 2, 4096)

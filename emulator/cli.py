"""`transcode-emulator`: run the emulator, or only its transcoders.

Exit codes: 0 after a clean shutdown (SIGINT or SIGTERM), 1 on an unexpected
error, 2 for a usage error (bad option or value), 3 when the emulator cannot
start (a port is taken, the data directory is not writable, the database or
the seed file cannot be used).
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import ssl
import sys
import textwrap
import threading
import time
import urllib.error
import urllib.request
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from pydantic import ValidationError

from emulator.config import DEFAULT_API_KEY, DEFAULT_USERNAME, Settings
from emulator.logs import configure_logging
from emulator.server import Emulator, StartupError

log = logging.getLogger("emulator")

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_STARTUP = 3
SHUTDOWN_GRACE = 10.0

DESCRIPTION = """\
A local emulator of the SoftLayer Transcode service: SoftLayer's REST and
XML-RPC API, an FTP server with /in and /out per transcode account, and
transcoders that run ffmpeg. Point the official SoftLayer client at it.
"""

EPILOG = """\
examples:
  transcode-emulator serve
  transcode-emulator health --wait 60
  transcode-emulator serve --api-port 0 --ftp-port 0 --data-dir /tmp/transcode
  transcode-emulator serve --no-workers --database-url postgresql://u:p@db/transcode
  transcode-emulator worker --database-url postgresql://u:p@db/transcode

Every option can also be set with an environment variable named
TRANSCODE_EMULATOR_<OPTION>, e.g. TRANSCODE_EMULATOR_API_PORT=9000.

exit codes: 0 clean shutdown, 1 unexpected error, 2 usage error,
3 cannot start (port taken, data directory not writable, bad database or seed)
"""


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Keeps descriptions as written and never breaks a word at its hyphen."""

    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=30)

    def _split_lines(self, text: str, width: int) -> list[str]:
        return textwrap.wrap(" ".join(text.split()), width, break_on_hyphens=False)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="transcode-emulator",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=HelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    serve = commands.add_parser(
        "serve",
        help="run the API, the FTP server and transcoders (start here)",
        description="Run the SoftLayer API, the FTP server, the control API and\n"
        "dashboard, and the transcoders, in one process.",
        epilog=EPILOG,
        formatter_class=HelpFormatter,
    )
    _network_options(serve)
    _state_options(serve)
    _job_options(serve, serve=True)
    _logging_options(serve)

    health = commands.add_parser(
        "health",
        help="exit 0 if an emulator answers ready at /_emulator/health (for health checks)",
        description="Ask a running emulator whether it is ready; exit 0 if so, 1 if not.\n"
        "The address comes from --url or the same options and variables as `serve`.",
        formatter_class=HelpFormatter,
    )
    health.add_argument("--url", help="the emulator's base URL (default: from --host/--api-port)")
    health.add_argument("--host", help="address the emulator listens on (default 127.0.0.1)")
    health.add_argument("--api-port", type=int, metavar="PORT", help="its API port (default 8080)")
    health.add_argument("--wait", type=float, default=0, metavar="SECONDS",
                        help="keep asking for this long before giving up (default: ask once)")

    worker = commands.add_parser(
        "worker",
        help="run transcoders only, sharing a database with `serve`",
        description="Run transcoders only. Give them the --database-url and\n"
        "--data-dir that the `serve` process uses.",
        formatter_class=HelpFormatter,
    )
    storage = worker.add_argument_group("state")
    _data_options(storage)
    _job_options(worker, serve=False)
    _logging_options(worker)
    return parser


def _network_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("where it listens")
    group.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    group.add_argument("--api-port", type=int, metavar="PORT",
                       help="HTTP port of the API, control API and dashboard "
                       "(default 8080; 0 picks a free one)")
    group.add_argument("--ftp-port", type=int, metavar="PORT",
                       help="FTP port (default 2121; 0 picks a free one)")
    group.add_argument("--ftp-passive-ports", metavar="LOW-HIGH",
                       help="passive FTP data ports (default 30000-30099)")
    group.add_argument("--ftp-public-host", metavar="HOST",
                       help="address FTP clients are told to connect to "
                       "(default: --host)")
    group.add_argument("--no-ftp", action="store_true", help="run no FTP server")
    group.add_argument("--tls-cert", metavar="FILE",
                       help="serve the API over HTTPS with this certificate")
    group.add_argument("--tls-key", metavar="FILE", help="private key of --tls-cert")


def _state_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("users and state")
    group.add_argument("--user", action="append", metavar="USERNAME:APIKEY",
                       help="a SoftLayer user with an account of its own (repeatable; "
                       f"default {DEFAULT_USERNAME} with the built-in API key)")
    group.add_argument("--seed", metavar="FILE",
                       help="users, accounts and files to create at start (YAML or JSON)")
    group.add_argument("--admin-token", metavar="TOKEN",
                       help="token the control API and dashboard require (default: "
                       "none on loopback, a generated one printed below otherwise)")
    _data_options(group)
    group.add_argument("--smtp-host", metavar="HOST",
                       help="also deliver job notifications to this SMTP server")
    group.add_argument("--smtp-port", type=int, metavar="PORT", help="SMTP port (default 25)")

    group = parser.add_argument_group("limits")
    group.add_argument("--upload-quota-bytes", type=int, metavar="N",
                       help="bytes each transcode account may keep in /in (default 0: no quota)")
    group.add_argument("--ftp-max-sessions-per-login", type=int, metavar="N",
                       help="concurrent FTP sessions per login (default 8)")
    group.add_argument("--max-body-bytes", type=int, metavar="N",
                       help="largest API request body accepted (default 8388608)")


def _data_options(group) -> None:
    group.add_argument("--data-dir", type=Path, metavar="DIR",
                       help="files and the SQLite database (default ./transcode-data)")
    group.add_argument("--database-url", metavar="URL",
                       help="e.g. postgresql://user:pass@db/transcode "
                       "(default: SQLite in --data-dir)")
    group.add_argument("--retention-seconds", type=int, metavar="N",
                       help="lifetime of files in /in and /out (default 259200, 72 h)")


def _job_options(parser: argparse.ArgumentParser, serve: bool) -> None:
    group = parser.add_argument_group("transcoding")
    if serve:
        group.add_argument("--no-workers", action="store_true",
                           help="transcode nothing here (run `worker` processes instead)")
    group.add_argument("--workers", type=int, metavar="N",
                       help="concurrent transcodes (default: number of CPU cores)")
    group.add_argument("--job-timeout", type=float, metavar="SECONDS",
                       help="stop a transcode after this long (default 3600)")
    group.add_argument("--presets-dir", type=Path, metavar="DIR",
                       help="folder of preset YAML files (default: the built-in catalog)")


def _logging_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("logging")
    group.add_argument("--log-format", choices=["text", "json"],
                       help="text lines for people or one JSON object per line (default text)")
    group.add_argument("--log-level", metavar="LEVEL",
                       help="DEBUG, INFO, WARNING or ERROR (default INFO)")


def settings_from(arguments: argparse.Namespace) -> Settings:
    flags = ("command", "user", "no_workers", "no_ftp", "seed", "url", "wait")
    overrides = {
        key: value
        for key, value in vars(arguments).items()
        if value is not None and key not in flags
    }
    if getattr(arguments, "user", None):
        overrides["users"] = arguments.user
    if getattr(arguments, "seed", None):
        overrides["seed_file"] = arguments.seed
    if getattr(arguments, "no_workers", False):
        overrides["workers"] = 0
    if getattr(arguments, "no_ftp", False):
        overrides["ftp"] = False
    if arguments.command in ("worker", "health"):
        overrides.update(api=False, ftp=False)
    return Settings(**overrides)


def check_settings(settings: Settings) -> None:
    """Refuse values that would only fail later, with a message naming the option."""
    settings.user_credentials()
    try:
        passive = settings.passive_range()
    except ValueError:
        raise ValueError(
            f"--ftp-passive-ports expects LOW-HIGH, got {settings.ftp_passive_ports!r}"
        ) from None
    if not passive or passive.start < 1 or passive.stop > 65536:
        raise ValueError("--ftp-passive-ports must be a range within 1-65535")
    for option, port in (("--api-port", settings.api_port), ("--ftp-port", settings.ftp_port)):
        if not 0 <= port <= 65535:
            raise ValueError(f"{option} must be between 0 and 65535, got {port}")
    if settings.workers < 0:
        raise ValueError("--workers must be 0 or more")
    if not isinstance(logging.getLevelName(settings.log_level.upper()), int):
        raise ValueError(f"--log-level must be DEBUG, INFO, WARNING or ERROR, "
                         f"got {settings.log_level!r}")
    if bool(settings.tls_cert) != bool(settings.tls_key):
        raise ValueError("--tls-cert and --tls-key go together")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    arguments = parser.parse_args(argv)
    if arguments.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE

    try:
        settings = settings_from(arguments)
        check_settings(settings)
    except ValidationError as error:
        for problem in error.errors():
            field = "--" + "-".join(str(part) for part in problem["loc"]).replace("_", "-")
            print(f"transcode-emulator: {field}: {problem['msg']}", file=sys.stderr)
        return EXIT_USAGE
    except ValueError as error:
        print(f"transcode-emulator: {error}", file=sys.stderr)
        return EXIT_USAGE

    if arguments.command == "health":
        return check_health(arguments.url or Emulator(settings).api_url, arguments.wait)
    configure_logging(settings.log_format, settings.log_level)
    return run(Emulator(settings), arguments.command)


def check_health(base_url: str, wait: float) -> int:
    """Exit code of the `health` command: 0 once the emulator reports ready."""
    url = base_url.rstrip("/") + "/_emulator/health"
    deadline = time.monotonic() + wait
    while True:
        status, problem = _ask_health(url)
        if status == "ok":
            print(f"{url}: ok")
            return EXIT_OK
        if time.monotonic() >= deadline:
            print(f"{url}: {problem}", file=sys.stderr)
            return EXIT_FAILURE
        time.sleep(0.5)


def _ask_health(url: str) -> tuple[str, str]:
    # The check runs beside the server, which may use a self-signed certificate.
    context = ssl._create_unverified_context() if url.startswith("https") else None
    try:
        with urllib.request.urlopen(url, timeout=5, context=context) as response:
            report = json.load(response)
    except urllib.error.HTTPError as error:
        return "", f"not ready (HTTP {error.code})"
    except (OSError, ValueError) as error:
        return "", f"no answer ({getattr(error, 'reason', error)})"
    return str(report.get("status")), f"status {report.get('status')!r}"


def run(emulator: Emulator, command: str) -> int:
    stop = _stop_on_signals()
    try:
        emulator.start()
    except StartupError as error:
        log.error("cannot start: %s", error)
        return EXIT_STARTUP
    except Exception:
        log.exception("cannot start: unexpected error")
        return EXIT_FAILURE

    print_banner(emulator, command)
    stop.wait()
    log.info(
        "shutting down: running jobs get %.0f s to finish, then go back to Pending",
        SHUTDOWN_GRACE,
    )
    emulator.stop(grace=SHUTDOWN_GRACE)
    return EXIT_OK


def _stop_on_signals() -> threading.Event:
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    return stop


def print_banner(emulator: Emulator, command: str) -> None:
    """Endpoints and credentials; API keys given by the user are never shown."""
    settings = emulator.settings
    lines = ["SoftLayer Transcode emulator is ready."]
    if command == "serve":
        lines += [
            f"  REST endpoint:    {emulator.rest_url}",
            f"  XML-RPC endpoint: {emulator.xmlrpc_url}",
            f"  Dashboard:        {emulator.dashboard_url}",
        ]
        if settings.ftp:
            lines.append(
                f"  FTP:              {emulator.ftp_host}:{emulator.ftp_port} "
                f"(passive ports {settings.ftp_passive_ports})"
            )
    database = emulator.backend.engine.url.render_as_string(hide_password=True)
    lines += [
        f"  Data directory:   {settings.data_dir.resolve()}",
        f"  Database:         {database}",
        f"  Transcoders:      {settings.workers}",
    ]
    if command == "serve":
        if settings.uses_default_user:
            lines.append(f"  Default user:     {DEFAULT_USERNAME}  API key: {DEFAULT_API_KEY}")
        else:
            names = ", ".join(username for username, _ in settings.user_credentials())
            lines.append(f"  Users:            {names} (API keys as given)")
        if settings.seed_file:
            lines.append(f"  Seeded from:      {settings.seed_file}")
        lines.append(f"  Control API:      {_control_mode(emulator)}")
    print("\n".join(lines), flush=True)


def _control_mode(emulator: Emulator) -> str:
    if emulator.admin_token_generated:
        # Generated here, not given by the user, so it may be shown.
        return (
            f"/_emulator/ requires the admin token {emulator.admin_token} (generated "
            "because the host is not loopback; choose one with --admin-token)"
        )
    if emulator.admin_token:
        return "/_emulator/ requires the admin token (as given)"
    return "/_emulator/ open (loopback only)"


def _version() -> str:
    try:
        return version("softlayer-transcode-emulator")
    except PackageNotFoundError:
        return "unknown"


if __name__ == "__main__":
    sys.exit(main())

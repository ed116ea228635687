"""`transcode-emulator`: run the emulator, or only its workers."""

from __future__ import annotations

import argparse
import ipaddress
import logging
import signal
import sys
import threading
from pathlib import Path

from pydantic import ValidationError

from emulator.config import DEFAULT_API_KEY, DEFAULT_USERNAME, Settings
from emulator.logs import configure_logging
from emulator.server import Emulator, StartupError

log = logging.getLogger("emulator")

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_STARTUP = 3

DESCRIPTION = """\
A local emulator of the SoftLayer Transcode service: the SoftLayer REST and
XML-RPC API, an FTP server with /in and /out per transcode account, and
workers that transcode with ffmpeg. Every option can also be set with an
environment variable TRANSCODE_EMULATOR_<OPTION> (for example
TRANSCODE_EMULATOR_API_PORT=9000).
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="transcode-emulator",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    serve = commands.add_parser(
        "serve", help="run the API, the FTP server and workers",
        description="Run the API, the FTP server and the workers in one process.",
    )
    _common_options(serve)
    serve.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--api-port", type=int, help="API port (default 8080; 0 picks a free one)")
    serve.add_argument("--ftp-port", type=int, help="FTP port (default 2121; 0 picks a free one)")
    serve.add_argument("--ftp-passive-ports", metavar="LOW-HIGH", help="passive FTP data ports (default 30000-30099)")
    serve.add_argument("--ftp-public-host", metavar="HOST", help="address FTP clients are told to connect to")
    serve.add_argument(
        "--user", action="append", metavar="USERNAME:APIKEY",
        help="a SoftLayer user with an account of its own (repeatable)",
    )
    serve.add_argument("--no-workers", action="store_true", help="run no transcoders here (use `worker` processes)")
    serve.add_argument("--no-ftp", action="store_true", help="run no FTP server here")
    serve.add_argument("--seed", metavar="FILE", help="users, accounts and files to create at start (YAML or JSON)")
    serve.add_argument("--admin-token", metavar="TOKEN", help="token the /_emulator/ control endpoints require")
    serve.add_argument("--smtp-host", metavar="HOST", help="deliver job notifications to this SMTP server")
    serve.add_argument("--smtp-port", type=int, metavar="PORT", help="SMTP port (default 25)")
    serve.add_argument("--tls-cert", metavar="FILE", help="serve the API over HTTPS with this certificate")
    serve.add_argument("--tls-key", metavar="FILE", help="private key of --tls-cert")

    worker = commands.add_parser(
        "worker", help="run transcoders only, sharing a database with `serve`",
        description="Run transcoders only. Point --database-url and --data-dir "
        "at what the `serve` process uses.",
    )
    _common_options(worker)
    return parser


def _common_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", type=Path, help="where files and the SQLite database live (default ./transcode-data)")
    parser.add_argument("--database-url", help="e.g. postgresql://user:pass@db/transcode (default: SQLite in --data-dir)")
    parser.add_argument("--workers", type=int, help="concurrent transcodes (default: number of cores)")
    parser.add_argument("--presets-dir", type=Path, help="folder of preset YAML files")
    parser.add_argument("--retention-seconds", type=int, help="file lifetime in /in and /out (default 259200, 72 h)")
    parser.add_argument("--job-timeout", type=float, help="seconds before a transcode is stopped (default 3600)")
    parser.add_argument("--log-format", choices=["text", "json"], help="log line format (default text)")
    parser.add_argument("--log-level", help="DEBUG, INFO, WARNING... (default INFO)")


def settings_from(arguments: argparse.Namespace) -> Settings:
    overrides = {
        key: value
        for key, value in vars(arguments).items()
        if value is not None and key not in ("command", "user", "no_workers", "no_ftp", "seed")
    }
    if getattr(arguments, "user", None):
        overrides["users"] = arguments.user
    if getattr(arguments, "seed", None):
        overrides["seed_file"] = arguments.seed
    if getattr(arguments, "no_workers", False):
        overrides["workers"] = 0
    if getattr(arguments, "no_ftp", False):
        overrides["ftp"] = False
    if arguments.command == "worker":
        overrides.update(api=False, ftp=False)
    return Settings(**overrides)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    arguments = parser.parse_args(argv)
    if arguments.command is None:
        parser.print_help()
        return EXIT_USAGE

    try:
        settings = settings_from(arguments)
        settings.user_credentials()
        settings.passive_range()
    except (ValidationError, ValueError) as error:
        print(f"transcode-emulator: {error}", file=sys.stderr)
        return EXIT_USAGE

    configure_logging(settings.log_format, settings.log_level)
    emulator = Emulator(settings)
    try:
        emulator.start()
    except StartupError as error:
        log.error("%s", error)
        emulator.stop(grace=0)
        return EXIT_STARTUP

    print_banner(emulator, arguments.command)
    wait_for_signal()
    log.info("shutting down: running jobs get 10 s to finish, then go back to Pending")
    emulator.stop(grace=10)
    return EXIT_OK


def wait_for_signal() -> None:
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    while not stop.wait(1):
        pass


def print_banner(emulator: Emulator, command: str) -> None:
    settings = emulator.settings
    lines = ["SoftLayer Transcode emulator is ready."]
    if command == "serve":
        lines += [
            f"  REST endpoint:    {emulator.rest_url}",
            f"  XML-RPC endpoint: {emulator.xmlrpc_url}",
            f"  Dashboard:        {emulator.api_url}/_emulator/",
        ]
        if settings.ftp:
            lines.append(f"  FTP:              {settings.ftp_public_host or settings.host}:{settings.ftp_port} (passive {settings.ftp_passive_ports})")
    lines += [
        f"  Data directory:   {settings.data_dir.resolve()}",
        f"  Database:         {emulator.backend.engine.url.render_as_string(hide_password=True)}",
        f"  Transcoders:      {settings.workers}",
    ]
    if command == "serve":
        if settings.uses_default_user:
            lines.append(f"  Default user:     {DEFAULT_USERNAME}  API key: {DEFAULT_API_KEY}")
        else:
            names = ", ".join(u for u, _ in settings.user_credentials())
            lines.append(f"  Users:            {names} (API keys as given)")
        lines.append(f"  Control API:      {_control_mode(settings)}")
    print("\n".join(lines), flush=True)


def _control_mode(settings: Settings) -> str:
    if settings.admin_token:
        return "/_emulator/ requires the admin token"
    if not _is_loopback(settings.host):
        return "OPEN on a non-loopback address: pass --admin-token to protect it"
    return "/_emulator/ open (loopback only)"


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


if __name__ == "__main__":
    sys.exit(main())

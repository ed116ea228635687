"""The emulator as a library object: start it, read its URLs, steer it, stop it.

```python
with Emulator(api_port=0, ftp_port=0, data_dir=tmp) as emulator:
    client = emulator.softlayer_client()          # or softlayer_client("xmlrpc")
    emulator.hold_jobs()                          # new jobs stay Pending
    emulator.advance_clock(72 * 3600)             # files reach their retention
```

The `serve` command, the Docker image and the pytest fixtures all wrap it.
"""

from __future__ import annotations

import logging
import secrets
import socket
import threading
import time
from pathlib import Path
from typing import Any, NamedTuple

import uvicorn
import yaml
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import SQLAlchemyError

from emulator.app import create_app
from emulator.backend import Backend
from emulator.clock import Clock
from emulator.config import Settings
from emulator.control import state
from emulator.control.access import is_loopback_host
from emulator.control.seed import seed as apply_seed
from emulator.control.state import ControlError
from emulator.db import create_schema, load_clock_offset, make_engine
from emulator.ftp import FTPService
from emulator.media import Prober
from emulator.notifications import SmtpDelivery
from emulator.presets import PresetCatalog
from emulator.reaper import Reaper
from emulator.storage import Storage
from emulator.transcode import find_ffmpeg
from emulator.worker import Worker

log = logging.getLogger("emulator")

STARTUP_TIMEOUT = 30.0
API_PATH = {"rest": "/rest/v3.1/", "xmlrpc": "/xmlrpc/v3.1/"}


class StartupError(Exception):
    """The emulator could not start; the message says what to change."""


class Credentials(NamedTuple):
    username: str
    api_key: str


class Emulator:
    """One emulator: API, FTP server, transcoders, reaper and mail delivery.

    Options are the fields of `Settings` (`api_port=0` and `ftp_port=0` pick
    free ports); `start()` runs every part in this process, in threads.
    """

    def __init__(self, settings: Settings | None = None, **options: Any) -> None:
        if settings is None:
            settings = Settings(**options)
        elif options:
            settings = settings.model_copy(update=options)
        self.settings = settings
        self.backend: Backend | None = None
        self.ftp: FTPService | None = None
        self.worker: Worker | None = None
        self.reaper: Reaper | None = None
        self.smtp: SmtpDelivery | None = None
        self._uvicorn: uvicorn.Server | None = None
        self._api_thread: threading.Thread | None = None
        self._reset_lock = threading.Lock()
        self.admin_token_generated = False

    # -- lifecycle -------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self.backend is not None

    def start(self) -> "Emulator":
        """Start every part the settings ask for; StartupError says what is wrong."""
        if self.running:
            return self
        try:
            self._start_parts()
        except BaseException:
            self.stop(grace=0)
            raise
        log.info("emulator started api=%s ftp_port=%s", self.api_url, self.ftp_port)
        return self

    def _start_parts(self) -> None:
        settings = self.settings
        self._guard_control_plane()
        self.backend = self._build_backend()
        state.ensure_configured_users(self.backend)
        if settings.seed_file:
            self._seed_at_start(Path(settings.seed_file))

        if settings.ftp:
            self._start_ftp()
        if settings.workers > 0:
            self.worker = Worker(self.backend, settings.workers)
            self.worker.start()
        self.reaper = Reaper(self.backend)
        self.reaper.start()
        if settings.smtp_host:
            self.smtp = SmtpDelivery(self.backend)
            self.smtp.start()
        if settings.api:
            self._start_api()

    def _guard_control_plane(self) -> None:
        """Beyond loopback, the control API and dashboard never run without a token."""
        settings = self.settings
        if not settings.api or settings.admin_token or is_loopback_host(settings.host):
            return
        self.settings.admin_token = secrets.token_urlsafe(24)
        self.admin_token_generated = True
        log.warning(
            "host=%s is not loopback and no admin token was given: generated one; "
            "the control API and dashboard require it (Emulator.admin_token, the banner)",
            self.settings.host,
        )

    def stop(self, grace: float = 10.0) -> None:
        """Stop every part; running jobs get `grace` seconds, then go back to Pending."""
        if not self.running:
            return
        if self._uvicorn is not None:
            self._uvicorn.should_exit = True
            self._api_thread.join(timeout=10)
            self._uvicorn = None
        if self.worker is not None:
            self.worker.stop(grace)
            self.worker = None
        for part in (self.reaper, self.smtp):
            if part is not None:
                part.stop()
        self.reaper = self.smtp = None
        if self.ftp is not None:
            self.ftp.stop()
            self.ftp = None
        self.backend.prober.close()
        self.backend.engine.dispose()
        self.backend = None
        log.info("emulator stopped")

    def __enter__(self) -> "Emulator":
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- what clients need -----------------------------------------------------

    @property
    def host(self) -> str:
        return self.settings.host

    @property
    def api_url(self) -> str:
        """`http://127.0.0.1:PORT`, the base of every HTTP endpoint."""
        scheme = "https" if self.settings.tls_cert else "http"
        return f"{scheme}://{_url_host(self.settings.host)}:{self.settings.api_port}"

    @property
    def rest_url(self) -> str:
        return self.api_url + API_PATH["rest"]

    @property
    def xmlrpc_url(self) -> str:
        return self.api_url + API_PATH["xmlrpc"]

    def endpoint_url(self, transport: str = "rest") -> str:
        """The SoftLayer endpoint for `transport`, "rest" or "xmlrpc"."""
        if transport not in API_PATH:
            raise ValueError(f"transport must be 'rest' or 'xmlrpc', not {transport!r}")
        return self.api_url + API_PATH[transport]

    @property
    def control_url(self) -> str:
        """The control API and dashboard: `.../_emulator/`."""
        return self.api_url + "/_emulator/"

    dashboard_url = control_url

    @property
    def ftp_host(self) -> str:
        """The address FTP clients connect to (as getFtpAttributes reports it)."""
        return self.settings.ftp_public_host or _url_host(self.settings.host).strip("[]")

    @property
    def ftp_port(self) -> int:
        return self.settings.ftp_port

    @property
    def admin_token(self) -> str:
        """The token the control API and dashboard require; empty when they are open."""
        return self.settings.admin_token

    @property
    def credentials(self) -> Credentials:
        """The first configured user (the built-in default user unless others are given)."""
        return Credentials(*self.settings.user_credentials()[0])

    @property
    def username(self) -> str:
        return self.credentials.username

    @property
    def api_key(self) -> str:
        return self.credentials.api_key

    def softlayer_client(self, transport: str = "rest", credentials: Credentials | None = None):
        """The official SoftLayer client (package `SoftLayer`) pointed at this emulator."""
        import SoftLayer

        username, api_key = credentials or self.credentials
        return SoftLayer.create_client_from_env(
            username=username, api_key=api_key, endpoint_url=self.endpoint_url(transport)
        )

    # -- control, in process ---------------------------------------------------

    def reset(self) -> None:
        """Forget all jobs, accounts, files, rules and notifications; keep the users.

        The transcoders are replaced too, so a job of the old state that was
        still running cannot finish into the new one.
        """
        with self._reset_lock:
            concurrency = self.worker.concurrency if self.worker else 0
            if self.worker is not None:
                self.worker.stop(grace=0)
                self.worker = None
            state.reset(self._backend())
            if concurrency:
                self.worker = Worker(self.backend, concurrency)
                self.worker.start()

    def seed(self, document: dict, base_dir: Path | None = None) -> dict:
        """Create users, accounts, transcode accounts and files (see `emulator.control.seed`)."""
        return apply_seed(self._backend(), document, base_dir)

    def seed_file(self, path: Path | str) -> dict:
        """Seed from a YAML or JSON file; relative file paths are read beside it."""
        path = Path(path)
        try:
            document = yaml.safe_load(path.read_text())
        except (OSError, yaml.YAMLError) as error:
            raise ControlError(f"cannot read the seed file {path}: {error}") from error
        return self.seed(document, base_dir=path.parent)

    def advance_clock(self, seconds: float) -> dict:
        """Move service time forward; files whose time is up are deleted at once."""
        return state.advance_clock(self._backend(), seconds)

    def hold_jobs(self, preset: str = "", file_name: str = "") -> dict:
        """Keep new jobs (or those of a preset or input file name pattern) Pending."""
        return self._add_rule("hold", preset=preset, fileName=file_name)

    def fail_jobs(
        self, message: str = "", preset: str = "", file_name: str = "", count: int | None = None
    ) -> dict:
        """Make the next job (or matching jobs, or `count` of them) end in Error."""
        return self._add_rule(
            "fail", message=message, preset=preset, fileName=file_name, count=count
        )

    def delay_jobs(self, seconds: float, preset: str = "", file_name: str = "") -> dict:
        """Keep matching jobs Processing at least `seconds` longer."""
        return self._add_rule("delay", seconds=seconds, preset=preset, fileName=file_name)

    def release_jobs(self) -> int:
        """Remove every hold; held jobs start as transcoders become free."""
        return state.remove_rules(self._backend(), "hold")

    def remove_rules(self, kind: str | None = None) -> int:
        """Remove steering rules of one kind (hold, fail, delay), or all of them."""
        return state.remove_rules(self._backend(), kind)

    def rules(self) -> list[dict]:
        return state.list_rules(self._backend())

    def notifications(self, job_id: int | None = None) -> list[dict]:
        """The e-mails the service would have sent, oldest first."""
        return state.list_notifications(self._backend(), job_id)

    def _add_rule(self, kind: str, **body: Any) -> dict:
        body = {key: value for key, value in body.items() if value not in (None, "")}
        return state.rule_record(state.add_rule(self._backend(), kind, body))

    def _backend(self) -> Backend:
        if self.backend is None:
            raise RuntimeError("the emulator is not running: call start() first")
        return self.backend

    def health(self) -> dict[str, Any]:
        parts = {
            "api": self._uvicorn is not None and self._uvicorn.started,
            "ftp": self.ftp is not None and self.ftp.thread.is_alive(),
            "worker": self.worker is not None
            and all(thread.is_alive() for thread in self.worker.threads),
        }
        wanted = {
            "api": self.settings.api,
            "ftp": self.settings.ftp,
            "worker": self.settings.workers > 0,
        }
        ready = all(parts[name] for name, on in wanted.items() if on)
        backend = self.backend
        return {
            "status": "ok" if ready else "starting",
            **{name: _part_state(parts[name], wanted[name]) for name in parts},
            "workers": self.settings.workers,
            "presets": len(backend.catalog.presets) if backend else 0,
            "database": backend.engine.dialect.name if backend else "",
            "ffmpeg": backend.ffmpeg_path if backend else "",
        }

    # -- parts -----------------------------------------------------------------

    def _build_backend(self) -> Backend:
        settings = self.settings
        data_dir = settings.data_dir
        try:
            data_dir.mkdir(parents=True, exist_ok=True)
            probe = data_dir / ".write-test"
            probe.write_text("ok")
            probe.unlink()
        except OSError as error:
            raise StartupError(
                f"The data directory {data_dir} is not writable "
                f"({_reason(error)}); choose another with --data-dir."
            ) from error

        engine = self._database()
        clock = Clock(lambda: load_clock_offset(engine))
        storage = Storage(data_dir)
        storage.prepare()
        catalog = PresetCatalog.load(settings.presets_dir)
        if not catalog.presets:
            raise StartupError(f"No presets found in {settings.presets_dir}.")
        return Backend(
            settings=settings,
            engine=engine,
            clock=clock,
            storage=storage,
            catalog=catalog,
            prober=Prober(),
            ffmpeg_path=find_ffmpeg(settings.ffmpeg),
        )

    def _database(self) -> Engine:
        url = self.settings.resolved_database_url()
        try:
            engine = make_engine(url)
            create_schema(engine)
        except (SQLAlchemyError, ValueError, ImportError) as error:
            shown = make_url(url).render_as_string(hide_password=True) if "://" in url else url
            reason = str(getattr(error, "orig", None) or error).splitlines()[0]
            raise StartupError(f"The database {shown} cannot be used: {reason}") from error
        return engine

    def _seed_at_start(self, path: Path) -> None:
        try:
            result = self.seed_file(path)
        except ControlError as error:
            raise StartupError(f"The seed file {path} cannot be applied: {error}") from error
        log.info(
            "seeded from %s accounts=%d users=%d",
            path, len(result["accounts"]), len(result["users"]),
        )

    def _start_ftp(self) -> None:
        try:
            self.ftp = FTPService(self.backend, self.settings.host, self.settings.ftp_port)
        except OSError as error:
            raise StartupError(
                f"The FTP port {self.settings.ftp_port} on {self.settings.host} "
                f"cannot be used: {_reason(error)}."
            ) from error
        self.settings.ftp_port = self.ftp.port
        self.ftp.start()

    def _start_api(self) -> None:
        settings = self.settings
        family = socket.AF_INET6 if ":" in settings.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((settings.host, settings.api_port))
        except OSError as error:
            sock.close()
            raise StartupError(
                f"The API port {settings.api_port} on {settings.host} "
                f"cannot be used: {_reason(error)}."
            ) from error
        sock.listen(2048)
        settings.api_port = sock.getsockname()[1]

        app = create_app(self.backend, self.health, self.reset)
        config = uvicorn.Config(
            app,
            log_config=None,
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=5,
            ssl_certfile=settings.tls_cert or None,
            ssl_keyfile=settings.tls_key or None,
        )
        self._uvicorn = uvicorn.Server(config)
        self._api_thread = threading.Thread(
            target=self._uvicorn.run, kwargs={"sockets": [sock]}, name="api", daemon=True
        )
        self._api_thread.start()

        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not self._uvicorn.started:
            if not self._api_thread.is_alive() or time.monotonic() > deadline:
                raise StartupError("The API server did not start.")
            time.sleep(0.01)


def _reason(error: OSError) -> str:
    """The OS's words for an error, also when a library wrapped it in another OSError."""
    while error.strerror is None and error.args and isinstance(error.args[0], OSError):
        error = error.args[0]
    return error.strerror or str(error)


def _part_state(up: bool, wanted: bool) -> str:
    if not wanted:
        return "off"
    return "up" if up else "down"


def _url_host(host: str) -> str:
    if host in ("0.0.0.0", ""):
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host

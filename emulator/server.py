"""The emulator as a library object: start it, read its URLs, stop it.

```python
with Emulator(api_port=0, ftp_port=0, data_dir=tmp) as emulator:
    client = SoftLayer.create_client_from_env(
        username=emulator.username, api_key=emulator.api_key,
        endpoint_url=emulator.rest_url)
```

The `serve` command, the Docker image and the pytest fixtures all wrap it.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from pathlib import Path
from typing import Any

import uvicorn

from emulator.app import create_app
from emulator.backend import Backend
from emulator.clock import Clock
from emulator.config import Settings
from emulator.control import state
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


class StartupError(Exception):
    """The emulator could not start; the message says what to change."""


class Emulator:
    def __init__(self, settings: Settings | None = None, **overrides: Any) -> None:
        if settings is None:
            settings = Settings(**overrides)
        elif overrides:
            settings = settings.model_copy(update=overrides)
        self.settings = settings
        self.backend: Backend | None = None
        self.ftp: FTPService | None = None
        self.worker: Worker | None = None
        self.reaper: Reaper | None = None
        self.smtp: SmtpDelivery | None = None
        self._uvicorn: uvicorn.Server | None = None
        self._api_thread: threading.Thread | None = None
        self._api_socket: socket.socket | None = None

    # -- lifecycle -------------------------------------------------------------

    def start(self, api: bool | None = None, ftp: bool | None = None, workers: int | None = None) -> "Emulator":
        settings = self.settings
        api = settings.api if api is None else api
        ftp = settings.ftp if ftp is None else ftp
        workers = settings.workers if workers is None else workers

        self.backend = self._build_backend()
        state.ensure_configured_users(self.backend)
        if settings.seed_file:
            self.seed_file(Path(settings.seed_file))

        if ftp:
            self._start_ftp()
        if workers > 0:
            self.worker = Worker(self.backend, workers)
            self.worker.start()
        self.reaper = Reaper(self.backend)
        self.reaper.start()
        if settings.smtp_host:
            self.smtp = SmtpDelivery(self.backend)
            self.smtp.start()
        if api:
            self._start_api()
        return self

    def stop(self, grace: float = 10.0) -> None:
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
        if self.ftp is not None:
            self.ftp.stop()
            self.ftp = None
        if self.backend is not None:
            self.backend.prober.close()
            self.backend.engine.dispose()
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
        scheme = "https" if self.settings.tls_cert else "http"
        return f"{scheme}://{_url_host(self.settings.host)}:{self.settings.api_port}"

    @property
    def rest_url(self) -> str:
        return self.api_url + "/rest/v3.1/"

    @property
    def xmlrpc_url(self) -> str:
        return self.api_url + "/xmlrpc/v3.1/"

    @property
    def ftp_port(self) -> int:
        return self.settings.ftp_port

    @property
    def username(self) -> str:
        return self.settings.user_credentials()[0][0]

    @property
    def api_key(self) -> str:
        return self.settings.user_credentials()[0][1]

    # -- control, in process ---------------------------------------------------

    def reset(self) -> None:
        state.reset(self.backend)

    def seed(self, document: dict, base_dir: Path | None = None) -> dict:
        return state.seed(self.backend, document, base_dir)

    def seed_file(self, path: Path) -> dict:
        import yaml

        try:
            document = yaml.safe_load(path.read_text())
        except (OSError, yaml.YAMLError) as error:
            raise StartupError(f"Cannot read the seed file {path}: {error}") from error
        return self.seed(document, base_dir=path.parent)

    def advance_clock(self, seconds: float) -> dict:
        return state.advance_clock(self.backend, seconds)

    def health(self) -> dict[str, Any]:
        parts = {
            "api": self._uvicorn is not None and self._uvicorn.started,
            "ftp": self.ftp is not None and self.ftp.thread.is_alive(),
            "worker": self.worker is not None and all(t.is_alive() for t in self.worker.threads),
        }
        wanted = {
            "api": self.settings.api,
            "ftp": self.settings.ftp,
            "worker": self.settings.workers > 0,
        }
        ready = all(parts[name] for name, on in wanted.items() if on)
        return {
            "status": "ok" if ready else "starting",
            **{name: ("up" if parts[name] else ("off" if not wanted[name] else "down")) for name in parts},
            "workers": self.settings.workers,
            "presets": len(self.backend.catalog.presets) if self.backend else 0,
            "database": self.backend.engine.dialect.name if self.backend else "",
            "ffmpeg": self.backend.ffmpeg_path if self.backend else "",
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
                f"The data directory {data_dir} is not writable: {error.strerror}."
            ) from error

        engine = make_engine(settings.resolved_database_url())
        create_schema(engine)
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

    def _start_ftp(self) -> None:
        try:
            self.ftp = FTPService(self.backend, self.settings.host, self.settings.ftp_port)
        except OSError as error:
            raise StartupError(
                f"The FTP port {self.settings.ftp_port} on {self.settings.host} "
                f"cannot be used: {error.strerror}."
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
                f"cannot be used: {error.strerror}."
            ) from error
        sock.listen(2048)
        settings.api_port = sock.getsockname()[1]
        self._api_socket = sock

        app = create_app(self.backend, self.health)
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


def _url_host(host: str) -> str:
    if host in ("0.0.0.0", ""):
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host

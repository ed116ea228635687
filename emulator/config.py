"""Settings of one emulator instance, from arguments or environment variables."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_USERNAME = "SL-TRANSCODE"
DEFAULT_API_KEY = "transcode-emulator-default-api-key-0123456789abcdef"
RETENTION_SECONDS = 72 * 3600
PROJECT_ROOT = Path(__file__).resolve().parent.parent


def default_presets_dir() -> Path:
    return PROJECT_ROOT / "presets"


class Settings(BaseSettings):
    """Every knob of the emulator; each one is also `TRANSCODE_EMULATOR_<NAME>`."""

    model_config = SettingsConfigDict(env_prefix="TRANSCODE_EMULATOR_")

    host: str = "127.0.0.1"
    api_port: int = 8080
    ftp_port: int = 2121
    ftp_passive_ports: str = "30000-30099"
    # The address FTP clients are told to use; the bind host when empty.
    ftp_public_host: str = ""
    data_dir: Path = Path("./transcode-data")
    database_url: str = ""
    users: list[str] = Field(default_factory=list)
    presets_dir: Path = Field(default_factory=default_presets_dir)
    workers: int = Field(default_factory=lambda: os.cpu_count() or 1)
    api: bool = True
    ftp: bool = True
    retention_seconds: int = RETENTION_SECONDS
    reaper_interval: float = 1.0
    job_timeout: float = 3600.0
    job_max_attempts: int = 2
    lease_seconds: float = 30.0
    poll_interval: float = 0.25
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_sender: str = "transcode@softlayer.emulator"
    admin_token: str = ""
    upload_quota_bytes: int = 0
    ftp_max_sessions_per_login: int = 8
    max_body_bytes: int = 8 * 1024 * 1024
    ffmpeg: str = ""
    log_format: str = "text"
    log_level: str = "INFO"
    tls_cert: str = ""
    tls_key: str = ""
    seed_file: str = ""

    def passive_range(self) -> range:
        low, _, high = self.ftp_passive_ports.partition("-")
        return range(int(low), int(high or low) + 1)

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir.resolve() / 'emulator.db'}"

    def user_credentials(self) -> list[tuple[str, str]]:
        """`USERNAME:APIKEY` pairs; the built-in default user when none are given."""
        if not self.users:
            return [(DEFAULT_USERNAME, DEFAULT_API_KEY)]
        pairs = []
        for entry in self.users:
            username, sep, api_key = entry.partition(":")
            if not sep or not username or not api_key:
                # The value is not repeated: without its ':' it may be a bare API key.
                raise ValueError(
                    "--user expects USERNAME:APIKEY, with neither part empty"
                )
            pairs.append((username, api_key))
        return pairs

    @property
    def uses_default_user(self) -> bool:
        return not self.users

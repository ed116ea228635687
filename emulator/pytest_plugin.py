"""pytest fixtures for code that uses the SoftLayer Transcode service.

Installed with the package and registered through the `pytest11` entry
point, so a project that installs the emulator gets these fixtures:

- `transcode_emulator_options`: options of the session's emulator (override
  it in a conftest.py to set, say, `workers` or `retention_seconds`);
- `transcode_emulator_server`: one emulator for the whole session, on free ports;
- `transcode_emulator`: the same emulator, reset to a clean state for each test
  (servers keep running; only state, files, rules and the clock are reset);
- `softlayer_transport`: "rest" (the default) or "xmlrpc";
- `softlayer_client`: the official SoftLayer client pointed at the emulator
  over that transport;
- `transcode_account`: the default user's transcode account, created;
- `transcode_ftp`: an `ftplib.FTP` logged in to that account.

To run a test over XML-RPC, override `softlayer_transport` or parametrize it:
`@pytest.mark.parametrize("softlayer_transport", ["rest", "xmlrpc"])`.
"""

from __future__ import annotations

import ftplib
import random
from typing import Any, Iterator

import pytest

from emulator.server import Emulator

TRANSPORTS = ("rest", "xmlrpc")


def _free_passive_range() -> str:
    low = random.randrange(40000, 60000, 100)
    return f"{low}-{low + 99}"


@pytest.fixture(scope="session")
def transcode_emulator_options() -> dict[str, Any]:
    """Extra `Emulator` options for the session's emulator; empty by default."""
    return {}


@pytest.fixture(scope="session")
def transcode_emulator_server(
    tmp_path_factory: pytest.TempPathFactory, transcode_emulator_options: dict[str, Any]
) -> Iterator[Emulator]:
    options: dict[str, Any] = {
        "host": "127.0.0.1",
        "api_port": 0,
        "ftp_port": 0,
        "ftp_passive_ports": _free_passive_range(),
        "data_dir": tmp_path_factory.mktemp("transcode-emulator"),
        **transcode_emulator_options,
    }
    emulator = Emulator(**options)
    emulator.start()
    yield emulator
    emulator.stop(grace=2)


@pytest.fixture
def transcode_emulator(transcode_emulator_server: Emulator) -> Emulator:
    transcode_emulator_server.reset()
    return transcode_emulator_server


@pytest.fixture
def softlayer_transport() -> str:
    """Override (or parametrize) with "xmlrpc" to get an XML-RPC `softlayer_client`."""
    return "rest"


@pytest.fixture
def softlayer_client(transcode_emulator: Emulator, softlayer_transport: str):
    if softlayer_transport not in TRANSPORTS:
        raise pytest.UsageError(
            f"softlayer_transport must be 'rest' or 'xmlrpc', not {softlayer_transport!r}"
        )
    return transcode_emulator.softlayer_client(softlayer_transport)


@pytest.fixture
def transcode_account(softlayer_client) -> dict:
    """The caller's transcode account (`id`, `accountId`...), freshly created."""
    softlayer_client.call("SoftLayer_Network_Media_Transcode_Account", "createTranscodeAccount")
    return softlayer_client.call("SoftLayer_Account", "getTranscodeAccounts")[0]


@pytest.fixture
def transcode_ftp(softlayer_client, transcode_account) -> Iterator[ftplib.FTP]:
    """A stock FTP client logged in to `transcode_account`, in its home (/in and /out)."""
    attributes = softlayer_client.call(
        "SoftLayer_Network_Media_Transcode_Account", "getFtpAttributes",
        id=transcode_account["id"],
    )
    ftp = ftplib.FTP()
    ftp.connect(attributes["host"], attributes["port"], timeout=30)
    ftp.login(attributes["username"], attributes["password"])
    yield ftp
    try:
        ftp.quit()
    except (OSError, EOFError, ftplib.Error):
        ftp.close()

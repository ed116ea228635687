"""pytest fixtures for code that uses the SoftLayer Transcode service.

Installed with the package and registered through the `pytest11` entry
point, so a project that installs the emulator gets these fixtures:

- `transcode_emulator_server`: one emulator for the whole session, on free ports;
- `transcode_emulator`: the same emulator, reset to a clean state for each test;
- `softlayer_client`: the official SoftLayer client pointed at it (REST; set
  `softlayer_transport` to "xmlrpc" for XML-RPC);
- `transcode_account`: the default user's transcode account, created;
- `transcode_ftp`: an ftplib.FTP logged in to that account.
"""

from __future__ import annotations

import ftplib
import random
from typing import Iterator

import pytest

from emulator.server import Emulator


@pytest.fixture(scope="session")
def transcode_emulator_server(tmp_path_factory) -> Iterator[Emulator]:
    low = random.randrange(40000, 60000, 100)
    emulator = Emulator(
        host="127.0.0.1",
        api_port=0,
        ftp_port=0,
        ftp_passive_ports=f"{low}-{low + 99}",
        data_dir=tmp_path_factory.mktemp("transcode-emulator"),
    )
    emulator.start()
    yield emulator
    emulator.stop(grace=2)


@pytest.fixture
def transcode_emulator(transcode_emulator_server: Emulator) -> Emulator:
    transcode_emulator_server.reset()
    return transcode_emulator_server


@pytest.fixture
def softlayer_transport() -> str:
    """Override to "xmlrpc" to get an XML-RPC client from `softlayer_client`."""
    return "rest"


@pytest.fixture
def softlayer_client(transcode_emulator: Emulator, softlayer_transport: str):
    import SoftLayer

    url = transcode_emulator.rest_url if softlayer_transport == "rest" else transcode_emulator.xmlrpc_url
    return SoftLayer.create_client_from_env(
        username=transcode_emulator.username,
        api_key=transcode_emulator.api_key,
        endpoint_url=url,
    )


@pytest.fixture
def transcode_account(softlayer_client) -> dict:
    """The caller's transcode account (`id`, `accountId`...), freshly created."""
    softlayer_client.call("SoftLayer_Network_Media_Transcode_Account", "createTranscodeAccount")
    return softlayer_client.call("SoftLayer_Account", "getTranscodeAccounts")[0]


@pytest.fixture
def transcode_ftp(softlayer_client, transcode_account) -> Iterator[ftplib.FTP]:
    attributes = softlayer_client.call(
        "SoftLayer_Network_Media_Transcode_Account", "getFtpAttributes", id=transcode_account["id"]
    )
    ftp = ftplib.FTP()
    ftp.connect(attributes["host"], attributes["port"], timeout=30)
    ftp.login(attributes["username"], attributes["password"])
    yield ftp
    try:
        ftp.quit()
    except (OSError, EOFError, ftplib.Error):
        ftp.close()

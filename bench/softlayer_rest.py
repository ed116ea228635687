"""A small SoftLayer REST client for setting the benchmarks up."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import httpx

JOB = "SoftLayer_Network_Media_Transcode_Job"
TRANSCODE_ACCOUNT = "SoftLayer_Network_Media_Transcode_Account"


@dataclass
class TranscodeUser:
    """A user of the emulator with its transcode account and FTP login."""

    username: str
    api_key: str
    transcode_account_id: int = 0
    ftp_username: str = ""
    ftp_password: str = ""


@dataclass
class SoftLayerRest:
    rest_url: str
    username: str
    api_key: str
    client: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        self.client = httpx.Client(auth=(self.username, self.api_key), timeout=60.0)

    def call(
        self,
        service: str,
        method: str,
        *parameters: Any,
        id: int | None = None,
        mask: str | None = None,
        object_filter: dict | None = None,
        limit: tuple[int, int] | None = None,
    ) -> Any:
        url = self.rest_url + service + (f"/{id}" if id is not None else "") + f"/{method}.json"
        query: dict[str, str] = {}
        if mask:
            query["objectMask"] = mask
        if object_filter is not None:
            query["objectFilter"] = json.dumps(object_filter)
        if limit is not None:
            query["resultLimit"] = f"{limit[0]},{limit[1]}"
        if parameters:
            response = self.client.post(url, params=query, json={"parameters": list(parameters)})
        else:
            response = self.client.get(url, params=query)
        if response.status_code != 200:
            raise RuntimeError(
                f"{service}::{method} answered {response.status_code}: {response.text}"
            )
        return response.json()

    def close(self) -> None:
        self.client.close()


def open_transcode_account(rest_url: str, username: str, api_key: str) -> TranscodeUser:
    """Create the user's transcode account and read its FTP login."""
    api = SoftLayerRest(rest_url, username, api_key)
    try:
        api.call(TRANSCODE_ACCOUNT, "createTranscodeAccount")
        transcode_id = api.call("SoftLayer_Account", "getTranscodeAccounts")[0]["id"]
        ftp = api.call(TRANSCODE_ACCOUNT, "getFtpAttributes", id=transcode_id)
    finally:
        api.close()
    return TranscodeUser(username, api_key, transcode_id, ftp["username"], ftp["password"])

"""The dashboard's pages over plain HTTP: what they list, that they escape
what clients wrote, and that an admin token guards them."""

from __future__ import annotations

import re

import httpx
import pytest

from emulator.server import Emulator

HOURS = 3600
HOSTILE_NAME = '<img src=x onerror="document.title=1">.wmv'


@pytest.fixture
def dashboard(transcode_emulator: Emulator):
    with httpx.Client(base_url=transcode_emulator.control_url, timeout=60) as client:
        yield client


def seed_files(emulator: Emulator) -> dict:
    return emulator.seed({"users": [{
        "username": "dana",
        "apiKey": "dana-key",
        "transcodeAccount": True,
        "files": {
            "/in/" + HOSTILE_NAME: {"text": "x" * 2048},
            "/in/old.wmv": {"text": "0123456789abcdef", "ageSeconds": 70 * HOURS},
        },
    }]})


def test_files_show_size_age_and_time_left_before_deletion(transcode_emulator, dashboard):
    seed_files(transcode_emulator)

    page = dashboard.get("parts/files").text

    row = next(r for r in re.findall(r"<tr>(.*?)</tr>", page, re.S) if "/in/old.wmv" in r)
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
    assert cells == ["SLT2-1", "/in/old.wmv", "16 bytes", "2 d 22 h", "1 h 59 min", "retention"]
    assert "2.0 KiB" in page

    transcode_emulator.advance_clock(1 * HOURS)
    later = dashboard.get("parts/files").text
    assert re.search(r"/in/old\.wmv.*?59 min \d+ s", later, re.S)
    assert "(clock advanced by 3600 s)" in dashboard.get("").text


def test_names_written_by_clients_are_escaped(transcode_emulator, dashboard):
    seed_files(transcode_emulator)
    client = transcode_emulator.softlayer_client(credentials=("dana", "dana-key"))
    transcode_emulator.hold_jobs()
    account_id = client.call("SoftLayer_Account", "getTranscodeAccounts")[0]["id"]
    presets = client.call("SoftLayer_Network_Media_Transcode_Account", "getPresets", id=account_id)
    client.call("SoftLayer_Network_Media_Transcode_Job", "createObject", {
        "name": "<script>document.title=2</script>",
        "transcodePresetName": presets[0]["name"],
        "transcodePresetGuid": presets[0]["GUID"],
        "inputFile": "/in/" + HOSTILE_NAME,
        "outputFile": "/out/x",
    })

    page = dashboard.get("").text
    job_page = dashboard.get("jobs/1").text

    for html in (page, job_page):
        assert "<script>document" not in html
        assert "<img src=x" not in html
        assert "&lt;img src=x onerror=&#34;document.title=1&#34;&gt;.wmv" in html
    assert "&lt;script&gt;document.title=2&lt;/script&gt;" in page


def test_pages_forbid_inline_script_and_framing(dashboard):
    response = dashboard.get("")

    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "<script>" not in response.text


def test_the_preset_search_finds_by_name_guid_and_format(transcode_emulator, dashboard):
    catalog = transcode_emulator.backend.catalog.presets
    flv = next(p for p in catalog if p.extension == "flv")

    by_format = dashboard.get("presets", params={"q": "flv"}).text
    by_guid = dashboard.get("presets", params={"q": flv.guid.lower()}).text
    nothing = dashboard.get("presets", params={"q": "no-such-preset"}).text

    expected = sum(1 for p in catalog if "flv" in " ".join(
        (p.name, p.guid, p.category, p.description, p.extension)).lower())
    assert by_format.count("<tr data-search=") == expected
    assert f"{expected} of {len(catalog)}" in by_format
    assert flv.name in by_guid and by_guid.count("<tr data-search=") == 1
    assert nothing.count("<tr data-search=") == 0


def test_the_dashboard_lists_accounts_without_api_keys(transcode_emulator, dashboard):
    seed_files(transcode_emulator)

    page = dashboard.get("parts/accounts").text

    assert "dana" in page and "SL-TRANSCODE" in page and "SLT2-1" in page
    assert "dana-key" not in page
    assert transcode_emulator.api_key not in page


@pytest.fixture(scope="module")
def guarded(tmp_path_factory):
    with Emulator(
        api_port=0, ftp=False, workers=0, admin_token="dash-token-1",
        data_dir=tmp_path_factory.mktemp("guarded-dashboard"),
    ) as emulator:
        yield emulator


def test_signing_in_with_the_admin_token_opens_the_dashboard(guarded):
    with httpx.Client(base_url=guarded.control_url, timeout=30) as browser:
        closed = browser.get("")
        wrong = browser.post("login", data={"token": "nope"})
        assert browser.cookies.get("transcode_emulator_session") is None
        signed_in = browser.post("login", data={"token": "dash-token-1"}, follow_redirects=True)
        cookie = browser.cookies.get("transcode_emulator_session")
        part = browser.get("parts/jobs")
        signed_out = browser.post("logout", follow_redirects=True)

    assert closed.status_code == 401 and "Admin token required" in closed.text
    assert wrong.status_code == 401 and "That token is not right." in wrong.text
    assert signed_in.status_code == 200 and "<h2>Jobs</h2>" in signed_in.text
    assert part.status_code == 200
    assert cookie and "dash-token-1" not in cookie
    assert "Sign out" in signed_in.text
    assert signed_out.status_code == 401 and "Admin token required" in signed_out.text

"""The dashboard in a real headless Chromium (Debian's package, driven by
Playwright): a job turns Complete on the open page, and a screenshot of it is
written to test-output/."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest

from emulator.server import Emulator
from tests.media import make_clip

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
TEST_OUTPUT = Path(__file__).resolve().parent.parent / "test-output"
JOB = "SoftLayer_Network_Media_Transcode_Job"
ACCOUNT = "SoftLayer_Network_Media_Transcode_Account"
MP4 = "MP4 H.264 640x360 1Mbps 30fps AAC"
HOSTILE_NAME = '<img src=x onerror="document.title=1">.txt'
WAIT_MS = 120_000

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="Debian's chromium is not installed at /usr/bin/chromium "
    "(scripts/install-test-deps installs it)",
)


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    yield page
    context.close()


def test_a_job_turns_complete_on_the_open_dashboard(
    page, transcode_emulator, softlayer_client, transcode_account, transcode_ftp, tmp_path
):
    clip = make_clip(tmp_path / "clip.wmv", seconds=0.5, size="160x120", rate=15)
    transcode_ftp.storbinary("STOR /in/clip.wmv", io.BytesIO(clip.read_bytes()))
    transcode_ftp.storbinary(f"STOR /in/{HOSTILE_NAME}", io.BytesIO(b"not media"))
    transcode_emulator.hold_jobs()
    presets = softlayer_client.call(ACCOUNT, "getPresets", id=transcode_account["id"])
    guid = next(p["GUID"] for p in presets if p["name"] == MP4)
    job = softlayer_client.call(JOB, "createObject", {
        "name": "Birthday clip", "transcodePresetName": MP4, "transcodePresetGuid": guid,
        "inputFile": "/in/clip.wmv", "outputFile": "/out/birthday",
    })
    status = page.locator(f'tr[data-job-id="{job["id"]}"] td[data-status]')
    progress = page.locator(f'tr[data-job-id="{job["id"]}"] progress')

    page.goto(transcode_emulator.dashboard_url)
    page.wait_for_function(
        "s => document.querySelector(s)?.textContent.trim() === 'Pending'",
        arg=f'tr[data-job-id="{job["id"]}"] td[data-status]', timeout=WAIT_MS,
    )
    transcode_emulator.release_jobs()
    page.wait_for_function(
        "s => document.querySelector(s)?.textContent.trim() === 'Complete'",
        arg=f'tr[data-job-id="{job["id"]}"] td[data-status]', timeout=WAIT_MS,
    )
    page.wait_for_function(
        "() => document.querySelector('#files').textContent.includes('/out/birthday.mp4')",
        timeout=WAIT_MS,
    )

    TEST_OUTPUT.mkdir(exist_ok=True)
    screenshot = TEST_OUTPUT / "dashboard.png"
    page.screenshot(path=str(screenshot), full_page=True)

    assert status.text_content().strip() == "Complete"
    assert progress.get_attribute("value") == "100"
    assert page.locator("#files").inner_text().count("/in/" + HOSTILE_NAME) == 1
    assert page.title() == "Transcode emulator"
    assert page.locator("#notifications").inner_text().count("is Complete") == 1
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_job_page_shows_its_history(page, transcode_emulator, transcode_account):
    transcode_emulator.hold_jobs()
    transcode_emulator.seed({"users": [{
        "username": transcode_emulator.username, "apiKey": transcode_emulator.api_key,
        "files": {"/in/tone.txt": {"text": "not media at all"}},
    }]})
    transcode_emulator.fail_jobs(message="Forced for the dashboard.")
    client = transcode_emulator.softlayer_client()
    presets = client.call(ACCOUNT, "getPresets", id=transcode_account["id"])
    job = client.call(JOB, "createObject", {
        "transcodePresetName": presets[0]["name"], "transcodePresetGuid": presets[0]["GUID"],
        "inputFile": "/in/tone.txt", "outputFile": "/out/tone",
    })

    page.goto(f"{transcode_emulator.dashboard_url}jobs/{job['id']}")
    transcode_emulator.release_jobs()
    page.wait_for_function(
        "() => document.querySelector('dd[data-status]')?.textContent.trim() === 'Error'",
        timeout=WAIT_MS,
    )

    notes = page.locator("table.history td.note").all_inner_texts()
    assert notes[0] == "Job created; waiting for a transcoder."
    assert notes[-1] == "Forced for the dashboard."


def test_typing_in_the_preset_search_filters_the_catalog(page, transcode_emulator):
    catalog = transcode_emulator.backend.catalog.presets

    page.goto(transcode_emulator.dashboard_url + "presets")
    page.fill("#preset-search", "flv")

    visible = page.locator("#presets tbody tr:visible").all_inner_texts()
    expected = [p.name for p in catalog if "flv" in " ".join(
        (p.name, p.guid, p.category, p.description, p.extension)).lower()]
    assert len(visible) == len(expected) > 0
    assert all(any(name in row for name in expected) for row in visible)
    assert page.locator("#preset-count").inner_text() == f"{len(expected)} of {len(catalog)}"


def test_the_dashboard_asks_for_the_admin_token(page, tmp_path):
    with Emulator(api_port=0, ftp=False, workers=0, admin_token="browser-token-9",
                  data_dir=tmp_path / "data") as emulator:
        page.goto(emulator.dashboard_url)
        assert page.locator("h2").first.inner_text() == "Admin token required"

        page.fill("#token", "browser-token-9")
        page.click("button[type=submit]")
        page.wait_for_selector("#jobs", timeout=WAIT_MS)

        assert "SL-TRANSCODE (emulated)" in page.locator("#accounts").inner_text()


def test_chromium_is_the_debian_build():
    assert shutil.which("chromium") == str(CHROMIUM)

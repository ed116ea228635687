import subprocess
import time

import pytest

from emulator.transcode import find_ffmpeg

JOB = "SoftLayer_Network_Media_Transcode_Job"
ACCOUNT = "SoftLayer_Network_Media_Transcode_Account"
PRESET_NAME = "MP4 H.264 640x360 1Mbps 30fps AAC"


@pytest.fixture
def clip(tmp_path):
    """One second of test pattern, made with the ffmpeg the emulator runs."""
    path = tmp_path / "clip.wmv"
    subprocess.run(
        [find_ffmpeg(), "-loglevel", "error", "-f", "lavfi",
         "-i", "testsrc=size=160x120:rate=15:duration=1", "-c:v", "wmv2", str(path)],
        check=True,
    )
    return path


def transcode(client, account_id, input_file):
    """What the code under test does: start a job and wait for its outcome."""
    presets = client.call(ACCOUNT, "getPresets", id=account_id)
    guid = next(p["GUID"] for p in presets if p["name"] == PRESET_NAME)
    job = client.call(JOB, "createObject", {
        "transcodePresetName": PRESET_NAME,
        "transcodePresetGuid": guid,
        "inputFile": input_file,
        "outputFile": "/out/clip",
    })
    for _ in range(600):
        job = client.call(JOB, "getObject", id=job["id"],
                          mask="mask[id,outputFile,transcodeStatusName,history]")
        if job["transcodeStatusName"] in ("Complete", "Error"):
            return job
        time.sleep(0.2)
    raise TimeoutError(f"job {job['id']} did not finish")


@pytest.mark.parametrize("softlayer_transport", ["rest", "xmlrpc"])
def test_an_uploaded_clip_is_transcoded(softlayer_client, transcode_account,
                                        transcode_ftp, clip):
    with clip.open("rb") as upload:
        transcode_ftp.storbinary("STOR /in/clip.wmv", upload)

    job = transcode(softlayer_client, transcode_account["id"], "/in/clip.wmv")

    assert job["transcodeStatusName"] == "Complete"
    assert job["outputFile"] == "/out/clip.mp4"
    assert transcode_ftp.nlst("/out") == ["clip.mp4"]


def test_a_failed_transcode_reports_the_note(transcode_emulator, softlayer_client,
                                             transcode_account, transcode_ftp, clip):
    transcode_emulator.fail_jobs(message="Source is corrupt.")
    with clip.open("rb") as upload:
        transcode_ftp.storbinary("STOR /in/clip.wmv", upload)

    job = transcode(softlayer_client, transcode_account["id"], "/in/clip.wmv")

    assert job["transcodeStatusName"] == "Error"
    assert job["history"][-1]["publicNotes"] == "Source is corrupt."

"""The REST adapter: URL forms, HTTP verbs, XML output and service name spelling."""

from __future__ import annotations

from urllib.parse import quote
from xml.etree import ElementTree

import httpx
import pytest

from tests.seeded_jobs import F4V, JOBS, OTHER_USER, seeded, softlayer_client  # noqa: F401

ACCOUNT = "SoftLayer_Network_Media_Transcode_Account"
JOB = "SoftLayer_Network_Media_Transcode_Job"


def get(seeded, path: str, **params) -> httpx.Response:
    response = httpx.get(seeded.emulator.rest_url + path, params=params, auth=seeded.auth, timeout=60)
    assert "Traceback" not in response.text
    return response


def test_get_object_may_leave_out_the_method(seeded):
    job_id = seeded.ids[JOBS[5].name]

    short = get(seeded, f"{JOB}/{job_id}.json")
    full = get(seeded, f"{JOB}/{job_id}/getObject.json")

    assert short.status_code == full.status_code == 200
    assert short.json() == full.json()
    assert short.json()["name"] == JOBS[5].name


def test_xml_output_for_an_object_and_a_list(seeded):
    job_id = seeded.ids[JOBS[5].name]

    job = ElementTree.fromstring(get(seeded, f"{JOB}/{job_id}.xml", objectMask="mask[id,name]").content)
    history = ElementTree.fromstring(get(seeded, f"{JOB}/{job_id}/getHistory.xml").content)

    assert [(e.tag, e.text) for e in job] == [("id", str(job_id)), ("name", JOBS[5].name)]
    assert [item.find("transcodeStatusName").text for item in history] == [
        status for status, _ in JOBS[5].history
    ]


def test_service_and_method_names_are_case_insensitive(seeded):
    response = get(seeded, f"{ACCOUNT.lower()}/{seeded.transcode_account_id}/GETTRANSCODEJOBS.json",
                   resultLimit="0,1")

    assert response.status_code == 200
    assert response.headers["softlayer-total-items"] == str(len(JOBS))


def test_a_relational_property_name_stands_for_its_getter(seeded):
    by_property = get(seeded, "SoftLayer_Account/TranscodeAccounts.json")
    by_method = get(seeded, "SoftLayer_Account/getTranscodeAccounts.json")

    assert by_property.status_code == 200
    assert by_property.json() == by_method.json()
    assert [a["id"] for a in by_property.json()] == [seeded.transcode_account_id]


def test_simple_parameters_may_follow_the_method_in_the_path(seeded):
    in_path = get(seeded, f"{ACCOUNT}/{seeded.transcode_account_id}/getPresetDetail/{quote(F4V[0])}.json")
    in_body = httpx.post(
        seeded.emulator.rest_url + f"{ACCOUNT}/{seeded.transcode_account_id}/getPresetDetail.json",
        json={"parameters": [F4V[0]]}, auth=seeded.auth,
    )

    assert in_path.status_code == in_body.status_code == 200
    assert in_path.json() == in_body.json()
    assert any(e["name"] == "Frame Size" and e["defaultValue"] == "640x352" for e in in_path.json())


def test_the_v3_endpoint_answers_too(seeded):
    response = httpx.get(
        seeded.emulator.api_url + "/rest/v3/SoftLayer_Account/getCurrentUser.json", auth=seeded.auth
    )

    assert response.json()["username"] == seeded.emulator.username


def test_put_edits_an_object(seeded):
    user = get(seeded, "SoftLayer_Account/getCurrentUser.json").json()

    response = httpx.put(
        seeded.emulator.rest_url + f"SoftLayer_User_Customer/{user['id']}.json",
        json={"parameters": [{"firstName": "Ada", "lastName": "Lovelace"}]}, auth=seeded.auth,
    )

    assert (response.status_code, response.json()) == (200, True)
    edited = get(seeded, f"SoftLayer_User_Customer/{user['id']}.json").json()
    assert (edited["firstName"], edited["lastName"]) == ("Ada", "Lovelace")


@pytest.mark.parametrize("transport", ["rest", "xmlrpc"])
def test_the_official_client_edits_the_user(seeded, transport):
    client = softlayer_client(seeded, transport)
    user_id = client.call("SoftLayer_Account", "getCurrentUser")["id"]

    assert client.call("SoftLayer_User_Customer", "editObject", {"email": f"{transport}@example.com"},
                       id=user_id) is True
    assert client.call("SoftLayer_User_Customer", "getObject", id=user_id)["email"] == (
        f"{transport}@example.com"
    )


def test_delete_asks_for_delete_object_which_no_transcode_service_has(seeded):
    job_id = seeded.ids[JOBS[0].name]

    response = httpx.delete(seeded.emulator.rest_url + f"{JOB}/{job_id}.json", auth=seeded.auth)

    assert response.status_code == 500
    assert response.json() == {
        "error": 'Function ("deleteObject") is not a valid method for this service.',
        "code": "SoftLayer_Exception_Public",
    }
    assert get(seeded, f"{JOB}/{job_id}.json").status_code == 200


def test_post_without_a_method_creates_the_object(seeded):
    # The other customer has one Pending job; the caller has twelve, above the limit.
    home = seeded.emulator.backend.storage.home(seeded.other_transcode_account_id)
    (home / "in" / "posted.wmv").write_bytes(b"not really a video, but a file")

    response = httpx.post(
        seeded.emulator.rest_url + f"{JOB}.json",
        json={"parameters": [{
            "transcodePresetGuid": F4V[0], "transcodePresetName": F4V[1],
            "inputFile": "/in/posted.wmv", "outputFile": "/out/posted",
        }]},
        auth=OTHER_USER,
    )

    assert response.status_code == 200, response.text
    job = response.json()
    assert (job["inputFile"], job["transcodeStatusId"]) == ("/in/posted.wmv", 1)
    assert job["transcodeAccountId"] == seeded.other_transcode_account_id

"""Ids and numbers too large for the database, and malformed control requests,
get clear errors rather than an internal one."""

from __future__ import annotations

import json

import httpx
import pytest

JOB = "SoftLayer_Network_Media_Transcode_Job"
ACCOUNT = "SoftLayer_Network_Media_Transcode_Account"
HUGE = "99999999999999999999999"


def rest(emulator, path: str, **params) -> httpx.Response:
    auth = (emulator.username, emulator.api_key)
    return httpx.get(emulator.rest_url + path, params=params, auth=auth, timeout=30)


def test_an_id_beyond_64_bits_is_not_found(transcode_emulator, transcode_account):
    response = rest(transcode_emulator, f"{JOB}/{HUGE}.json")

    assert response.status_code == 404
    assert response.json() == {
        "error": f"Unable to find object with id of '{HUGE}'.",
        "code": "SoftLayer_Exception_ObjectNotFound",
    }


@pytest.mark.parametrize("operation", [f"> {HUGE}", int(HUGE)])
def test_a_filter_number_beyond_64_bits_is_a_filter_error(transcode_emulator, transcode_account, operation):
    job_filter = {"transcodeJobs": {"id": {"operation": operation}}}
    response = rest(
        transcode_emulator, f"{ACCOUNT}/{transcode_account['id']}/getTranscodeJobs.json",
        objectFilter=json.dumps(job_filter),
    )

    assert response.status_code == 500
    assert response.json() == {
        "error": f"Invalid object filter on 'id': '{HUGE}' is not a valid int.",
        "code": "SoftLayer_Exception_Public",
    }


def test_an_object_as_a_filter_operation_is_a_filter_error(transcode_emulator, transcode_account):
    response = rest(
        transcode_emulator, f"{ACCOUNT}/{transcode_account['id']}/getTranscodeJobs.json",
        objectFilter=json.dumps({"id": {"operation": {"x": 1}}}),
    )

    assert response.status_code == 500
    assert response.json()["error"] == (
        "Invalid object filter on 'id': operation must be a string or a number."
    )


def test_control_requests_with_bad_or_huge_ids_answer_in_the_control_format(transcode_emulator):
    base = transcode_emulator.api_url + "/_emulator"

    not_a_number = httpx.get(base + "/notifications", params={"jobId": "abc"})
    huge = httpx.get(base + "/notifications", params={"jobId": HUGE})
    huge_rule = httpx.delete(base + f"/jobs/rules/{HUGE}")

    assert not_a_number.status_code == 400
    assert not_a_number.json()["error"].startswith("Invalid request: query.jobId:")
    assert (huge.status_code, huge_rule.status_code) == (404, 404)
    assert huge.json() == {"error": "No such object: the id is out of range."}


def test_a_misspelt_steering_field_is_refused_instead_of_matching_every_job(transcode_emulator):
    response = httpx.post(transcode_emulator.api_url + "/_emulator/jobs/hold", json={"filename": "x*"})

    assert response.status_code == 400
    assert response.json()["error"].startswith("unknown field 'filename' in a hold rule")
    assert transcode_emulator.rules() == []

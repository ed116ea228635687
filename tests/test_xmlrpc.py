"""The XML-RPC adapter: SoftLayer's headers struct, auth, faults and nil-free answers."""

from __future__ import annotations

import xmlrpc.client

import httpx
import pytest
import SoftLayer

from emulator.types import SERVICE_TIMEZONE
from tests.seeded_jobs import JOBS, seeded, softlayer_client  # noqa: F401

ACCOUNT = "SoftLayer_Network_Media_Transcode_Account"
JOB = "SoftLayer_Network_Media_Transcode_Job"


def call(seeded, service: str, method: str, *params, prefix: str = "/xmlrpc/v3.1/", **headers):
    username, api_key = seeded.auth
    struct = {"headers": {"authenticate": {"username": username, "apiKey": api_key}, **headers}}
    body = xmlrpc.client.dumps((struct, *params), methodname=method, allow_none=True)
    response = httpx.post(seeded.emulator.api_url + prefix + service, content=body.encode(), timeout=60)
    assert response.status_code == 200
    (result,), _ = xmlrpc.client.loads(response.content)
    return result, response


def test_every_header_of_the_struct_is_honoured(seeded):
    complete = sorted(j.name for j in JOBS if j.status == "Complete")

    jobs, response = call(
        seeded, ACCOUNT, "getTranscodeJobs",
        **{
            f"{ACCOUNT}InitParameters": {"id": seeded.transcode_account_id},
            "SoftLayer_ObjectMask": {"mask": "mask[name,transcodeStatus.name]"},
            f"{ACCOUNT}ObjectFilter": {"transcodeJobs": {
                "transcodeStatusName": {"operation": "Complete"},
                "name": {"operation": "orderBy", "options": [{"name": "sort", "value": ["DESC"]}]},
            }},
            "resultLimit": {"limit": 3, "offset": 1},
        },
    )

    assert jobs == [
        {"name": name, "transcodeStatus": {"name": "Complete"}} for name in complete[::-1][1:4]
    ]
    assert response.headers["softlayer-total-items"] == "12"


def test_a_service_specific_mask_header_works_like_the_generic_one(seeded):
    job_id = seeded.ids[JOBS[4].name]

    job, _ = call(
        seeded, JOB, "getObject",
        **{f"{JOB}InitParameters": {"id": job_id}, f"{JOB}ObjectMask": {"mask": "mask[id,historyCount]"}},
    )

    assert job == {"id": job_id, "historyCount": len(JOBS[4].history)}


def test_unset_properties_are_left_out_rather_than_sent_as_nil(seeded):
    unset = next(j for j in JOBS if j.auto_delete_duration is None)

    job, response = call(
        seeded, JOB, "getObject", **{f"{JOB}InitParameters": {"id": seeded.ids[unset.name]}}
    )

    assert "<nil" not in response.text
    assert "autoDeleteDuration" not in job
    assert job["byteIn"] == unset.byte_in
    assert job["createDate"] == unset.create_date.astimezone(SERVICE_TIMEZONE).isoformat()


def test_service_and_header_names_are_case_insensitive(seeded):
    lower = ACCOUNT.lower()

    account, _ = call(
        seeded, lower, "GETOBJECT", **{f"{lower}InitParameters": {"id": seeded.transcode_account_id}}
    )

    assert account["id"] == seeded.transcode_account_id


def test_the_v3_endpoint_answers_too(seeded):
    statuses, _ = call(seeded, "SoftLayer_Network_Media_Transcode_Job_Status", "getAllStatuses",
                       prefix="/xmlrpc/v3/")

    assert [s["name"] for s in statuses] == ["Pending", "Processing", "Complete", "Error", "Deleted"]


def test_a_missing_object_is_a_fault_named_after_its_class(seeded):
    client = softlayer_client(seeded, "xmlrpc")

    with pytest.raises(SoftLayer.SoftLayerAPIError) as fault:
        client.call(JOB, "getObject", id=987654)

    assert fault.value.faultCode == "SoftLayer_Exception_ObjectNotFound"
    assert fault.value.faultString == "Unable to find object with id of '987654'."


def test_another_customers_job_is_not_found(seeded):
    client = softlayer_client(seeded, "xmlrpc")

    with pytest.raises(SoftLayer.SoftLayerAPIError) as fault:
        client.call(ACCOUNT, "getTranscodeJobs", id=seeded.other_transcode_account_id)

    assert fault.value.faultCode == "SoftLayer_Exception_ObjectNotFound"
    assert fault.value.faultString == (
        f"Unable to find object with id of '{seeded.other_transcode_account_id}'."
    )


def test_an_api_key_alone_authenticates_as_the_apikey_user(seeded):
    emulator = seeded.emulator
    client = SoftLayer.create_client_from_env(
        username="apikey", api_key=emulator.api_key, endpoint_url=emulator.xmlrpc_url
    )
    assert client.call("SoftLayer_Account", "getCurrentUser")["username"] == emulator.username

    wrong = SoftLayer.create_client_from_env(
        username="apikey", api_key="not-a-key", endpoint_url=emulator.xmlrpc_url
    )
    with pytest.raises(SoftLayer.SoftLayerAPIError) as fault:
        wrong.call("SoftLayer_Account", "getCurrentUser")
    assert fault.value.faultCode == "SoftLayer_Exception_InvalidLegacyToken"

"""Object masks over the seeded jobs: every form, nesting, and unknown properties."""

from __future__ import annotations

import pytest
import SoftLayer

from tests.seeded_jobs import JOBS, rest, seeded, softlayer_client  # noqa: F401

ACCOUNT = "SoftLayer_Network_Media_Transcode_Account"
JOB = "SoftLayer_Network_Media_Transcode_Job"
JOB_LOCAL = {
    "id", "transcodeAccountId", "userId", "name", "inputFile", "outputFile",
    "transcodePresetGuid", "transcodePresetName", "transcodeJobGuid",
    "transcodeStatusId", "byteIn", "autoDeleteDuration", "createDate", "modifyDate",
}
BY_NAME = {job.name: job for job in JOBS}


def jobs_with(seeded, mask: str | None) -> list[dict]:
    query = {"objectMask": mask} if mask is not None else {}
    status, body, _ = rest(seeded, f"{ACCOUNT}/{seeded.transcode_account_id}/getTranscodeJobs", **query)
    assert status == 200, body
    assert len(body) == len(JOBS)
    return body


def test_without_a_mask_a_job_has_its_local_properties_and_no_nulls(seeded):
    jobs = jobs_with(seeded, None)

    for job in jobs:
        expected = set(JOB_LOCAL)
        if BY_NAME[job["name"]].auto_delete_duration is None:
            expected.discard("autoDeleteDuration")
        assert set(job) == expected
    sample = next(j for j in jobs if j["name"] == JOBS[7].name)
    assert sample["byteIn"] == 8000
    assert sample["autoDeleteDuration"] == 420
    assert sample["transcodeStatusId"] == 3
    assert sample["createDate"] == "2026-03-01T19:00:00-06:00"


def test_a_lone_mask_root_means_the_whole_object(seeded):
    assert jobs_with(seeded, "mask") == jobs_with(seeded, None)


@pytest.mark.parametrize(
    "mask",
    [
        "mask[id,name]",
        "mask.id,mask.name",
        "[id,name]",
        "[mask.id,mask.name]",
        "filteredMask[id,name]",
        "id;name",
        "id,name",
        "mask(SoftLayer_Network_Media_Transcode_Job)[id,name]",
        "  mask [\n  id ,\n  name\n ]  ",
    ],
)
def test_every_mask_form_selects_the_same_local_properties(seeded, mask):
    jobs = jobs_with(seeded, mask)

    assert all(set(job) == {"id", "name"} for job in jobs)
    assert {job["name"]: job["id"] for job in jobs} == seeded.ids


def test_a_relational_property_comes_with_every_local_property(seeded):
    jobs = jobs_with(seeded, "mask.transcodeStatus")

    for job in jobs:
        spec = BY_NAME[job["name"]]
        assert JOB_LOCAL - {"autoDeleteDuration"} <= set(job)
        assert job["transcodeStatus"]["name"] == spec.status
        assert job["transcodeStatus"]["id"] == spec.status_id
        assert set(job["transcodeStatus"]) == {"id", "name", "description"}


def test_a_dotted_path_selects_local_properties_of_the_nested_object(seeded):
    jobs = jobs_with(seeded, "mask[id,transcodeStatus.name,history.transcodeStatusName]")

    for job in jobs:
        spec = jobs_by_id(seeded)[job["id"]]
        assert set(job) == {"id", "transcodeStatus", "history"}
        assert job["transcodeStatus"] == {"name": spec.status}
        assert job["history"] == [{"transcodeStatusName": s} for s, _ in spec.history]


def test_old_semicolon_form_reaches_nested_properties(seeded):
    jobs = jobs_with(seeded, "name;history.publicNotes;transcodeStatusName")

    for job in jobs:
        spec = BY_NAME[job["name"]]
        assert set(job) == {"name", "history", "transcodeStatusName"}
        assert job["transcodeStatusName"] == spec.status
        assert job["history"] == [{"publicNotes": notes} for _, notes in spec.history]


def test_computed_relational_properties(seeded):
    jobs = jobs_with(seeded, "mask[name,transcodeStatusName,historyCount]")

    for job in jobs:
        spec = BY_NAME[job["name"]]
        assert job == {
            "name": spec.name,
            "transcodeStatusName": spec.status,
            "historyCount": len(spec.history),
        }


def test_nested_relational_properties_from_the_account_three_levels_deep(seeded):
    mask = "mask[id,transcodeAccounts[id,transcodeJobCount,transcodeJobs[name,history,transcodeStatus]]]"
    status, account, _ = rest(seeded, "SoftLayer_Account/getObject", objectMask=mask)

    assert status == 200, account
    assert set(account) == {"id", "transcodeAccounts"}
    (transcode_account,) = account["transcodeAccounts"]
    assert transcode_account["id"] == seeded.transcode_account_id
    assert transcode_account["transcodeJobCount"] == len(JOBS)
    jobs = transcode_account["transcodeJobs"]
    assert sorted(j["name"] for j in jobs) == sorted(BY_NAME)
    for job in jobs:
        spec = BY_NAME[job["name"]]
        assert set(job) == {"name", "history", "transcodeStatus"}
        assert job["transcodeStatus"]["name"] == spec.status
        assert [(h["transcodeStatusName"], h["publicNotes"]) for h in job["history"]] == list(
            spec.history
        )
        assert all(h["createDate"].endswith("-06:00") for h in job["history"])


def test_a_single_object_takes_a_mask_too(seeded):
    spec = JOBS[9]
    job_id = seeded.ids[spec.name]
    status, job, _ = rest(
        seeded, f"{JOB}/{job_id}/getObject",
        objectMask="mask[id,transcodeAccount[id],transcodeStatus[name],user.username]",
    )

    assert status == 200, job
    assert job == {
        "id": job_id,
        "transcodeAccount": {"id": seeded.transcode_account_id},
        "transcodeStatus": {"name": spec.status},
        "user": {"username": seeded.emulator.username},
    }


@pytest.mark.parametrize("transport", ["rest", "xmlrpc"])
def test_both_transports_of_the_official_client_apply_a_mask_alike(seeded, transport):
    client = softlayer_client(seeded, transport)

    jobs = client.call(
        ACCOUNT, "getTranscodeJobs", id=seeded.transcode_account_id,
        mask="id,name,transcodeStatus[name],history[transcodeStatusName]",
    )

    assert len(jobs) == len(JOBS)
    for job in jobs:
        spec = BY_NAME[job["name"]]
        assert job["transcodeStatus"] == {"name": spec.status}
        assert [h["transcodeStatusName"] for h in job["history"]] == [s for s, _ in spec.history]


def test_the_old_struct_mask_over_xmlrpc(seeded):
    client = softlayer_client(seeded, "xmlrpc")
    job_id = seeded.ids[JOBS[3].name]

    job = client.call(JOB, "getObject", id=job_id, mask={"id": "", "transcodeStatus": {"name": ""}})

    assert job == {"id": job_id, "transcodeStatus": {"name": JOBS[3].status}}


@pytest.mark.parametrize(
    ("mask", "message"),
    [
        ("mask[id,bogus]",
         "Property 'bogus' not valid for 'SoftLayer_Network_Media_Transcode_Job'."),
        ("mask[history[bogusNote]]",
         "Property 'bogusNote' not valid for 'SoftLayer_Network_Media_Transcode_Job_History'."),
        ("mask.transcodeAccount.account.bogusCompany",
         "Property 'bogusCompany' not valid for 'SoftLayer_Account'."),
    ],
)
def test_an_unknown_property_is_a_softlayer_error_naming_it(seeded, mask, message):
    status, body, _ = rest(seeded, f"{ACCOUNT}/{seeded.transcode_account_id}/getTranscodeJobs",
                           objectMask=mask)
    assert (status, body) == (500, {"error": message, "code": "SoftLayer_Exception_Public"})

    client = softlayer_client(seeded, "xmlrpc")
    with pytest.raises(SoftLayer.SoftLayerAPIError) as fault:
        client.call(ACCOUNT, "getTranscodeJobs", id=seeded.transcode_account_id, mask=mask)
    assert (fault.value.faultCode, fault.value.faultString) == ("SoftLayer_Exception_Public", message)


def test_an_unknown_nested_property_is_refused_even_when_nothing_would_be_shown(seeded):
    # The filter matches no job, so no history would be serialised: the mask
    # is checked against the types before the call.
    status, body, _ = rest(
        seeded, f"{ACCOUNT}/{seeded.transcode_account_id}/getTranscodeJobs",
        objectMask="mask[history[nope]]",
        objectFilter={"transcodeJobs": {"name": {"operation": "no such job"}}},
    )

    assert status == 500
    assert body["error"] == (
        "Property 'nope' not valid for 'SoftLayer_Network_Media_Transcode_Job_History'."
    )


@pytest.mark.parametrize("mask", ["mask[id", "mask[]", "mask[id]]", "mask[a..b]", "[id,]", "mask{id}"])
def test_an_unparseable_mask_is_a_mask_error(seeded, mask):
    status, body, _ = rest(seeded, "SoftLayer_Account/getObject", objectMask=mask)

    assert status == 500
    assert body["code"] == "SoftLayer_Exception_WebService_Mask"
    assert body["error"].startswith("Unable to parse object mask")


def jobs_by_id(seeded) -> dict[int, object]:
    return {seeded.ids[name]: job for name, job in BY_NAME.items()}

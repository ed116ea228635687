"""Result limits: pages cut after filtering and ordering, the total in a header."""

from __future__ import annotations

import pytest

from tests.seeded_jobs import JOBS, names, rest, seeded, softlayer_client  # noqa: F401

ACCOUNT = "SoftLayer_Network_Media_Transcode_Account"
JOB = "SoftLayer_Network_Media_Transcode_Job"
COMPLETE_BY_NAME = {
    "transcodeJobs": {
        "transcodeStatusName": {"operation": "Complete"},
        "name": {"operation": "orderBy", "options": [{"name": "sort", "value": ["ASC"]}]},
    }
}
COMPLETE_NAMES = sorted(j.name for j in JOBS if j.status == "Complete")


def page(seeded, result_limit: str, job_filter=COMPLETE_BY_NAME) -> tuple[list[str], int]:
    status, body, headers = rest(
        seeded, f"{ACCOUNT}/{seeded.transcode_account_id}/getTranscodeJobs",
        objectFilter=job_filter, objectMask="mask[name]", resultLimit=result_limit,
    )
    assert status == 200, body
    return [job["name"] for job in body], int(headers["softlayer-total-items"])


@pytest.mark.parametrize(
    ("result_limit", "start", "stop"),
    [("0,5", 0, 5), ("5,5", 5, 10), ("10,5", 10, 15), ("3,100", 3, None), ("12,5", 12, 12),
     ("40,5", 40, 40), ("4", 0, 4), ("7,0", 7, None)],
)
def test_a_rest_page_is_cut_after_filtering_and_ordering(seeded, result_limit, start, stop):
    jobs, total = page(seeded, result_limit)

    assert jobs == COMPLETE_NAMES[start:stop]
    assert total == len(COMPLETE_NAMES) == 12


def test_pages_of_the_unfiltered_list_cover_every_job_once(seeded):
    seen: list[str] = []
    for offset in range(0, 70, 7):
        jobs, total = page(seeded, f"{offset},7", job_filter={})
        assert total == len(JOBS)
        seen += jobs

    assert seen == sorted(names(JOBS), key=lambda name: seeded.ids[name])


@pytest.mark.parametrize("transport", ["rest", "xmlrpc"])
def test_the_official_client_pages_with_limit_and_offset(seeded, transport):
    client = softlayer_client(seeded, transport)

    jobs = client.call(
        ACCOUNT, "getTranscodeJobs", id=seeded.transcode_account_id, mask="mask[name]",
        filter=COMPLETE_BY_NAME, limit=4, offset=6,
    )

    assert [j["name"] for j in jobs] == COMPLETE_NAMES[6:10]
    assert jobs.total_count == 12


@pytest.mark.parametrize("transport", ["rest", "xmlrpc"])
def test_the_official_clients_iterator_walks_every_page(seeded, transport):
    client = softlayer_client(seeded, transport)

    jobs = client.call(
        ACCOUNT, "getTranscodeJobs", id=seeded.transcode_account_id, mask="mask[name]",
        iter=True, limit=9,
    )

    assert [j["name"] for j in jobs] == sorted(names(JOBS), key=lambda n: seeded.ids[n])


def test_every_list_carries_its_total_even_without_a_limit(seeded):
    status, statuses, headers = rest(seeded, "SoftLayer_Network_Media_Transcode_Job_Status/getAllStatuses")

    assert status == 200
    assert [s["name"] for s in statuses] == ["Pending", "Processing", "Complete", "Error", "Deleted"]
    assert headers["softlayer-total-items"] == "5"


def test_a_list_built_in_memory_is_paged_the_same_way(seeded):
    path = f"{ACCOUNT}/{seeded.transcode_account_id}/getPresets"
    _, every, headers = rest(seeded, path, objectMask="mask[GUID]")
    _, second_page, page_headers = rest(seeded, path, objectMask="mask[GUID]", resultLimit="2,3")

    assert second_page == every[2:5]
    assert headers["softlayer-total-items"] == page_headers["softlayer-total-items"]
    assert int(headers["softlayer-total-items"]) == len(every) >= 5


def test_a_job_history_is_paged(seeded):
    deleted = next(j for j in JOBS if j.status == "Deleted")
    status, history, headers = rest(
        seeded, f"{JOB}/{seeded.ids[deleted.name]}/getHistory", resultLimit="1,2"
    )

    assert status == 200
    assert [h["transcodeStatusName"] for h in history] == ["Processing", "Complete"]
    assert headers["softlayer-total-items"] == "4"


def test_a_single_object_ignores_a_result_limit(seeded):
    job_id = seeded.ids[JOBS[0].name]
    status, job, headers = rest(seeded, f"{JOB}/{job_id}/getObject", resultLimit="5,1")

    assert status == 200
    assert job["name"] == JOBS[0].name
    assert "softlayer-total-items" not in headers

"""Object filters over the seeded jobs: every operation, nested paths, ordering.

Expected answers are computed from the job descriptions in `seeded_jobs`,
so each test compares the database's answer with a plain Python one.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import SoftLayer
from sqlalchemy import event

from emulator.models import TranscodeJob
from tests.seeded_jobs import JOBS, names, rest, seeded, softlayer_client  # noqa: F401

ACCOUNT = "SoftLayer_Network_Media_Transcode_Account"
CENTRAL = timezone(timedelta(hours=-6))


def jobs_matching(seeded, job_filter: dict, wrap: bool = True, **query) -> list[str]:
    """Names of the caller's jobs the filter selects, in the order returned."""
    document = {"transcodeJobs": job_filter} if wrap else job_filter
    status, body, headers = rest(
        seeded, f"{ACCOUNT}/{seeded.transcode_account_id}/getTranscodeJobs",
        objectFilter=document, objectMask="mask[name]", **query,
    )
    assert status == 200, body
    assert int(headers["softlayer-total-items"]) >= len(body)
    return [job["name"] for job in body]


def op(operation, **options) -> dict:
    leaf: dict = {"operation": operation}
    if options:
        leaf["options"] = [{"name": k, "value": v} for k, v in options.items()]
    return leaf


def by_id(seeded, jobs) -> list[str]:
    """The default order: by id."""
    return sorted(names(jobs), key=lambda name: seeded.ids[name])


@pytest.mark.parametrize(
    ("leaf", "expected"),
    [
        ({"name": op("Wedding 02")}, lambda j: j.name == "Wedding 02"),
        ({"byteIn": op(8000)}, lambda j: j.byte_in == 8000),
        ({"byteIn": op("8000")}, lambda j: j.byte_in == 8000),
        ({"name": op("_= birthday 00")}, lambda j: j.name.lower() == "birthday 00"),
        ({"name": op("*= PARTY")}, lambda j: "party" in j.name.lower()),
        ({"name": op("*= birthday")}, lambda j: "birthday" in j.name.lower()),
        ({"name": op("^= Holiday")}, lambda j: j.name.lower().startswith("holiday")),
        ({"name": op("$= 5")}, lambda j: j.name.endswith("5")),
        ({"name": op("~ BIRTHDAY")}, lambda j: "BIRTHDAY" in j.name),
        ({"name": op("!~ a")}, lambda j: "a" not in j.name),
        ({"name": op("!*= day")}, lambda j: "day" not in j.name.lower()),
        ({"name": op("!^= w")}, lambda j: not j.name.lower().startswith("w")),
        ({"name": op("!$= 0")}, lambda j: not j.name.endswith("0")),
        ({"transcodeStatusName": op("!= Complete")}, lambda j: j.status != "Complete"),
        ({"transcodeStatusName": op("!=Complete")}, lambda j: j.status != "Complete"),
        ({"byteIn": op("> 50000")}, lambda j: j.byte_in > 50000),
        ({"byteIn": op("< 5000")}, lambda j: j.byte_in < 5000),
        ({"byteIn": op(">= 50000")}, lambda j: j.byte_in >= 50000),
        ({"byteIn": op("<= 5000")}, lambda j: j.byte_in <= 5000),
        (
            {"createDate": op("> 03/02/2026 12:00:00")},
            lambda j: j.create_date > datetime(2026, 3, 2, 12, tzinfo=CENTRAL),
        ),
        (
            {"transcodeStatusName": op("in", data=["Error", "Deleted"])},
            lambda j: j.status in ("Error", "Deleted"),
        ),
        (
            {"byteIn": op("in", data=[1000, "3000", 99])},
            lambda j: j.byte_in in (1000, 3000),
        ),
        (
            {"createDate": op("betweenDate", startDate=["03/01/2026 14:00:00"],
                              endDate=["03/01/2026 20:00:00"])},
            lambda j: datetime(2026, 3, 1, 14, tzinfo=CENTRAL)
            <= j.create_date <= datetime(2026, 3, 1, 20, tzinfo=CENTRAL),
        ),
        ({"autoDeleteDuration": op("isNull")}, lambda j: j.auto_delete_duration is None),
        ({"autoDeleteDuration": op("is null")}, lambda j: j.auto_delete_duration is None),
        ({"autoDeleteDuration": op("isNotNull")}, lambda j: j.auto_delete_duration is not None),
        ({"autoDeleteDuration": op("not null")}, lambda j: j.auto_delete_duration is not None),
        # LIKE's wildcards are plain characters in a filter.
        ({"name": op("*= 50%")}, lambda j: "50%" in j.name),
        ({"name": op("*= y_")}, lambda j: "y_" in j.name),
    ],
    ids=lambda value: str(value) if isinstance(value, dict) else "",
)
def test_each_operation_selects_exactly_the_matching_jobs(seeded, leaf, expected):
    wanted = by_id(seeded, [job for job in JOBS if expected(job)])

    assert jobs_matching(seeded, leaf) == wanted
    assert wanted or leaf == {"name": op("*= y_")}


@pytest.mark.parametrize(
    ("job_filter", "expected"),
    [
        ({"transcodeStatus": {"name": op("Error")}}, lambda j: j.status == "Error"),
        ({"transcodeStatus": {"id": op("in", data=[1, 2])}},
         lambda j: j.status in ("Pending", "Processing")),
        ({"history": {"publicNotes": op("*= invalid data")}}, lambda j: j.status == "Error"),
        ({"history": {"transcodeStatusName": op("Deleted")}}, lambda j: j.status == "Deleted"),
        ({"history": {"transcodeStatusName": op("Complete")}},
         lambda j: j.status in ("Complete", "Deleted")),
        ({"transcodeAccount": {"account": {"companyName": op("^= SL-TRANSCODE")}}},
         lambda j: True),
        ({"user": {"username": op("OTHER-CUSTOMER")}}, lambda j: False),
    ],
)
def test_nested_property_paths_reach_related_objects(seeded, job_filter, expected):
    assert jobs_matching(seeded, job_filter) == by_id(seeded, [j for j in JOBS if expected(j)])


def test_several_conditions_must_all_hold(seeded):
    job_filter = {
        "transcodeStatusName": op("Complete"),
        "name": op("^= birthday"),
        "transcodePresetGuid": op(JOBS[0].preset[0]),
    }
    wanted = [
        j for j in JOBS
        if j.status == "Complete" and j.name.lower().startswith("birthday")
        and j.preset == JOBS[0].preset
    ]

    assert jobs_matching(seeded, job_filter) == by_id(seeded, wanted)
    assert len(wanted) == 4


def test_the_short_form_without_the_relational_key_gives_the_same_jobs(seeded):
    leaf = {"transcodeStatusName": op("Complete")}

    documented = jobs_matching(seeded, leaf)
    short = jobs_matching(seeded, leaf, wrap=False)

    assert documented == short == by_id(seeded, [j for j in JOBS if j.status == "Complete"])
    assert len(short) == 12


def test_another_customers_jobs_never_match(seeded):
    # The other customer has "Birthday 00" to "graduation 03" as well.
    matched = jobs_matching(seeded, {"name": op("in", data=names(JOBS[:5]))})

    assert matched == by_id(seeded, JOBS[:5])


def test_order_by_sorts_in_the_database(seeded):
    descending = {"name": op("orderBy", sort=["DESC"])}

    assert jobs_matching(seeded, descending) == sorted(names(JOBS), reverse=True)
    assert jobs_matching(seeded, {"name": op("orderBy", sort=["ASC"])}) == sorted(names(JOBS))


def test_sort_order_sets_which_ordering_comes_first(seeded):
    status_then_size = {
        "transcodeStatusId": op("orderBy", sort=["ASC"], sortOrder=[0]),
        "byteIn": op("orderBy", sort=["DESC"], sortOrder=[1]),
    }
    size_first = {
        "transcodeStatusId": op("orderBy", sort=["ASC"], sortOrder=[1]),
        "byteIn": op("orderBy", sort=["DESC"], sortOrder=[0]),
    }

    assert jobs_matching(seeded, status_then_size) == names(
        sorted(JOBS, key=lambda j: (j.status_id, -j.byte_in))
    )
    assert jobs_matching(seeded, size_first) == names(sorted(JOBS, key=lambda j: -j.byte_in))


def test_order_by_a_relational_name_with_a_condition(seeded):
    job_filter = {
        "transcodeStatusName": op("orderBy", sort=["DESC"], sortOrder=[0]),
        "createDate": op("orderBy", sort=["ASC"], sortOrder=[1]),
        "name": op("*= o"),
    }
    wanted = [j for j in JOBS if "o" in j.name.lower()]
    wanted.sort(key=lambda j: j.create_date)
    wanted.sort(key=lambda j: j.status, reverse=True)

    assert jobs_matching(seeded, job_filter) == names(wanted)


@pytest.mark.parametrize("transport", ["rest", "xmlrpc"])
def test_the_official_client_filters_over_both_transports(seeded, transport):
    client = softlayer_client(seeded, transport)

    jobs = client.call(
        ACCOUNT, "getTranscodeJobs", id=seeded.transcode_account_id, mask="mask[name]",
        filter={"transcodeJobs": {
            "transcodeStatusName": op("in", data=["Pending", "Error"]),
            "name": op("orderBy", sort=["ASC"]),
        }},
    )

    assert [j["name"] for j in jobs] == sorted(
        j.name for j in JOBS if j.status in ("Pending", "Error")
    )


def test_filters_run_in_the_database_not_over_every_row(seeded):
    engine = seeded.emulator.backend.engine
    statements: list[str] = []
    loaded: list[int] = []

    def record(_conn, _cursor, statement, _parameters, _context, _many):
        statements.append(statement)

    def count(target, _context):
        loaded.append(target.id)

    event.listen(engine, "before_cursor_execute", record)
    event.listen(TranscodeJob, "load", count)
    try:
        matched = jobs_matching(
            seeded, {"name": op("^= birthday"), "history": {"publicNotes": op("*= 40%")}},
            resultLimit="1,2",
        )
    finally:
        event.remove(engine, "before_cursor_execute", record)
        event.remove(TranscodeJob, "load", count)

    wanted = by_id(seeded, [
        j for j in JOBS if j.name.lower().startswith("birthday") and j.status != "Pending"
    ])
    assert matched == wanted[1:3]
    assert len(loaded) == 2
    page = next(s for s in statements if "LIMIT" in s and "transcodejob" in s)
    assert "lower(transcodejob.name) LIKE" in page
    assert "transcodejobhistory.public_notes" in page


def test_a_container_list_is_filtered_too(seeded):
    client = softlayer_client(seeded, "xmlrpc")

    presets = client.call(
        ACCOUNT, "getPresets", id=seeded.transcode_account_id,
        filter={"name": op("$= 640x352 16x9 29.97fps")},
    )

    # The catalog grows; the expectation follows it rather than a fixed list.
    catalog = seeded.emulator.backend.catalog.presets
    expected = [p.name for p in catalog if p.name.lower().endswith("640x352 16x9 29.97fps")]
    assert "F4V 896kbps 640x352 16x9 29.97fps" in expected
    assert [p["name"] for p in presets] == expected


@pytest.mark.parametrize(
    ("job_filter", "message"),
    [
        ({"bogus": op("1")},
         "Property 'bogus' not valid for 'SoftLayer_Network_Media_Transcode_Job' in object filter."),
        ({"transcodeStatus": {"colour": op("red")}},
         "Property 'colour' not valid for 'SoftLayer_Network_Media_Transcode_Job_Status' "
         "in object filter."),
        ({"name": op("=> 5")}, "Invalid object filter on 'name': unknown operation '=>'."),
        ({"name": op("like", data=["x"])},
         "Invalid object filter on 'name': unknown operation 'like'."),
        ({"name": op("in")},
         "Invalid object filter on 'name': 'in' needs options [{name: 'data', value: [...]}]."),
        ({"byteIn": op("> lots")}, "Invalid object filter on 'byteIn': 'lots' is not a valid int."),
    ],
)
def test_a_filter_the_service_cannot_apply_is_a_softlayer_error(seeded, job_filter, message):
    client = softlayer_client(seeded, "xmlrpc")

    with pytest.raises(SoftLayer.SoftLayerAPIError) as fault:
        client.call(ACCOUNT, "getTranscodeJobs", id=seeded.transcode_account_id,
                    filter={"transcodeJobs": job_filter})

    assert (fault.value.faultCode, fault.value.faultString) == ("SoftLayer_Exception_Public", message)

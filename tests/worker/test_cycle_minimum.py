"""The least API calls of a cycle's work, as ``icp bench cycle`` prints them beside the calls made."""

from __future__ import annotations

from typing import Any

from worker.bench.cycle_minimum import floor_seconds, minimum_calls, salesforce_endpoint

INFO = {"crm": "salesforce", "accounts": 10_000, "deals": 7_409, "notes": 3_823, "owners": 61}


def _summary(**counts: int) -> dict[str, Any]:
    return {"written": 0, "write_failures": 0, "tasks_created": 0, "deals_written": 0, "deal_write_failures": 0,
            **counts}


def test_salesforce_accounts_in_one_bulk_job_and_few_deals_in_collections() -> None:
    """10,000 accounts need 50 collections or one Bulk API 2.0 job (four calls): the job is the minimum; 700 deal
    writes take four collections of 200, no more than a job."""
    calls = {"POST jobs/ingest": 1, "PUT jobs/ingest/{id}/batches": 1, "PATCH jobs/ingest/{id}": 1,
             "GET jobs/ingest/{id}": 2, "PATCH composite/sobjects": 4, "GET query (all pages)": 12}
    least = minimum_calls(INFO, calls, _summary(written=10_000, deals_written=700), None)
    assert least["PATCH composite/sobjects"] == 4 and least["GET jobs/ingest/{id}"] == 1
    assert least["GET query (all pages)"] == 5 + 4 + 2 + 1


def test_salesforce_few_accounts_go_in_collections() -> None:
    """Below five collections, collections are fewer calls than a bulk job, whatever the worker used."""
    calls = {"POST jobs/ingest": 1, "PUT jobs/ingest/{id}/batches": 1, "PATCH jobs/ingest/{id}": 1,
             "GET jobs/ingest/{id}": 1, "GET query (all pages)": 4}
    least = minimum_calls(INFO, calls, _summary(written=300, deals_written=10), {"accounts": 300})
    assert least["PATCH composite/sobjects"] == 2 + 1 and least["POST jobs/ingest"] == 0


def test_history_queries_are_counted_apart_and_as_made() -> None:
    """AccountHistory pages are their own endpoint, counted as made (their need is not modelled)."""
    assert salesforce_endpoint("GET query AccountHistory/{locator}") == "GET query AccountHistory (all pages)"
    assert salesforce_endpoint("GET queryAll/{locator}") == "GET query (all pages)"
    calls = {"GET query AccountHistory (all pages)": 25, "GET query (all pages)": 12}
    assert minimum_calls(INFO, calls, _summary(), None)["GET query AccountHistory (all pages)"] == 25


def test_hubspot_deal_writes_take_a_batch_per_hundred() -> None:
    """Open deals written by the cycle need one batch update per 100."""
    info = {"crm": "hubspot", "accounts": 10_000, "deals": 7_409, "notes": 3_823, "owners": 60}
    calls = {"POST /crm/v3/objects/deals/batch/update": 16, "POST /crm/v3/objects/companies/batch/update": 100}
    least = minimum_calls(info, calls, _summary(written=10_000, deals_written=1_578), None)
    assert least["POST /crm/v3/objects/deals/batch/update"] == 16
    assert least["POST /crm/v3/objects/companies/batch/update"] == 100


def test_salesforce_endpoints_already_counted_as_query_pages_stay_so() -> None:
    """Normalising twice changes nothing, and tasks upserted on the review key count as the tasks' collections."""
    assert salesforce_endpoint("GET query (all pages)") == "GET query (all pages)"
    calls = {"GET query (all pages)": 4, "PATCH composite/sobjects/Task/ICP_Review_Key__c": 1}
    least = minimum_calls(INFO, calls, _summary(tasks_created=80), {"accounts": 0})
    assert least == {"GET query (all pages)": 4, "PATCH composite/sobjects/Task/ICP_Review_Key__c": 1}


def test_salesforce_many_deals_take_a_bulk_job_of_their_own() -> None:
    """15,075 deal writes are 76 collections or one more bulk job: two jobs in all."""
    calls = {"POST jobs/ingest": 2, "PUT jobs/ingest/{id}/batches": 2, "PATCH jobs/ingest/{id}": 2,
             "GET jobs/ingest/{id}": 4, "GET query (all pages)": 110}
    least = minimum_calls(INFO, calls, _summary(written=100_000, deals_written=15_075), None)
    assert least["POST jobs/ingest"] == 2 and least["GET jobs/ingest/{id}"] == 2
    assert "PATCH composite/sobjects" not in least


def test_the_rate_limit_floor_is_that_of_a_rolling_window() -> None:
    """190 per rolling 10 s: calls 1-190 go at once, 191-380 at 10 s, 381-420 at 20 s."""
    assert floor_seconds(190, 0, 190, 5) == 0.0
    assert floor_seconds(191, 0, 190, 5) == 10.0
    assert floor_seconds(420, 0, 190, 5) == 20.0
    assert floor_seconds(0, 0, 190, 5) == 0.0
    assert floor_seconds(10, 26, 190, 5) == 5.0  # searches: 5 per rolling second

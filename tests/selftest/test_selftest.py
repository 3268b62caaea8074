"""``icp selftest``: trials spread over phases, CRMs, stores and fault kinds; a table that shows what it found."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from worker.cli import app
from worker.operate.selftest import PHASES, ROWS, SelftestReport, Trial, TrialResult, plan, run_selftest
from worker.operate.selftest_checks import duplicate_tasks, leadership_subject, leadership_tasks
from worker.operate.selftest_crm import CrmTask, HubSpotCrm, SalesforceCrm

runner = CliRunner()


def test_the_plan_spreads_trials_over_every_phase_crm_store_and_fault() -> None:
    trials = plan(28, True, ["hubspot", "salesforce"], ["sqlite", "postgresql"])
    assert {t.phase for t in trials} == set(PHASES)
    assert {(t.crm, t.store) for t in trials} == {(c, s) for c in ("hubspot", "salesforce")
                                                  for s in ("sqlite", "postgresql")}
    assert len({t.fault for t in trials}) >= 10


def test_each_crm_and_store_meets_every_fault_kind_and_phase() -> None:
    """64 trials: every (CRM, store) pair goes through all of its CRM's fault kinds and all phases."""
    trials = plan(64, True, ["hubspot", "salesforce"], ["sqlite", "postgresql"])
    for crm_class, crm in ((HubSpotCrm, "hubspot"), (SalesforceCrm, "salesforce")):
        armed = {s.kind for s in crm_class.faults(crm_class.__new__(crm_class))}
        for store in ("sqlite", "postgresql"):
            mine = [t for t in trials if (t.crm, t.store) == (crm, store)]
            assert {t.fault for t in mine} == armed and {t.phase for t in mine} == set(PHASES)


def test_leadership_tasks_need_one_per_role_and_version() -> None:
    """A version without a role's task is a lost task; a second one under another key is a duplicate."""
    tasks = [CrmTask("k1", [], leadership_subject(2, "revops")), CrmTask("k2", [], leadership_subject(2, "revops")),
             CrmTask("k3", [], leadership_subject(3, "finance")), CrmTask("k4", ["001"], "ICP review: Acme")]
    assert leadership_tasks([2, 3], ["revops", "finance"], tasks) == (2, 1)
    assert leadership_tasks([], ["revops"], tasks) == (0, 0)
    assert duplicate_tasks([*tasks, CrmTask("k1", [], "again")]) == 1


def test_the_report_splits_its_counts_by_crm_and_store() -> None:
    results = [TrialResult(Trial(1, "hubspot", "sqlite", "tasks", None, 1), killed=True, recovered=True),
               TrialResult(Trial(2, "salesforce", "postgresql", "pull", None, 2), killed=True, recovered=True,
                           duplicate_writes=3)]
    document = SelftestReport(results).to_json()
    assert document["by_crm_and_store"]["hubspot/sqlite"]["duplicate writes"] == 0
    assert document["by_crm_and_store"]["salesforce/postgresql"] == {
        "trials": 1, "recovered": 1, "records lost": 0, "duplicate writes": 3, "duplicate tasks": 0,
        "lost tasks": 0, "wrong final values": 0}
    assert document["totals"]["duplicate writes"] == 3 and not document["passed"]


def test_every_fault_kind_is_armed_by_each_crm() -> None:
    """The fault kinds the plan names exist for the CRM they are planned on."""
    for crm_class, crm in ((HubSpotCrm, "hubspot"), (SalesforceCrm, "salesforce")):
        kinds = {t.fault for t in plan(40, True, [crm], ["sqlite"])}
        armed = {s.kind for s in crm_class.faults(crm_class.__new__(crm_class))}
        assert kinds <= armed, kinds - armed


def test_a_nonzero_count_is_shown_and_fails() -> None:
    """The report never hides a problem: any count makes it fail."""
    trial = Trial(1, "hubspot", "sqlite", "tasks", None, 1)
    report = SelftestReport([TrialResult(trial, killed=True, recovered=True, duplicate_tasks=2)])
    assert not report.passed and report.totals()["duplicate tasks"] == 2
    assert set(report.totals()) == set(ROWS)


SMALL = [Trial(1, "hubspot", "sqlite", "write-back", "timeout after acting", 3),
         Trial(2, "salesforce", "postgresql", "write-back", "502 after acting", 4),
         Trial(3, "salesforce", "sqlite", "approval", "task timeout after acting", 5),
         Trial(4, "hubspot", "postgresql", "tasks", "207 partial success", 6)]


@pytest.mark.parametrize("trial", SMALL, ids=lambda t: f"{t.crm}-{t.store}-{t.phase}-{t.fault}")
def test_a_small_real_selftest_finds_nothing_wrong(tmp_path: Path, pg_url: str, trial: Trial) -> None:
    """Real trials: the worker is SIGKILLed in its phase under a fault (in write-back by the CRM, as it carries
    out an update), recovers, and the sandbox's final state is checked: every count is zero."""
    report = run_selftest([trial], tmp_path, pg_url, accounts=60)
    result = report.results[0]
    assert result.killed and result.recovered, result.notes
    assert report.passed, report.to_json()
    assert report.totals() == {"trials": 1, "recovered": 1, "records lost": 0, "duplicate writes": 0,
                               "duplicate tasks": 0, "lost tasks": 0, "wrong final values": 0}


def test_the_command_prints_the_table_as_json(tmp_path: Path) -> None:
    result = runner.invoke(app, ["selftest", "--crash", "1", "--crm", "hubspot", "--accounts", "40", "--json"])
    document = json.loads(result.stdout)
    assert set(document["totals"]) == set(ROWS) and document["totals"]["trials"] == 1
    assert result.exit_code == (0 if document["passed"] else 1)


def test_duplicate_writes_count_only_writes_that_changed_nothing() -> None:
    """A write may send only the changed fields; it is a duplicate only when every owned value it sends was held."""
    from worker.operate.selftest_crm import WriteLog

    log = WriteLog()
    log.writes["1"] += [{"score": "60", "tier": "B", "version": "v1"}, {"version": "v2"}, {"version": "v2"},
                        {"score": "60", "tier": "B"}]
    log.writes["2"] += [{"score": "10", "tier": "D", "version": "v1"}, {"score": "15"}]
    assert log.duplicates(("score", "tier", "version")) == 2


def test_salesforce_writes_are_read_whatever_the_case_of_id() -> None:
    body = {"allOrNone": False, "records": [
        {"attributes": {"type": "Account"}, "id": "001A", "ICP_Fit_Score__c": "60"},
        {"attributes": {"type": "Account"}, "Id": "001B", "ICP_Fit_Score__c": "10"},
        {"attributes": {"type": "Opportunity"}, "Id": "006C", "ICP_Fit_Score__c": "10"}]}
    answer = [{"id": "001A", "success": True}, {"id": "001B", "success": True}, {"id": "006C", "success": True}]
    crm = SalesforceCrm.__new__(SalesforceCrm)
    assert crm.written(body, answer) == [("001A", {"ICP_Fit_Score__c": "60"}), ("001B", {"ICP_Fit_Score__c": "10"})]


def test_records_refused_in_a_partial_success_are_not_counted_as_written() -> None:
    """A record the CRM refused was not written: sending it again is no duplicate."""
    body = {"allOrNone": False, "records": [{"attributes": {"type": "Account"}, "id": "001A", "Score__c": 60},
                                            {"attributes": {"type": "Account"}, "id": "001B", "Score__c": 10}]}
    answer = [{"id": "001A", "success": True}, {"success": False, "errors": [{"statusCode": "UNABLE_TO_LOCK_ROW"}]}]
    assert SalesforceCrm.__new__(SalesforceCrm).written(body, answer) == [("001A", {"Score__c": 60})]
    inputs = {"inputs": [{"id": "1", "properties": {"score": "60"}}, {"id": "2", "properties": {"score": "10"}}]}
    multi = {"status": "COMPLETE", "results": [{"id": "1", "properties": {"score": "60"}}],
             "errors": [{"category": "OBJECT_NOT_FOUND", "context": {"ids": ["2"]}}]}
    assert HubSpotCrm.__new__(HubSpotCrm).written(inputs, multi) == [("1", {"score": "60"})]

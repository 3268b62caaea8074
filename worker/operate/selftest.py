"""``icp selftest``: a seeded sandbox portal through SIGKILLs and faults, then an honest count of what went wrong.

Each trial starts a fresh seeded sandbox CRM (HubSpot or Salesforce) and store (SQLite or PostgreSQL),
approves the starter scorecard and runs a first cycle; then a rep makes some accounts a poor fit, a
fault is armed (429 with short and long Retry-After, the daily quota, 5xx before and after the CRM
acted, a timeout after it acted, dropped and truncated bodies, non-JSON and HTML 200s, partial
successes, an expired session), and ``icp run`` (or ``icp approve``) runs in its own process, which is
SIGKILLed at a point of the trial's phase (pull, store, score, tasks, write-back, refinement or
approval). The worker then recovers as an operator would (run again; approve again when the approval
was killed) and one more cycle runs. The checks (:mod:`worker.operate.selftest_checks`) compare the
CRM's final state with an independent recomputation from the approved scorecard; every figure is
reported as found.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from worker.context import Context
from worker.govern.approval import approve_version
from worker.operate.cycle import FAILED, utcnow
from worker.operate.scheduler import refine_if_due, run_locked_cycle
from worker.operate.selftest_checks import (
    Recomputed,
    duplicate_tasks,
    leadership_tasks,
    lost_tasks,
    recompute,
    records_lost,
    wrong_values,
)
from worker.operate.selftest_crm import SandboxCrm, start_crm
from worker.score.scorecard import Scorecard, load_scorecard
from worker.score.versions import DRAFT
from worker.settings import DEFAULT_CONFIG, STARTER_SCORECARDS, load_settings
from worker.store.scratch import scratch_schema

PHASES = ("pull", "store", "score", "tasks", "write-back", "refinement", "approval")
APPROVER = "selftest@example.com"
ROWS = ("trials", "recovered", "records lost", "duplicate writes", "duplicate tasks", "lost tasks",
        "wrong final values")
#: The log event (and field values) after which a trial's process is killed, and the most random delay.
TRIGGERS: dict[str, tuple[str, dict[str, str], float]] = {
    "pull": ("sync.start", {"object": "accounts"}, 0.05), "store": ("sync.start", {"object": "deals"}, 0.05),
    "score": ("sync.done", {"object": "notes"}, 0.08), "tasks": ("score.done", {}, 0.02),
    "refinement": ("refine.start", {}, 0.3)}
"""Write-back's kill comes from the CRM, as it carries out a write (see ``_crash``); approval's after a delay."""


@dataclass(frozen=True)
class Trial:
    """One crash-and-fault scenario."""

    number: int
    crm: str
    store: str
    phase: str
    fault: str | None
    seed: int


@dataclass
class TrialResult:
    """What one trial found."""

    trial: Trial
    killed: bool = False
    recovered: bool = False
    records_lost: int = 0
    duplicate_writes: int = 0
    duplicate_tasks: int = 0
    lost_tasks: int = 0
    wrong_final_values: int = 0
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0


@dataclass
class SelftestReport:
    """Every trial's result and the totals."""

    results: list[TrialResult]

    def totals(self, crm: str | None = None, store: str | None = None) -> dict[str, int]:
        """The table's figures (of one CRM and/or store's trials when named)."""
        r = [x for x in self.results if crm in (None, x.trial.crm) and store in (None, x.trial.store)]
        return {"trials": len(r), "recovered": sum(x.recovered for x in r),
                "records lost": sum(x.records_lost for x in r),
                "duplicate writes": sum(x.duplicate_writes for x in r),
                "duplicate tasks": sum(x.duplicate_tasks for x in r), "lost tasks": sum(x.lost_tasks for x in r),
                "wrong final values": sum(x.wrong_final_values for x in r)}

    @property
    def passed(self) -> bool:
        """Every trial recovered and every count is zero."""
        totals = self.totals()
        return totals["recovered"] == totals["trials"] and all(v == 0 for k, v in totals.items()
                                                                 if k not in ("trials", "recovered"))

    def combos(self) -> list[tuple[str, str]]:
        """The (CRM, store) pairs the trials ran on, in plan order."""
        return list(dict.fromkeys((x.trial.crm, x.trial.store) for x in self.results))

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict: the totals (also per CRM and store) and each trial."""
        return {"passed": self.passed, "totals": self.totals(),
                "by_crm_and_store": {f"{crm}/{store}": self.totals(crm, store) for crm, store in self.combos()},
                "trials": [asdict(r.trial) | {k: v for k, v in asdict(r).items() if k != "trial"}
                           for r in self.results]}


def plan(crashes: int, faults: bool, crms: list[str], stores: list[str], seed: int = 7,
         fault_kinds: Callable[[str], list[str]] | None = None) -> list[Trial]:
    """``crashes`` trials spread over every phase, CRM, store and (with ``faults``) fault kind."""
    kinds = fault_kinds or _fault_kinds
    combos = [(crm, store) for crm in crms for store in stores]
    trials = []
    for i in range(crashes):
        combo, turn = i % len(combos), i // len(combos)
        crm, store = combos[combo]
        names = kinds(crm)  # each CRM and store goes through every kind in turn
        trials.append(Trial(i + 1, crm, store, PHASES[i % len(PHASES)],
                            names[(turn + combo) % len(names)] if faults else None, seed + i))
    return _no_stop_in_write_back(trials, len(combos))


STOPS = ("daily quota", "429 long Retry-After")
"""Faults that stop the run cleanly: in write-back it would stop before the kill could come."""


def _no_stop_in_write_back(trials: list[Trial], combos: int) -> list[Trial]:
    """Swap a stopping fault planned for write-back with the next (else the previous) fault of the same CRM and
    store planned for another phase; every CRM and store still meets every fault kind."""
    for i, trial in enumerate(trials):
        if trial.phase != "write-back" or trial.fault not in STOPS:
            continue
        others = [j for j in [*range(i + combos, len(trials), combos), *range(i - combos, -1, -combos)]
                  if trials[j].phase != "write-back" and trials[j].fault not in STOPS]
        if others:
            j = others[0]
            trials[i], trials[j] = replace(trial, fault=trials[j].fault), replace(trials[j], fault=trial.fault)
    return trials


def _fault_kinds(crm: str) -> list[str]:
    crm_kinds = {"hubspot": ["daily quota", "207 partial success"],
                 "salesforce": ["daily quota", "207 partial success", "expired session"]}
    return ["429 short Retry-After", "502 after acting", "HTML 200", "timeout after acting", "non-JSON 200",
            "task 502 after acting", "500 before acting", "truncated body", "429 long Retry-After",
            "504 after acting", "dropped connection", "503 before acting", "task timeout after acting",
            *crm_kinds[crm]]


def run_selftest(trials: list[Trial], workdir: Path, pg_url: str | None = None, accounts: int = 150,
                 progress: Callable[[TrialResult], None] = lambda r: None) -> SelftestReport:
    """Run every trial; a trial that breaks the harness itself is reported as not recovered, with why."""
    results = []
    for trial in trials:
        started = time.perf_counter()
        try:
            result = _run_trial(trial, workdir / f"trial-{trial.number}", pg_url, accounts)
        except Exception as exc:  # noqa: BLE001 - the report says what broke; the other trials still run
            result = TrialResult(trial, notes=[f"{type(exc).__name__}: {exc}"])
        result.seconds = round(time.perf_counter() - started, 1)
        progress(result)
        results.append(result)
    return SelftestReport(results)


def _run_trial(trial: Trial, folder: Path, pg_url: str | None, accounts: int) -> TrialResult:
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(trial.seed)
    crm = start_crm(trial.crm, trial.seed, accounts)
    try:
        with _store(trial.store, folder, pg_url) as url, _environment(crm.env()):
            config = _config(folder, url, crm)
            return _scenario(trial, crm, config, rng)
    finally:
        crm.stop()


def _scenario(trial: Trial, crm: SandboxCrm, config: Path, rng: random.Random) -> TrialResult:
    result = TrialResult(trial)
    ctx = Context.open(load_settings(config), "main")
    connector = ctx.connector()
    try:
        connector.setup_fields(ctx.mapping.setup_specs())
        starter = load_scorecard(DEFAULT_CONFIG / STARTER_SCORECARDS[trial.crm])
        _approve(ctx, starter, "starter")
        run_locked_cycle(ctx, connector)
        before = recompute(connector, ctx.mapping, starter)
        card, command = starter, ["run", "--json"]
        if trial.phase == "approval":  # a proposal, whose leadership tasks a cycle sends before it is approved
            card = _variant(starter)
            proposed = ctx.versions.create(card, by="selftest", now=utcnow())
            run_locked_cycle(ctx, connector)
            command = ["approve", str(proposed.version), "--by", APPROVER, "--accept-risks", "--note", "selftest"]
        poor = sorted(a for a, tier in before.tiers.items() if tier == starter.tiers[0] and before.owners.get(a))
        crm.change_accounts(poor[:8])
        if trial.fault is not None:
            spec = next(s for s in crm.faults() if s.kind == trial.fault)
            # reads come in several pages (the fault may hit a later one); a cycle here sends one batch of
            # updates and one of tasks, so a fault on those must hit the first
            crm.inject(spec, skip=rng.randint(0, 1) if spec.route == crm.list_route else 0)
        on_updates = trial.fault is not None and any(s.kind == trial.fault and s.route == crm.write_route
                                                     for s in crm.faults())
        result.killed = _crash(config, command, trial.phase, rng, result.notes, crm, on_updates)
        _recover(ctx, connector, trial, card, result)  # a fault the killed run did not meet meets the recovery
        crm.clear()
        _check(ctx, connector, crm, card, before, trial.phase == "approval", result)
    finally:
        connector.close()
        ctx.engine.dispose()
    return result


def _approve(ctx: Context, card: Scorecard, note: str) -> None:
    version = ctx.versions.create(card, by="selftest", now=utcnow())
    approve_version(ctx.versions, version.version, by=APPROVER, now=utcnow(), accept_risks=True, note=note)


def _variant(card: Scorecard) -> Scorecard:
    """The starter with its score bands one point stricter: a second version worth approving."""
    bands = tuple(b.model_copy(update={"min": b.min + 1}) if b.min > 0 else b for b in card.bands)
    return card.model_copy(update={"name": f"{card.name} (selftest)", "bands": bands})


def _recover(ctx: Context, connector: Any, trial: Trial, card: Scorecard, result: TrialResult) -> None:
    """What an operator does after a crash: approve again if the approval was killed, then run until good."""
    if trial.phase == "approval":
        in_force = ctx.versions.in_force()
        if in_force is None or in_force.scorecard.model_dump() != card.model_dump():
            pending = ctx.versions.pending()
            if pending:
                approve_version(ctx.versions, pending[-1].version, by=APPROVER, now=utcnow(), accept_risks=True,
                                note="selftest retry")
    status = FAILED
    for _ in range(3):
        summary = run_locked_cycle(ctx, connector, after=lambda c: refine_if_due(c))
        status = summary.status
        if status not in (FAILED, "stopped", "skipped"):
            break
        result.notes.append(f"recovery run {summary.status}: {summary.message}")
    last = run_locked_cycle(ctx, connector)
    result.recovered = status not in (FAILED, "stopped", "skipped") and last.status not in (FAILED, "stopped")


def _check(ctx: Context, connector: Any, crm: SandboxCrm, card: Scorecard, before: Recomputed,
           new_version: bool, result: TrialResult) -> None:
    final = recompute(connector, ctx.mapping, card)
    in_force = ctx.versions.in_force()
    label = in_force.label if in_force is not None and in_force.scorecard.model_dump() == card.model_dump() \
        else "(the approved scorecard is not in force)"
    owned = ctx.mapping.owned
    assert owned is not None
    tasks = crm.tasks()
    result.records_lost = records_lost(ctx.engine, ctx.name, set(final.shown))
    result.wrong_final_values = wrong_values(final, card, label)
    result.duplicate_writes = crm.log.duplicates((owned.score, owned.tier, owned.version, owned.reasons))
    proposed = [v.version for v in ctx.versions.list()[1:] if v.status != DRAFT]  # the starter: approved at once
    roles: list[str | None] = list(ctx.config.review.required_roles) or [None]
    lost_reviews, extra_reviews = leadership_tasks(proposed, roles, tasks)
    result.duplicate_tasks = duplicate_tasks(tasks) + extra_reviews
    result.lost_tasks = lost_reviews + lost_tasks(before, final, list(card.tiers), ctx.config.review.tier_change,
                                                  new_version, tasks)


def _crash(config: Path, command: list[str], phase: str, rng: random.Random, notes: list[str],
           crm: SandboxCrm, on_updates: bool = False) -> bool:
    """Run ``icp`` in its own process and SIGKILL it at the phase's point; True when it was killed.

    In write-back the kill comes from the CRM itself, the moment it has carried out an update of owned
    values and before its answer leaves: the worker dies between the CRM's act and its own record of it.
    When the trial's fault is on those updates (``on_updates``), the worker first meets it and the kill
    comes once it has recorded the batch (``writeback.progress``).
    """
    env = {k: v for k, v in os.environ.items() if k not in ("ICP_DATABASE_URL", "ICP_CONFIG")}
    env |= {"ICP_LOG_FORMAT": "json"}
    child = subprocess.Popen([sys.executable, "-m", "worker.cli", "--config", str(config), *command], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    killed = threading.Event()
    if phase == "write-back" and not on_updates:
        crm.on_write(lambda: _kill(child, killed))
        timer = None
    elif phase == "approval":
        timer = threading.Timer(rng.uniform(0.8, 2.5), _kill, (child, killed))
        timer.start()
    else:
        timer = None
        event, fields, delay = ("writeback.progress", {}, 0.0) if phase == "write-back" else TRIGGERS[phase]
        assert child.stderr is not None
        for line in child.stderr:
            if _matches(line, event, fields):
                time.sleep(rng.uniform(0, delay))
                _kill(child, killed)
                break
    if child.stderr is not None:
        child.stderr.read()
    child.wait(timeout=600)
    crm.on_write(None)
    if timer is not None:
        timer.cancel()
    if not killed.is_set():
        notes.append(f"the process ended (exit {child.returncode}) before it could be killed in {phase}")
    return killed.is_set()


def _matches(line: str, event: str, fields: dict[str, str]) -> bool:
    try:
        record = json.loads(line)
    except ValueError:
        return False
    return isinstance(record, dict) and record.get("event") == event and all(
        str(record.get(k)) == v for k, v in fields.items())


def _kill(child: subprocess.Popen[str], killed: threading.Event) -> None:
    if child.poll() is None:
        os.kill(child.pid, signal.SIGKILL)
        killed.set()


def _config(folder: Path, url: str, crm: SandboxCrm) -> Path:
    """The worker's config: the sandbox, and two required sign-off roles whose reviewers are CRM users (so
    every proposal opens two leadership tasks); the approver holds both roles."""
    first, second = crm.reviewers()
    review = ('[connections.main.review]\nrequired_roles = ["revops", "finance"]\n'
              f'leadership_owner = "{first}"\n[connections.main.review.roles]\n'
              f'revops = ["{first}", "{APPROVER}"]\nfinance = ["{second}", "{APPROVER}"]\n')
    path = folder / "icp.toml"
    path.write_text(f'database_url = "{url}"\nlog_format = "json"\n[connections.main]\ncrm = "{crm.crm}"\n'
                    f'approvers = ["{APPROVER}"]\n{crm.config()}{review}', encoding="utf-8")
    return path


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@contextmanager
def _store(kind: str, folder: Path, pg_url: str | None) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{folder / 'store.db'}"
        return
    if not pg_url:
        raise RuntimeError("PostgreSQL trials need a server: pass --postgres-url or set ICP_SELFTEST_POSTGRES_URL")
    with scratch_schema(pg_url, "selftest") as url:
        yield url

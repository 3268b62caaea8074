"""The self-test's verdict on one trial: the sandbox CRM's final state against an independent recomputation.

The recomputation reads every account back from the CRM over its API (a full pull, not the worker's
store), scores it with the approved scorecard's own YAML through the pure scorer, and compares:

- records lost: accounts in the CRM missing from the worker's store;
- wrong final values: accounts whose owned fields in the CRM are not the recomputed score, tier and version;
- duplicate writes: writes that sent a record the very owned values it had just been sent;
- duplicate tasks: tasks in the CRM sharing one review key, beyond the first;
- lost tasks: accounts whose recomputed tier change deserves an owner task (the configured rule) but that
  have no task in the CRM, and proposed versions without a leadership task for one of the roles whose
  sign-off they need (a second such task under another key is a duplicate task).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
from sqlalchemy import Engine, select
from sqlmodel import Session, col

from connectors.base import Connector, PullRequest
from worker.govern.tasks import is_significant
from worker.ingest.mapping import FieldMapping, Normaliser
from worker.ingest.records import AccountRecord
from worker.operate.selftest_crm import CrmTask
from worker.score.scorecard import Scorecard, Scorer
from worker.score.scoring import TierChange
from worker.settings import TierChangeRule
from worker.store import Account

FAR = datetime(2100, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Recomputed:
    """Each account's recomputed tier and score, what the CRM shows, and its owner."""

    tiers: dict[str, str]
    scores: dict[str, int]
    shown: dict[str, dict[str, Any]]
    owners: dict[str, str | None]


def recompute(connector: Connector, mapping: FieldMapping, card: Scorecard) -> Recomputed:
    """Read every account from the CRM and score it with ``card``."""
    owned = mapping.owned
    assert owned is not None
    names = {"score": owned.score, "tier": owned.tier, "version": owned.version}
    properties = list(dict.fromkeys([*mapping.account_properties(), *names.values()]))
    normaliser = Normaliser(mapping)
    records: list[AccountRecord] = []
    shown: dict[str, dict[str, Any]] = {}
    for page in connector.pull(PullRequest("accounts", properties, until=FAR)):
        for raw in page.records:
            if raw.deleted:
                continue
            shown[raw.id] = {key: raw.properties.get(name) for key, name in names.items()}
            record = normaliser.account(raw)
            if isinstance(record, AccountRecord):
                records.append(record)
    columns = {a: np.array([r.attributes.get(a) for r in records], dtype=object) for a in card.attributes}
    result = Scorer(card).score(columns, n=len(records))
    ids = [r.id for r in records]
    return Recomputed(dict(zip(ids, (str(t) for t in result.tiers), strict=True)),
                      dict(zip(ids, (int(s) for s in result.scores), strict=True)), shown,
                      {r.id: r.owner_id for r in records})


def records_lost(engine: Engine, connection: str, crm_ids: set[str]) -> int:
    """Accounts in the CRM the store does not hold."""
    with Session(engine) as session:
        stored = set(session.execute(select(col(Account.id)).where(col(Account.connection) == connection)).scalars())
    return len(crm_ids - stored)


def wrong_values(final: Recomputed, card: Scorecard, label: str) -> int:
    """Accounts whose owned fields in the CRM differ from the recomputed score, tier (as written, with its
    meaning) and version."""
    wrong = 0
    for account, tier in final.tiers.items():
        shown = final.shown.get(account, {})
        score = _number(shown.get("score"))
        tier_shown = str(shown.get("tier"))
        if score != final.scores[account] or tier_shown not in (tier, card.tier_text(tier)) \
                or str(shown.get("version")) != label:
            wrong += 1
    return wrong


def _number(value: Any) -> int | None:
    try:
        return round(float(value))
    except (TypeError, ValueError):
        return None


def duplicate_tasks(tasks: list[CrmTask]) -> int:
    """Tasks beyond the first with one review key."""
    keys = Counter(task.key for task in tasks if task.key)
    return sum(n - 1 for n in keys.values() if n > 1)


def leadership_subject(version: int, role: str | None) -> str:
    """The subject a leadership review task of ``version`` for ``role`` carries in the CRM."""
    return (f"ICP review ({role}): approve or reject scorecard v{version}" if role
            else f"ICP review: approve or reject scorecard v{version}")


def leadership_tasks(proposed: list[int], roles: list[str | None], tasks: list[CrmTask]) -> tuple[int, int]:
    """(lost, extra): every proposed version needs exactly one leadership task per role in the CRM; lost are
    the (version, role) pairs with none, extra the tasks beyond one (under another review key; tasks that
    share a key are :func:`duplicate_tasks`)."""
    keys: dict[str, set[str | None]] = {}
    for task in tasks:
        keys.setdefault(task.subject, set()).add(task.key)
    lost = extra = 0
    for version in proposed:
        for role in roles:
            found = len(keys.get(leadership_subject(version, role), set()))
            lost += found == 0
            extra += max(found - 1, 0)
    return lost, extra


def lost_tasks(before: Recomputed, after: Recomputed, tiers: list[str], rule: TierChangeRule, new_version: bool,
               tasks: list[CrmTask]) -> int:
    """Accounts whose tier change deserves an owner task (the configured rule) that have none in the CRM."""
    drop = max(rule.drop_tiers, 2) if new_version else rule.drop_tiers
    leaving_top = rule.leaving_top_tier and not new_version
    with_task = {account for task in tasks for account in task.accounts}
    lost = 0
    for account, new_tier in after.tiers.items():
        old_tier = before.tiers.get(account)
        change = TierChange(account, after.owners.get(account), old_tier, new_tier, None, 0, ())
        if old_tier != new_tier and after.owners.get(account) and is_significant(change, tiers, drop, leaving_top):
            lost += account not in with_task
    return lost

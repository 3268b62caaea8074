"""The plain approach ``icp bench cycle`` compares against: what a user would write with the usual clients.

Read every company (HubSpot's ``get_all``, Salesforce's ``query_all``: everything in memory at
once), score each one with the same scorecard, then write every record's score back: one update call
per record, or (``batched``) HubSpot batches of 100 / Salesforce collections of 200, with no diff
against what was written before. Runs in its own process, so its peak resident memory is its own.
"""

from __future__ import annotations

import multiprocessing
import resource
import time
from datetime import UTC, datetime
from typing import Any, cast

from connectors.base import RawRecord
from worker.bench.cycle_sandbox import TOKEN
from worker.ingest.mapping import FieldMapping, Normaliser
from worker.ingest.records import AccountRecord
from worker.score.scorecard import Scorecard, Scorer


def run_plain(info: dict[str, Any], mapping_path: str, scorecard_path: str, batched: bool) -> dict[str, Any]:
    """Run the plain approach in a child process; its calls, wall time and peak resident memory."""
    context = multiprocessing.get_context("spawn")
    with context.Pool(1) as pool:
        return dict(pool.apply(_plain, (info, mapping_path, scorecard_path, batched)))


def _plain(info: dict[str, Any], mapping_path: str, scorecard_path: str, batched: bool) -> dict[str, Any]:
    from worker.ingest.mapping import load_mapping
    from worker.score.scorecard import load_scorecard

    mapping, card = load_mapping(mapping_path), load_scorecard(scorecard_path)
    t0 = time.perf_counter()
    if info["crm"] == "hubspot":
        calls = _hubspot(info, mapping, card, batched)
    else:
        calls = _salesforce(info, mapping, card, batched)
    wall = time.perf_counter() - t0
    return {"calls": calls, "wall_seconds": round(wall, 2),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}


def _values(mapping: FieldMapping, card: Scorecard, records: list[RawRecord]) -> list[tuple[str, dict[str, str]]]:
    """Each record's owned values under ``card`` (the same scorer the worker uses)."""
    import numpy as np

    normaliser = Normaliser(mapping)
    accounts = [a for a in (normaliser.account(r) for r in records) if isinstance(a, AccountRecord)]
    columns = {name: np.array([a.attributes.get(name) for a in accounts], dtype=object) for name in card.attributes}
    result = Scorer(card).score(columns, n=len(accounts))
    reasons = result.reasons()
    owned = mapping.owned
    assert owned is not None
    now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    return [(a.id, {owned.score: str(int(result.scores[i])), owned.tier: str(result.tiers[i]),
                    owned.reasons: "\n".join(reasons[i]), owned.version: "v1", owned.scored_at: now})
            for i, a in enumerate(accounts)]


def _hubspot(info: dict[str, Any], mapping: FieldMapping, card: Scorecard, batched: bool) -> int:
    from hubspot import HubSpot
    from hubspot.crm.companies import BatchInputSimplePublicObjectBatchInput, SimplePublicObjectInput

    client = HubSpot(access_token=TOKEN, host=info["url"])
    companies = client.crm.companies
    everything = companies.get_all(properties=mapping.account_properties())
    calls = -(-len(everything) // 100) or 1
    records = [RawRecord("accounts", str(c.id), c.updated_at, dict(c.properties or {})) for c in everything]
    values = _values(mapping, card, records)
    api = companies.batch_api if batched else companies.basic_api
    if not batched:
        for record_id, properties in values:
            api.update(record_id, SimplePublicObjectInput(properties=properties))
        return calls + len(values)
    for start in range(0, len(values), 100):
        inputs = [{"id": i, "properties": p} for i, p in values[start:start + 100]]
        api.update(BatchInputSimplePublicObjectBatchInput(inputs=inputs))
        calls += 1
    return calls


def _salesforce(info: dict[str, Any], mapping: FieldMapping, card: Scorecard, batched: bool) -> int:
    from connectors.salesforce import Credentials, SalesforceSettings
    from connectors.salesforce.client import SalesforceClient

    client = SalesforceClient(SalesforceSettings(
        Credentials("client_credentials", client_id=info["client_id"], client_secret=info["client_secret"]),
        login_url=info["url"], ca_bundle=info["ca_path"]))
    sf = client.sf()
    fields = ", ".join(dict.fromkeys(["Id", "SystemModstamp", *mapping.account_properties()]))
    everything = sf.query_all(f"SELECT {fields} FROM Account")["records"]
    records = [RawRecord("accounts", r["Id"], None, {k: v for k, v in r.items() if k != "attributes"})
               for r in everything]
    values = _values(mapping, card, records)
    if not batched:
        accounts = cast(Any, sf.Account)
        for record_id, properties in values:
            accounts.update(record_id, properties)
    else:
        for start in range(0, len(values), 200):
            body = {"allOrNone": False, "records": [{"attributes": {"type": "Account"}, "id": i, **p}
                                                    for i, p in values[start:start + 200]]}
            sf.restful("composite/sobjects", method="PATCH", json=body)
    return sum(client.calls.values())

"""``icp bench cycle``: API economy, store speed and memory of whole nightly cycles (prints figures).

Generates a sandbox portal of ``accounts`` companies (served by its own process), then measures three
cycles, each in a fresh process so its peak resident memory is its own: a first full cycle, an
immediate second cycle (right after the first one's write-back), and an incremental cycle after a
share of the companies changed. Then, against the same portal, the plain approach (see
:mod:`worker.bench.cycle_plain`). For each it prints the API calls by endpoint beside the minimum for
that work, wall time by phase, and with a rate limit enforced by the sandbox the ratio of wall time
to the floor that limit imposes and the 429s received; and it checks the targets.
"""

from __future__ import annotations

import multiprocessing
import resource
import tempfile
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from worker.bench.cycle_minimum import floor_seconds, minimum_calls, salesforce_endpoint
from worker.bench.cycle_sandbox import TOKEN, BenchSandbox

APPROVER = "bench-approver@sandbox.invalid"
SEARCH_PER_SECOND = 5
TARGET_CALLS, TARGET_ROWS, TARGET_FLOOR, TARGET_MB = 1.05, 20_000, 1.15, 1024
PHASES = ("pull", "normalise", "store", "score", "tasks", "write-back")


@dataclass(frozen=True)
class BenchOptions:
    """What ``icp bench cycle`` measures."""

    crm: str = "hubspot"
    accounts: int = 10_000
    changed: float = 0.02
    rate_limit: int | None = None
    store: str | None = None
    seed: int = 7
    plain: bool = True


def _connector(info: dict[str, Any], rate_limit: int | None) -> Any:
    """The worker's connector for the bench sandbox, paced at an enforced limit (the client keeps a margin)."""
    if info["crm"] == "hubspot":
        from connectors.hubspot import HubSpotConnector, HubSpotSettings

        per_10s = rate_limit or 1_000_000
        search = SEARCH_PER_SECOND if rate_limit else 1_000
        return HubSpotConnector(HubSpotSettings(access_token=TOKEN, base_url=info["url"], per_10s=per_10s,
                                                search_per_second=search))
    from connectors.salesforce import Credentials, SalesforceConnector, SalesforceSettings

    credentials = Credentials("client_credentials", client_id=info["client_id"], client_secret=info["client_secret"])
    return SalesforceConnector(SalesforceSettings(credentials, login_url=info["url"], ca_bundle=info["ca_path"],
                                                  bulk_poll_seconds=1))


def _cycle_child(config: str, url: str, info: dict[str, Any], rate_limit: int | None) -> dict[str, Any]:
    """One nightly cycle in this (fresh) process: the run summary and the process's peak memory."""
    import logging

    from worker.context import Context
    from worker.logs import configure_logging
    from worker.operate.cycle import run_cycle
    from worker.settings import load_settings
    from worker.store import make_engine

    configure_logging("json", level=logging.WARNING)
    settings = load_settings(Path(config)).model_copy(update={"database_url": url})
    ctx = Context.open(settings, None, make_engine(url))
    connector = _connector(info, rate_limit)
    try:
        summary = run_cycle(ctx, connector).to_json()
    finally:
        connector.close()
        ctx.engine.dispose()
    summary["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return summary


class CycleBench:
    """One run of ``icp bench cycle``."""

    def __init__(self, options: BenchOptions, console: Console) -> None:
        self.options, self.console = options, console
        self.connection = f"bench{uuid.uuid4().hex[:8]}"
        self.folder = Path(tempfile.mkdtemp(prefix="icp-bench-cycle-"))
        self.url = options.store or f"sqlite:///{self.folder / 'bench.db'}"
        self.config = ""
        self.pool = multiprocessing.get_context("spawn").Pool(1, maxtasksperchild=1)

    def run(self) -> dict[str, Any]:
        """Measure everything; return the figures (also printed unless ``console`` is quiet).

        On PostgreSQL the cycles run in a scratch schema of the given database (created empty, dropped at
        the end), so that every run starts from fresh tables: rows deleted by earlier runs stay in a
        table's pages until it is vacuumed, and a server without autovacuum never does."""
        if not self.url.startswith("postgresql"):
            return self._run()
        from worker.store.scratch import scratch_schema

        with scratch_schema(self.url, "bench") as url:
            self.url = url
            return self._run()

    def _run(self) -> dict[str, Any]:
        opts = self.options
        self.console.print(f"generating a {opts.crm} sandbox portal of {opts.accounts:,} companies...")
        sandbox = BenchSandbox(opts.crm, opts.seed, opts.accounts)
        try:
            info = sandbox.info
            self._setup(info)
            cycles = [self._cycle(sandbox, "first", None), self._cycle(sandbox, "second", None)]
            changed = sandbox.change(opts.changed, opts.seed)
            self.console.print(f"changed {changed:,} companies ({opts.changed:.1%})")
            cycles.append(self._cycle(sandbox, "incremental", changed))
            plain = self._plain(sandbox, info) if opts.plain else []
        finally:
            sandbox.stop()
            self.pool.terminate()
        figures = {"crm": opts.crm, "accounts": opts.accounts, "deals": info["deals"], "notes": info["notes"],
                   "changed_share": opts.changed, "rate_limit_per_10s": opts.rate_limit,
                   "store": "postgresql" if self.url.startswith("postgresql") else "sqlite",
                   "cycles": cycles, "plain": plain}
        figures["targets"] = targets(figures)
        return figures

    def _setup(self, info: dict[str, Any]) -> None:
        from worker.context import Context
        from worker.govern.approval import approve_version
        from worker.operate.cycle import utcnow
        from worker.operate.init import ConfigDraft, write_config
        from worker.score.scorecard import load_scorecard
        from worker.settings import load_settings
        from worker.store import make_engine

        draft = ConfigDraft(connection=self.connection, crm=info["crm"], approvers=(APPROVER,),
                            database_url=self.url)
        written = write_config(self.folder, draft, overwrite=True)
        self.config = str(written.config)
        settings = load_settings(written.config).model_copy(update={"database_url": self.url})
        ctx = Context.open(settings, self.connection, make_engine(self.url))
        self.mapping_path = str(settings.mapping_path(ctx.config))
        self.scorecard_path = str(settings.starter_path(ctx.config))
        connector = _connector(info, None)
        try:
            connector.setup_fields(ctx.mapping.setup_specs())
        finally:
            connector.close()
        version = ctx.versions.create(load_scorecard(self.scorecard_path), by="icp bench cycle", now=utcnow(),
                                      note="benchmark scorecard")
        approve_version(ctx.versions, version.version, by=APPROVER, now=utcnow(), note="benchmark", accept_risks=True)
        ctx.engine.dispose()

    def _cycle(self, sandbox: BenchSandbox, name: str, changed: int | None) -> dict[str, Any]:
        opts = self.options
        info = sandbox.info
        since = getattr(self, "_last_start", None)
        modified = sandbox.modified_since(since) if since is not None else None
        limit = opts.rate_limit if info["crm"] == "hubspot" else None
        sandbox.limit(limit, SEARCH_PER_SECOND if limit else None)
        sandbox.reset()
        self._last_start = datetime.now(UTC)
        self.console.print(f"cycle {name}...")
        summary = self.pool.apply(_cycle_child, (self.config, self.url, info, limit))
        stats = sandbox.stats()
        figures = cycle_figures(name, summary, stats, info, modified, limit)
        figures["companies_changed"] = changed
        return figures

    def _plain(self, sandbox: BenchSandbox, info: dict[str, Any]) -> list[dict[str, Any]]:
        from worker.bench.cycle_plain import run_plain

        results = []
        sandbox.limit(None, None)
        for batched in (False, True):
            name = "plain, batches of 100, no diff" if batched else "plain, get_all + one update per record"
            if info["crm"] == "salesforce" and batched:
                name = "plain, collections of 200, no diff"
            self.console.print(f"{name}...")
            sandbox.reset()
            result = run_plain(info, self.mapping_path, self.scorecard_path, batched)
            calls = sum(sandbox.stats()["calls"].values())
            result.update(name=name, calls=calls)
            if self.options.rate_limit and info["crm"] == "hubspot":
                result["floor_seconds"] = round(floor_seconds(calls, 0, self.options.rate_limit, SEARCH_PER_SECOND), 1)
            results.append(result)
        return results


def cycle_figures(name: str, summary: dict[str, Any], stats: dict[str, Any], info: dict[str, Any],
                  modified: dict[str, int] | None, limit: int | None) -> dict[str, Any]:
    """The figures of one measured cycle."""
    calls: dict[str, int] = {}
    for endpoint, count in summary["api_calls"].items():
        key = endpoint if info["crm"] == "hubspot" else salesforce_endpoint(endpoint)
        calls[key] = calls.get(key, 0) + count
    minimum = minimum_calls(info, calls, summary, modified)
    total, least = sum(calls.values()), sum(minimum.values())
    phases = {p: round(summary["phases"].get(p, 0.0), 2) for p in PHASES}
    phases["other"] = round(max(summary["duration_seconds"] - sum(phases.values()), 0.0), 2)
    rows = sum(summary["pulled"].values())
    figures: dict[str, Any] = {
        "cycle": name, "status": summary["status"], "wall_seconds": summary["duration_seconds"], "phases": phases,
        "calls": total, "minimum_calls": least, "calls_ratio": round(total / least, 3) if least else None,
        "calls_by_endpoint": {e: {"calls": calls.get(e, 0), "minimum": minimum.get(e, 0)}
                              for e in sorted(set(calls) | set(minimum))},
        "pulled": summary["pulled"], "scored": summary["scored"], "written": summary["written"],
        "tasks_created": summary["tasks_created"],
        "store_rows_per_second": round(rows / phases["store"]) if rows >= 1000 and phases["store"] else None,
        "score_accounts_per_second": (round(summary["scored"] / phases["score"])
                                      if summary["scored"] and phases["score"] else None),
        "peak_rss_mb": summary["peak_rss_mb"], "sandbox_peak_rss_mb": stats.get("peak_rss_mb"),
        "http_429": sum(stats["refused"].values()),
    }
    if limit:
        search = sum(v for k, v in stats["calls"].items() if k.endswith("/search"))
        floor = floor_seconds(sum(stats["calls"].values()) - search, search, limit, SEARCH_PER_SECOND)
        figures["floor_seconds"] = round(floor, 1)
        figures["floor_ratio"] = round(summary["duration_seconds"] / floor, 3) if floor >= 1.0 else None
    return figures


def targets(figures: dict[str, Any]) -> list[dict[str, Any]]:
    """Each target, the figure measured against it and whether it passed."""
    checks: list[dict[str, Any]] = []
    for cycle in figures["cycles"]:
        name = cycle["cycle"]
        if cycle["calls_ratio"] is not None:
            checks.append(_check(f"{name}: calls <= {TARGET_CALLS}x minimum", cycle["calls_ratio"],
                                 cycle["calls_ratio"] <= TARGET_CALLS))
        if cycle["store_rows_per_second"] is not None:
            checks.append(_check(f"{name}: store >= {TARGET_ROWS:,} rows/s", cycle["store_rows_per_second"],
                                 cycle["store_rows_per_second"] >= TARGET_ROWS))
        if figures["rate_limit_per_10s"] and cycle.get("floor_ratio") is not None:
            checks.append(_check(f"{name}: wall <= {TARGET_FLOOR}x the rate-limit floor", cycle["floor_ratio"],
                                 cycle["floor_ratio"] <= TARGET_FLOOR))
        if figures["rate_limit_per_10s"]:
            checks.append(_check(f"{name}: no 429s", cycle["http_429"], cycle["http_429"] == 0))
        if figures["accounts"] >= 1_000_000:
            checks.append(_check(f"{name}: peak memory under 1 GiB (MB)", cycle["peak_rss_mb"],
                                 cycle["peak_rss_mb"] < TARGET_MB))
    return checks


def _check(target: str, measured: Any, passed: bool) -> dict[str, Any]:
    return {"target": target, "measured": measured, "passed": passed}


def print_figures(figures: dict[str, Any], console: Console) -> None:
    """The figures as tables."""
    title = (f"{figures['crm']}: {figures['accounts']:,} companies, {figures['deals']:,} deals, {figures['notes']:,} "
             f"notes; store {figures['store']}; rate limit "
             f"{figures['rate_limit_per_10s'] or 'off'}{' per 10 s' if figures['rate_limit_per_10s'] else ''}")
    calls = Table("cycle", "API calls", "minimum", "ratio", "429s", "floor s", "wall / floor", title=title)
    times = Table("cycle", "wall s", *[f"{p} s" for p in (*PHASES, "other")], "store rows/s", "scoring accounts/s",
                  "peak MB", title="wall time by phase, throughput and memory")
    for c in figures["cycles"]:
        calls.add_row(c["cycle"], f"{c['calls']:,}", f"{c['minimum_calls']:,}", _fmt(c["calls_ratio"]),
                      str(c["http_429"]), _fmt(c.get("floor_seconds")), _fmt(c.get("floor_ratio")))
        times.add_row(c["cycle"], f"{c['wall_seconds']:.1f}", *[f"{c['phases'][p]:.1f}" for p in (*PHASES, "other")],
                      _fmt(c["store_rows_per_second"], ","), _fmt(c["score_accounts_per_second"], ","),
                      f"{c['peak_rss_mb']:.0f}")
    console.print(calls)
    console.print(times)
    console.print("peak MB is the worker's own cycle process; the sandbox portal, served by its own process, "
                  f"peaked at {max(c.get('sandbox_peak_rss_mb') or 0 for c in figures['cycles']):.0f} MB",
                  highlight=False)
    for c in figures["cycles"]:
        console.print(f"{c['cycle']}: " + ", ".join(f"{e} {v['calls']}/{v['minimum']}"
                                                    for e, v in c["calls_by_endpoint"].items()), highlight=False)
    if figures["plain"]:
        _print_plain(figures, console)
    for check in figures["targets"]:
        mark = "[green]pass[/]" if check["passed"] else "[red]FAIL[/]"
        console.print(f"{mark} {check['target']}: {check['measured']}")


def _print_plain(figures: dict[str, Any], console: Console) -> None:
    ours = figures["cycles"][0]
    table = Table("approach", "calls", "wall s", "floor s under the limit", "peak MB", "our calls / theirs",
                  "our wall / theirs", "our peak / theirs", title="side by side: the plain approach (one full run)")
    table.add_row("ours (first cycle)", f"{ours['calls']:,}", f"{ours['wall_seconds']:.1f}",
                  _fmt(ours.get("floor_seconds")), f"{ours['peak_rss_mb']:.0f}", "", "", "")
    for p in figures["plain"]:
        table.add_row(p["name"], f"{p['calls']:,}", f"{p['wall_seconds']:.1f}", _fmt(p.get("floor_seconds")),
                      f"{p['peak_rss_mb']:.0f}", f"{ours['calls'] / p['calls']:.2f}",
                      f"{ours['wall_seconds'] / p['wall_seconds']:.2f}",
                      f"{ours['peak_rss_mb'] / p['peak_rss_mb']:.2f}")
    console.print(table)
    if figures["rate_limit_per_10s"]:
        console.print("The plain runs go with the limit switched off (without retries they would fail on the first "
                      "429); their floor is what the limit would cost them.")


def _fmt(value: Any, spec: str = "") -> str:
    if value is None:
        return "-"
    return format(value, spec) if spec else str(value)


def cycle_benchmark(options: BenchOptions, console: Console) -> dict[str, Any]:
    """Run ``icp bench cycle``; print the figures on ``console``; return them."""
    figures = CycleBench(options, console).run()
    print_figures(figures, console)
    return figures

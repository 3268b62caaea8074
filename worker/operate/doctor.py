"""``icp doctor``: the configured connection checked end to end, each problem with exactly what to fix.

It checks the config (approvers, mapping, starter scorecard), the store (reachable, schema up to
date), the credentials (present, accepted), the CRM access (scopes or permission set and field-level
security), the owned and mapped fields, the scorecard's category values against the CRM's picklist
options, and the clock against the CRM's ``Date`` header. It only reads: nothing in the CRM changes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from connectors.base import AccessReport, AccessRequest, Connector, Finding
from connectors.errors import ConnectorError
from worker.context import Context
from worker.ingest.mapping import FieldMapping, MappingError
from worker.score.scorecard import Scorecard, ScorecardError, load_scorecard
from worker.score.scorecard.model import normalise_category
from worker.settings import ConfigError, Settings
from worker.store import StoreError, make_engine, migrate
from worker.store.db import current_revision

CLOCK_WARN_SECONDS = 60.0
CLOCK_FAIL_SECONDS = 180.0
"""Beyond three minutes a Salesforce JWT login fails (its assertion is valid for three minutes)."""
Status = Literal["ok", "warn", "fail"]


@dataclass
class DoctorReport:
    """Every finding of one connection's check-up."""

    connection: str
    crm: str
    config: str | None
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing failed (warnings allowed)."""
        return all(f.status != "fail" for f in self.findings)

    def add(self, area: str, status: Status, detail: str, fix: str = "") -> None:
        """Record a finding."""
        self.findings.append(Finding(area, status, detail, fix))

    def to_json(self) -> dict[str, Any]:
        """The report as JSON (``icp doctor --json``)."""
        return {"connection": self.connection, "crm": self.crm, "config": self.config, "ok": self.ok,
                "findings": [{"area": f.area, "status": f.status, "detail": f.detail, "fix": f.fix}
                             for f in self.findings]}


def run_doctor(settings: Settings, connection: str | None, config: str | None,
               connector: Connector | None = None) -> DoctorReport:
    """Check one connection end to end. ``connector`` replaces the configured one (tests, the demo)."""
    name, conn = settings.connection(connection)
    report = DoctorReport(name, conn.crm, config)
    where = config or "the config (none given: pass --config or set ICP_CONFIG)"
    _approvers(report, conn.approvers, conn.review.leadership_owner, where)
    if not _store(report, settings):
        return report
    ctx = Context.open(settings, name)
    mapping = _mapping(report, ctx)
    card = _scorecard(report, ctx)
    if mapping is None or mapping.owned is None:
        return report
    try:
        connector = connector or ctx.connector()
    except ConfigError as exc:
        report.add("credentials", "fail", str(exc), "Export the variable (never put it in the config), or name a "
                   "secrets file in the config.")
        return report
    except ConnectorError as exc:
        report.add("credentials", "fail", str(exc), f"Fix the [connections.{name}.{conn.crm}] settings it names.")
        return report
    try:
        access = connector.check_access(_request(ctx, mapping))
    finally:
        connector.close()
    report.findings += access.findings
    _clock(report, access)
    if card is not None and access.options:
        _values(report, card, mapping, access.options)
    return report


def _approvers(report: DoctorReport, approvers: list[str], owner: str | None, where: str) -> None:
    name = report.connection
    if not approvers:
        report.add("approvers", "fail", f"connection {name!r} names no approvers, so nobody can approve a scorecard "
                   "version and nothing is ever scored", f"Add approvers = [\"you@example.com\"] under "
                   f"[connections.{name}] in {where} (`icp init` writes a config with them).")
    else:
        report.add("approvers", "ok", f"{len(approvers)} approver(s): {', '.join(approvers)}")
    if not owner:
        report.add("review", "warn", "no review.leadership_owner: proposed versions get no review task in the CRM",
                   f"Set leadership_owner = \"<a CRM user's email>\" under [connections.{name}.review] in {where}.")


def _store(report: DoctorReport, settings: Settings) -> bool:
    engine = make_engine(settings.database_url)
    where = engine.url.render_as_string(hide_password=True)
    try:
        migrate(engine)
        revision = current_revision(engine)
    except (StoreError, OSError) as exc:
        report.add("store", "fail", str(exc).splitlines()[0], "Check database_url (or ICP_DATABASE_URL), that the "
                   "server is up and the user may create tables; then `icp migrate`.")
        return False
    finally:
        engine.dispose()
    report.add("store", "ok", f"store at {where}, schema {revision}")
    return True


def _mapping(report: DoctorReport, ctx: Context) -> FieldMapping | None:
    path = ctx.settings.mapping_path(ctx.config)
    try:
        mapping = ctx.mapping
    except (ConfigError, MappingError) as exc:
        report.add("mapping", "fail", str(exc), f"Fix {path} (the message names the key).")
        return None
    if mapping.crm != ctx.config.crm:
        crm = ctx.config.crm
        report.add("mapping", "fail", f"{path} is a {mapping.crm} mapping, but the connection's crm is {crm}",
                   f"Use the {crm} mapping (mapping = \"{crm}-mapping.yaml\").")
        return None
    report.add("mapping", "ok", f"mapping {path}")
    return mapping


def _scorecard(report: DoctorReport, ctx: Context) -> Scorecard | None:
    """The scorecard that scores accounts: the version in force, else the starter hypothesis."""
    version = ctx.versions.in_force()
    if version is not None:
        report.add("scorecard", "ok", f"{version.label} is in force")
        return version.scorecard
    path = ctx.settings.starter_path(ctx.config)
    try:
        card = load_scorecard(path)
    except ScorecardError as exc:
        report.add("scorecard", "fail", str(exc), f"Fix {path}, or point starter_scorecard at a valid one.")
        return None
    report.add("scorecard", "ok", f"no version approved yet; the starter scorecard is {path}")
    return card


def _request(ctx: Context, mapping: FieldMapping) -> AccessRequest:
    assert mapping.owned is not None
    owned = mapping.owned.specs()
    written = {spec.name for spec in owned}
    reads = [name for name in mapping.account_properties() if name not in written]
    return AccessRequest(owned=owned, account_fields=reads, deal_fields=mapping.deal_properties(),
                         credential_source=_credential_source(ctx))


def _credential_source(ctx: Context) -> str:
    if ctx.config.crm == "hubspot":
        options = ctx.config.hubspot
        return f"token_file {options.token_file}" if options.token_file else options.token_env
    sf = ctx.config.salesforce
    names = {"client_credentials": (sf.client_id_env, sf.client_secret_env),
             "jwt_bearer": (sf.client_id_env, sf.username_env, sf.private_key_file_env),
             "password": (sf.username_env, sf.password_env, sf.security_token_env),
             "session_id": (sf.session_id_env,)}[sf.auth]
    return ", ".join(names) + (f" (or the secrets_file {sf.secrets_file})" if sf.secrets_file else "")


def _clock(report: DoctorReport, access: AccessReport) -> None:
    if access.server_time is None or access.local_time is None:
        report.add("clock", "warn", "the CRM sent no Date header, so the clock was not compared")
        return
    skew = skew_seconds(access.local_time, access.server_time)
    text = f"this machine's clock is {abs(skew):.0f} s {'ahead of' if skew > 0 else 'behind'} the CRM's"
    if abs(skew) < CLOCK_WARN_SECONDS:
        report.add("clock", "ok", f"{text} (within {CLOCK_WARN_SECONDS:.0f} s)")
        return
    status: Status = "fail" if abs(skew) >= CLOCK_FAIL_SECONDS else "warn"
    report.add("clock", status, f"{text}: sync windows are cut by this clock, and Salesforce JWT logins fail beyond "
               f"{CLOCK_FAIL_SECONDS:.0f} s", "Synchronise the clock with NTP (e.g. `timedatectl set-ntp true`).")


def _values(report: DoctorReport, card: Scorecard, mapping: FieldMapping,
            options: Mapping[str, tuple[str, ...]]) -> None:
    """Category values of the scorecard that no CRM option (or mapping translation) can ever produce."""
    unmatched = unmatched_values(card, mapping, options)
    for attribute, (crm_field, values) in unmatched.items():
        report.add("scorecard values", "warn", f"the scorecard's {attribute} values {', '.join(values)} are not "
                   f"options of the CRM field {crm_field}, so those bins never match",
                   f"Use the field's own values in the scorecard, or translate them in the mapping: "
                   f"{attribute}: {{field: {crm_field}, type: category, values: {{<scorecard value>: [<CRM value>]}}}}")
    if not unmatched:
        report.add("scorecard values", "ok", "every category value the scorecard scores is an option in the CRM")


def unmatched_values(card: Scorecard, mapping: FieldMapping,
                     options: Mapping[str, tuple[str, ...]]) -> dict[str, tuple[str, tuple[str, ...]]]:
    """attribute → (its CRM field, the scorecard's values no CRM option or translation yields)."""
    refs = mapping.accounts.attributes
    wanted: dict[str, set[str]] = {}
    for criterion in card.criteria:
        for b in criterion.bins:
            wanted.setdefault(criterion.attribute, set()).update(str(v) for v in b.values or ())
    for exclusion in card.exclusions:
        wanted.setdefault(exclusion.when.attribute, set()).update(str(v) for v in exclusion.when.values or ())
    found: dict[str, tuple[str, tuple[str, ...]]] = {}
    for attribute, values in wanted.items():
        ref = refs.get(attribute)
        if ref is None or ref.type not in ("category", "text") or ref.field not in options or not values:
            continue
        reachable = {normalise_category(ref.translate(o)) for o in options[ref.field]}
        reachable |= {normalise_category(k) for k in ref.values}
        missing = tuple(sorted(v for v in values if normalise_category(v) not in reachable))
        if missing:
            found[attribute] = (ref.field, missing)
    return found


def skew_seconds(local: datetime, server: datetime) -> float:
    """How far this machine's clock is ahead of the CRM's (negative: behind)."""
    return (local - server).total_seconds()

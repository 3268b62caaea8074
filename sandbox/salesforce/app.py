"""The Salesforce personality: a SandboxServer that speaks REST, OAuth, SOAP login() and Bulk API 2.0 over TLS.

simple-salesforce only builds ``https://`` URLs, so this personality always serves TLS with a
certificate generated at start; clients trust ``ca_path`` (and nothing else is trusted less).
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from sandbox.clock import to_ms
from sandbox.ratelimit import RateState
from sandbox.salesforce.auth import Credentials, LoginEndpoints, Sessions
from sandbox.salesforce.bulk import BulkEndpoints
from sandbox.salesforce.composite import CollectionEndpoints, WriteFaults
from sandbox.salesforce.deploy import read_package
from sandbox.salesforce.loader import load_org
from sandbox.salesforce.org import Org, SObjectTable
from sandbox.salesforce.rest import QueryFaults, RestEndpoints, sf_error
from sandbox.salesforce.setup import SetupEndpoints
from sandbox.server import Response, Route, SandboxServer
from sandbox.tls import generate_certificate
from sandbox.world import World

__all__ = ["SalesforceSandbox", "ERROR_CODES"]

ERROR_CODES = {400: "MALFORMED_QUERY", 401: "INVALID_SESSION_ID", 403: "INSUFFICIENT_ACCESS", 404: "NOT_FOUND",
               500: "UNKNOWN_EXCEPTION", 502: "SERVER_UNAVAILABLE", 503: "SERVER_UNAVAILABLE",
               504: "SERVER_UNAVAILABLE"}
DATA = "/services/data/v{version}"


class SalesforceSandbox(SandboxServer):
    """A fake Salesforce org serving ``world`` on https://127.0.0.1.

    The org starts without the fields the worker owns; ``deploy()`` applies an SFDX package the
    way an admin would, and the connector's own setup can add them through the Tooling API.
    """

    def __init__(self, world: World, port: int = 0, credentials: Credentials | None = None) -> None:
        self._dir = Path(tempfile.mkdtemp(prefix="icp-sf-sandbox-"))
        self.certificate = generate_certificate(self._dir)
        super().__init__(port=port, ssl_context=self.certificate.server_context())
        self.world = world
        self.credentials = credentials or Credentials()
        self.org: Org = load_org(world, self.clock)
        self.sessions = Sessions()
        self.write_faults = WriteFaults()
        self.query_faults = QueryFaults()
        self.setup = SetupEndpoints(self.org)
        self.rest = RestEndpoints(self.org, self.limiter, self.query_faults, self.setup.on_create)
        self.bulk = BulkEndpoints(self.org, self.write_faults)
        self._register()

    def _register(self) -> None:
        login = LoginEndpoints(self.credentials, self.sessions, lambda: self.url, self.org.org_id, self.org.user_id)
        collections = self.collections = CollectionEndpoints(self.org, self.write_faults, self.rest.create)
        self.route("POST", "/services/oauth2/token", login.token, public=True)
        self.route("POST", "/services/Soap/u/{version}", login.soap_login, public=True)
        self.route("GET", "/services/oauth2/userinfo", login.userinfo)
        self.route("GET", f"{DATA}/limits", self.rest.limits)
        for name, deleted in (("query", False), ("queryAll", True)):
            self.route("GET", f"{DATA}/{name}", self.rest.query(deleted))
            self.route("GET", f"{DATA}/{name}/{{locator}}", self.rest.query_more(deleted))
        self.route("PATCH", f"{DATA}/composite/sobjects", collections.update)
        self.route("POST", f"{DATA}/composite/sobjects", collections.create)
        self.route("PATCH", f"{DATA}/composite/sobjects/{{sobject}}/{{field}}", collections.upsert)
        self.route("POST", f"{DATA}/tooling/sobjects/CustomField", self.setup.create_custom_field)
        jobs = f"{DATA}/jobs/ingest"
        self.route("POST", jobs, self.bulk.create)
        self.route("PUT", f"{jobs}/{{job}}/batches", self.bulk.upload)
        self.route("PATCH", f"{jobs}/{{job}}", self.bulk.set_state)
        self.route("GET", f"{jobs}/{{job}}", self.bulk.get)
        self.route("GET", f"{jobs}/{{job}}/failedResults", self.bulk.failed_results)
        self.route("GET", f"{jobs}/{{job}}/successfulResults", self.bulk.successful_results)
        sobjects = f"{DATA}/sobjects/{{sobject}}"
        self.route("GET", f"{sobjects}/describe", self.rest.describe)
        self.route("GET", f"{sobjects}/{{id}}", self.rest.get_record)
        self.route("PATCH", f"{sobjects}/{{id}}", self.rest.patch_record)
        self.route("POST", sobjects, self.rest.create_record)
        self.route("PATCH", f"{sobjects}/{{field}}/{{value}}", self.rest.upsert_record)

    # -- what clients need -------------------------------------------------------------------

    @property
    def ca_path(self) -> Path:
        """The certificate clients must trust (``requests``' ``verify=``)."""
        return self.certificate.cert_path

    @property
    def collection_sizes(self) -> list[int]:
        """The number of records in each ``composite/sobjects`` update of Accounts so far, in order."""
        return list(self.collections.sizes)

    def issue_session(self) -> str:
        """A valid session id, as if the integration user had logged in elsewhere."""
        return self.sessions.issue()

    def enable_jwt(self) -> Path:
        """Register a connected-app certificate for the JWT bearer flow; returns the private key file."""
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        path = self._dir / "connected-app-key.pem"
        path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
        path.chmod(0o600)
        self.credentials.jwt_public_keys.append(key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
        return path

    def stop(self) -> None:
        """Stop serving and delete the generated certificate and keys."""
        super().stop()
        shutil.rmtree(self._dir, ignore_errors=True)

    # -- state changes a test or a rep makes --------------------------------------------------

    def table(self, sobject: str) -> SObjectTable:
        """An sObject's records."""
        table = self.org.table(sobject)
        if table is None:
            raise KeyError(sobject)
        return table

    def ids(self, sobject: str) -> list[str]:
        """Ids of the live records of an sObject, in creation order."""
        return [i for i, r in self.table(sobject).records.items() if not r.get("IsDeleted")]

    def values(self, sobject: str, record_id: str) -> dict[str, Any]:
        """Every stored value of a record (datetimes as epoch milliseconds)."""
        return dict(self.table(sobject).records[record_id])

    def update_record(self, sobject: str, record_id: str, values: Mapping[str, Any],
                      modified_at: datetime | None = None) -> None:
        """Edit a record like a rep would; SystemModstamp moves to ``modified_at`` (default: now)."""
        with self.lock:
            table = self.table(sobject)
            record = table.records[record_id]
            coerced = self.org.coerce(table, values)
            old = {k: record.get(k) for k in coerced}
            record.update(coerced)
            self.org.derive(table, record)
            at = None if modified_at is None else to_ms(modified_at)
            self.org.stamp(record, at)
            self.org.track(table, record, old, at)

    def touch(self, ids: Iterable[str], at: datetime, sobject: str = "Account") -> None:
        """Stamp many records with the same SystemModstamp (a mass update)."""
        with self.lock:
            table = self.table(sobject)
            for record_id in ids:
                self.org.stamp(table.records[record_id], to_ms(at))

    def delete(self, sobject: str, record_id: str, at: datetime | None = None) -> None:
        """Move a record to the recycle bin (IsDeleted; still visible to queryAll)."""
        with self.lock:
            record = self.table(sobject).records[record_id]
            record["IsDeleted"] = True
            self.org.stamp(record, None if at is None else to_ms(at))

    def expire_sessions(self) -> None:
        """End every session, as a session timeout would."""
        self.sessions.expire_all()

    def expire_sessions_after(self, calls: int) -> None:
        """End every session after ``calls`` more authenticated calls (a timeout in the middle of a run)."""
        self.sessions.expire_after(calls)

    def reject_sessions(self, rejecting: bool = True) -> None:
        """Make every session fail (logins still succeed): a persistent 401."""
        self.sessions.rejecting = rejecting

    def fail_ids_on_update(self, ids: set[str], times: int = 1, code: str = "UNABLE_TO_LOCK_ROW",
                           message: str = "unable to obtain exclusive access to this record") -> None:
        """Make collection and bulk updates fail for ``ids`` in the next ``times`` writes including them."""
        self.write_faults.add(ids, times, code, message)

    def fail_queries(self, sobject: str, status: int = 403, code: str = "REQUEST_LIMIT_EXCEEDED",
                     message: str = "TotalRequests Limit exceeded.", times: int = 1) -> None:
        """Answer the next ``times`` queries of ``sobject`` with an error."""
        self.query_faults.add(sobject, status, code, message, times)

    def delete_field(self, sobject: str, name: str) -> bool:
        """Delete a custom field as an admin would (its field permissions go with it); True if it existed."""
        with self.lock:
            table = self.table(sobject)
            found = table.field_named(name, visible_only=False)
            if found is None:
                return False
            del table.fields[found.name]
            permissions = self.org.tables["FieldPermissions"].records
            for row_id in [i for i, r in permissions.items() if r.get("Field") == f"{table.name}.{found.name}"]:
                del permissions[row_id]
            return True

    def deploy(self, source: Path, assign: str | None = "ICP_Worker") -> None:
        """Deploy an SFDX source package (custom fields, permission sets) and assign one permission set."""
        with self.lock:
            self.setup.deploy(read_package(source), assign)

    # -- personality hooks --------------------------------------------------------------------

    def accepts_token(self, token: str) -> bool:
        return self.sessions.valid(token)

    def parse_body(self, headers: Mapping[str, str], raw: bytes) -> Any:
        kind = headers.get("content-type", "application/json").split(";")[0].strip().lower()
        if kind == "application/x-www-form-urlencoded":
            return {k: v[0] for k, v in parse_qs(raw.decode("utf-8"), keep_blank_values=True).items()}
        if kind.endswith("json"):
            return json.loads(raw) if raw else None
        return None

    def error_response(self, status: int, message: str | None = None, **extra: Any) -> Response:
        return sf_error(status, ERROR_CODES.get(status, "UNKNOWN_EXCEPTION"), message or f"HTTP {status}", **extra)

    def unauthorized_response(self) -> Response:
        return sf_error(401, "INVALID_SESSION_ID", "Session expired or invalid")

    def not_found_response(self, message: str) -> Response:
        return sf_error(404, "NOT_FOUND", "The requested resource does not exist")

    def rate_limited_response(self, policy: str) -> Response:
        return sf_error(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")

    def decorate(self, route: Route, response: Response, state: RateState) -> None:
        if not route.public:
            used = state.daily - state.daily_remaining
            response.headers["Sforce-Limit-Info"] = f"api-usage={used}/{state.daily}"

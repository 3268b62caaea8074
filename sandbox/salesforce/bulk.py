"""Bulk API 2.0 ingest jobs: create, upload CSV, close, poll, failed and successful results."""

from __future__ import annotations

import csv
import io
import itertools
from dataclasses import dataclass, field
from typing import Any

from sandbox.salesforce.composite import WriteFaults
from sandbox.salesforce.org import Org, RecordError, render_datetime
from sandbox.salesforce.rest import sf_error
from sandbox.server import Request, Response

__all__ = ["BulkEndpoints", "IngestJob"]

_CSV = {"Content-Type": "text/csv; charset=UTF-8"}


@dataclass
class IngestJob:
    """One ingest job and its outcome."""

    id: str
    sobject: str
    operation: str
    created_by: str = ""
    created_ms: int = 0
    modified_ms: int = 0
    state: str = "Open"
    data: list[str] = field(default_factory=list)
    succeeded: list[dict[str, str]] = field(default_factory=list)
    failed: list[tuple[dict[str, str], str]] = field(default_factory=list)

    def info(self, version: str) -> dict[str, Any]:
        """The job's JSON description (JobInfo: the response body properties of Bulk API 2.0 "Create a Job",
        developer.salesforce.com/docs/platform/api-asynch/guide/create-job.html)."""
        return {"id": self.id, "operation": self.operation, "object": self.sobject, "createdById": self.created_by,
                "createdDate": render_datetime(self.created_ms), "systemModstamp": render_datetime(self.modified_ms),
                "state": self.state, "concurrencyMode": "Parallel", "jobType": "V2Ingest",
                "contentType": "CSV", "columnDelimiter": "COMMA", "lineEnding": "LF", "apiVersion": float(version),
                "contentUrl": f"services/data/v{version}/jobs/ingest/{self.id}/batches",
                "numberRecordsProcessed": len(self.succeeded) + len(self.failed),
                "numberRecordsFailed": len(self.failed)}


class BulkEndpoints:
    """Handlers under ``jobs/ingest``. Only ``update`` is processed; a job completes on the first poll after close."""

    def __init__(self, org: Org, faults: WriteFaults) -> None:
        self.org, self.faults = org, faults
        self.jobs: dict[str, IngestJob] = {}
        self._numbers = itertools.count(1)

    def _job(self, request: Request) -> IngestJob | None:
        return self.jobs.get(request.params["job"])

    def create(self, request: Request) -> Response:
        """``POST jobs/ingest``."""
        body = request.body if isinstance(request.body, dict) else {}
        table = self.org.table(str(body.get("object", "")))
        if table is None or body.get("operation") != "update" or body.get("contentType", "CSV") != "CSV":
            return sf_error(400, "INVALIDJOB", "InvalidJob : only CSV update jobs of a known object are supported")
        now = self.org.clock.now_ms()
        job = IngestJob(f"750Sb{next(self._numbers):010d}AAA", table.name, "update", self.org.user_id, now, now)
        self.jobs[job.id] = job
        return Response(200, job.info(request.params["version"]))

    def upload(self, request: Request) -> Response:
        """``PUT jobs/ingest/{job}/batches``: CSV data (201)."""
        job = self._job(request)
        if job is None or job.state != "Open":
            return sf_error(400, "INVALIDJOBSTATE", "Job is not open for uploads")
        job.data.append(request.raw.decode("utf-8"))
        return Response(201)

    def set_state(self, request: Request) -> Response:
        """``PATCH jobs/ingest/{job}``: UploadComplete or Aborted."""
        job = self._job(request)
        state = (request.body or {}).get("state") if isinstance(request.body, dict) else None
        if job is None:
            return sf_error(404, "NOT_FOUND", "The requested resource does not exist")
        if state not in ("UploadComplete", "Aborted"):
            return sf_error(400, "INVALIDJOBSTATE", f"cannot move a job to {state}")
        job.state = state
        job.modified_ms = self.org.clock.now_ms()
        return Response(200, job.info(request.params["version"]))

    def get(self, request: Request) -> Response:
        """``GET jobs/ingest/{job}``: processes an uploaded job, then reports JobComplete."""
        job = self._job(request)
        if job is None:
            return sf_error(404, "NOT_FOUND", "The requested resource does not exist")
        if job.state == "UploadComplete":
            self._process(job)
            job.state = "JobComplete"
            job.modified_ms = self.org.clock.now_ms()
        return Response(200, job.info(request.params["version"]))

    def _process(self, job: IngestJob) -> None:
        table = self.org.tables[job.sobject]
        rows = [row for text in job.data for row in csv.DictReader(io.StringIO(text))]
        forced = self.faults.take([row.get("Id", "") for row in rows])
        for row in rows:
            values = {k: (None if v == "#N/A" else v) for k, v in row.items() if k != "Id" and v != ""}
            try:
                if row.get("Id", "") in forced:
                    raise forced[row["Id"]]
                self.org.apply(table, row.get("Id", ""), values)
                job.succeeded.append(row)
            except RecordError as exc:
                job.failed.append((row, f"{exc.code}:{exc.message}:{'--'.join(exc.fields)}"))

    def failed_results(self, request: Request) -> Response:
        """``GET jobs/ingest/{job}/failedResults``: CSV of sf__Id, sf__Error and the uploaded columns."""
        job = self._job(request)
        if job is None:
            return sf_error(404, "NOT_FOUND", "The requested resource does not exist")
        columns = list(job.failed[0][0]) if job.failed else ["Id"]
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["sf__Id", "sf__Error", *columns])
        for row, error in job.failed:
            writer.writerow([row.get("Id", ""), error, *(row.get(c, "") for c in columns)])
        return Response(200, raw=out.getvalue().encode(), headers=dict(_CSV))

    def successful_results(self, request: Request) -> Response:
        """``GET jobs/ingest/{job}/successfulResults``: CSV of sf__Id, sf__Created and the uploaded columns."""
        job = self._job(request)
        if job is None:
            return sf_error(404, "NOT_FOUND", "The requested resource does not exist")
        columns = list(job.succeeded[0]) if job.succeeded else ["Id"]
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["sf__Id", "sf__Created", *columns])
        for row in job.succeeded:
            writer.writerow([row.get("Id", ""), "false", *(row.get(c, "") for c in columns)])
        return Response(200, raw=out.getvalue().encode(), headers=dict(_CSV))

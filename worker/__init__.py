"""ICP Worker: keeps an Ideal Customer Profile honest against a CRM.

The packages follow the stages of the nightly cycle:

- ``worker.ingest``: incremental pulls, the field mapping, the watermark, canonical records, CSV import.
- ``worker.score``: the scorecard document and its pure scorer, scoring the store, scorecard versions.
- ``worker.refine``: the statistical refinement engine and its brief (pure: no I/O).
- ``worker.govern``: proposals from refinement, approval, review tasks.
- ``worker.writeback``: writing owned values back to the CRM.
- ``worker.monitor`` and ``worker.report``: drift, measurement, status and reports.
- ``worker.operate``: the cycle, the scheduler, run locks, health checks, the demo.
- ``worker.store``: the SQLModel store and its migrations; ``worker.cli``: the ``icp`` command.

``worker.logs``, ``worker.settings`` and ``worker.context`` sit at the base, used by all.
"""

__version__ = "0.1.0"

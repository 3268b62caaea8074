"""ICP Worker: keeps an Ideal Customer Profile honest against a CRM.

Packages: ``worker.store`` (SQLModel store and migrations), ``worker.scorecard``
(the scorecard document and the pure, vectorised scorer), ``worker.sync``
(incremental pulls), ``worker.writeback``, ``worker.refine`` (evidence-based
refinement), and ``worker.cli`` (the ``icp`` command).
"""

__version__ = "0.1.0"

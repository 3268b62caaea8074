"""``python -m worker.cli`` runs the ``icp`` command."""

from worker.cli import main

main()

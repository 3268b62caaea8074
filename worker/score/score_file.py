"""Score arbitrary accounts from a CSV file against a scorecard version (the "score these against our ICP" use)."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from worker.ingest.csv_import import CsvMapping, RowParser, RowProblem, _BadField, read_rows, row_key
from worker.private import open_private
from worker.score.scorecard import Scorecard, Scorer

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: str) -> str:
    """A cell a spreadsheet shows as text: one starting ``= + - @`` (or a tab or carriage return) gets a
    leading apostrophe, so ``=HYPERLINK(...)``, ``+cmd|...``, ``@SUM(...)`` and a reason like ``+25 ...``
    are never run as formulas (OWASP, "CSV Injection")."""
    return f"'{value}" if value.startswith(FORMULA_START) else value


@dataclass
class ScoreFileReport:
    """How many rows were scored and which could not be."""

    scored: int = 0
    by_tier: dict[str, int] = field(default_factory=dict)
    problems: list[RowProblem] = field(default_factory=list)


def score_file(input_path: Path, mapping: CsvMapping, card: Scorecard, label: str, output: Path) -> ScoreFileReport:
    """Write id, score, tier, version and reasons for every row of ``input_path`` that parses."""
    parse = RowParser(mapping.date_format)
    cols = mapping.accounts
    ids: list[str] = []
    values: dict[str, list[object]] = {name: [] for name in cols.attributes}
    report = ScoreFileReport()
    for number, row in read_rows(input_path, mapping.delimiter, mapping.encoding, report.problems):
        try:
            key = parse.value(row, cols.id) if cols.id is not None else row_key(input_path.name, number)
            if not key:
                raise _BadField(cols.id.column if cols.id else "id", "empty account key")
            parsed = parse.fields(row, cols.attributes)
        except _BadField as exc:
            report.problems.append(RowProblem(input_path.name, number, exc.field, exc.reason))
            continue
        ids.append(str(key))
        for name in cols.attributes:
            values[name].append(parsed[name])
    result = Scorer(card).score({k: np.array(v, dtype=object) for k, v in values.items()}, n=len(ids))
    reasons = result.reasons()
    with open_private(output, newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "score", "tier", "version", "reasons"])
        for i, account_id in enumerate(ids):
            writer.writerow([spreadsheet_safe(account_id), int(result.scores[i]), spreadsheet_safe(result.tiers[i]),
                             spreadsheet_safe(label), spreadsheet_safe("; ".join(reasons[i]))])
    report.scored, report.by_tier = len(ids), result.tier_counts()
    return report

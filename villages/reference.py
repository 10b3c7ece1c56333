"""Reference divisions (GB/T 2260) shipped with the registry in ``villages/data/divisions.csv``."""

from __future__ import annotations

import csv
from pathlib import Path

from django.db import transaction

from villages import services
from villages.models import Division

DIVISIONS_CSV = Path(__file__).resolve().parent / "data" / "divisions.csv"


def read_reference_divisions(path: Path = DIVISIONS_CSV) -> list[dict]:
    """Return the rows of the reference CSV, parents before children."""
    with path.open(encoding="utf-8", newline="") as handle:
        return sorted(csv.DictReader(handle), key=lambda row: (len(row["parent_code"]), row["code"]))


@transaction.atomic
def load_reference_divisions(*, actor=None, path: Path = DIVISIONS_CSV) -> dict[str, int]:
    """Create missing reference divisions and rename changed ones; return the counts.

    Idempotent: a second run changes nothing and writes no audit row.
    """
    existing = {d.code: d for d in Division.objects.all()}
    created = renamed = 0
    for row in read_reference_divisions(path):
        division = existing.get(row["code"])
        if division is None:
            parent = existing.get(row["parent_code"]) if row["parent_code"] else None
            division = services.division_create(
                actor=actor, code=row["code"], name=row["name"], level=row["level"], parent=parent
            )
            existing[division.code] = division
            created += 1
        elif division.name != row["name"]:
            services.division_rename(actor=actor, division=division, name=row["name"])
            renamed += 1
    return {"created": created, "renamed": renamed, "total": len(existing)}

"""FHIR R4 in and out: codes (every code used), export (records -> Bundle), read (file -> checked records).

The store's import path writes what a file holds, all or nothing and deduplicated like a CSV import.
"""

from __future__ import annotations

from datetime import date

from hipdata.fhir.read import FhirError, read_fhir


def export_json(store, actor, patient_id: str | None = None, as_of: date | None = None) -> bytes:
    """One Bundle (type collection) as JSON; checked with the R4B models and the project's rules first."""
    from hipdata.fhir import export

    data = export.to_json(export.bundle(store, actor, patient_id, as_of))
    read_fhir(data, today=date.max)  # an export hipdata cannot read back is a bug: fail loudly, not later
    return data


def import_json(store, actor, data: bytes, today: date | None = None):
    """Import a FHIR file (Bundle or single Observation) all or nothing; raise FhirError naming every problem."""
    records = read_fhir(data, today)
    return store.import_records(
        actor, records.patients, records.readings, {"lefs": records.lefs, "psfs": records.psfs}
    )


__all__ = ["FhirError", "export_json", "import_json", "read_fhir"]

"""hipdata records -> one FHIR R4 Bundle (type collection), as plain JSON-ready dicts.

A Patient per patient, an Observation per reading, and each LEFS and PSFS as a QuestionnaireResponse (with its
Questionnaire) plus an Observation of the score derived from it. Numbers are written unrounded.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime

import pandas as pd

from hipdata import catalog, lefs, psfs
from hipdata.fhir import codes

NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, codes.BASE)


def _uuid(*parts) -> str:
    """A stable id for one record of one database, so exporting twice gives the same file."""
    return str(uuid.uuid5(NAMESPACE, "/".join(map(str, parts))))


def _entry(resource: dict) -> dict:
    full_url = resource.get("url") or f"urn:uuid:{resource['id']}"  # a Questionnaire by its canonical URL
    return {"fullUrl": full_url, "resource": resource}


def _coding(system: str, code: str, display: str | None = None) -> dict:
    return {"system": system, "code": code, **({"display": display} if display else {})}


def _category(code: str) -> list[dict]:
    return [{"coding": [_coding(codes.CATEGORY_SYSTEM, code, code.capitalize())]}]


def _day(value) -> str:
    return pd.Timestamp(value).strftime("%Y-%m-%d")


def _quantity(value: float, unit: str) -> dict:
    code, shown = codes.UCUM_UNITS[unit]
    return {"value": float(value), "unit": shown, "system": codes.UCUM, "code": code}


def questionnaires() -> list[dict]:
    """The LEFS and PSFS Questionnaires that the responses point at by canonical URL."""

    def limits(low: int, high: int) -> list[dict]:
        return [
            {"url": "http://hl7.org/fhir/StructureDefinition/minValue", "valueInteger": low},
            {"url": "http://hl7.org/fhir/StructureDefinition/maxValue", "valueInteger": high},
        ]

    lefs_items = [
        {"linkId": str(i), "text": item, "type": "integer", "required": True, "extension": limits(0, 4)}
        for i, item in enumerate(lefs.ITEMS, start=1)
    ]
    psfs_items = [
        {"linkId": f"activity-{i}", "text": f"Activity {i}", "type": "group",
         "required": i <= psfs.MIN_ACTIVITIES,
         "item": [
             {"linkId": f"activity-{i}.name", "text": "An activity you find hard", "type": "string",
              "required": True, "maxLength": psfs.ACTIVITY_MAX},
             {"linkId": f"activity-{i}.rating", "text": "0 = unable, 10 = able to do it as before",
              "type": "integer", "required": True, "extension": limits(psfs.RATING_MIN, psfs.RATING_MAX)},
         ]}
        for i in range(1, psfs.MAX_ACTIVITIES + 1)
    ]  # fmt: skip
    return [
        {"resourceType": "Questionnaire", "id": "lefs", "url": codes.LEFS_QUESTIONNAIRE, "name": "LEFS",
         "title": "Lower Extremity Functional Scale (Binkley 1999)", "status": "active",
         "subjectType": ["Patient"], "item": lefs_items},
        {"resourceType": "Questionnaire", "id": "psfs", "url": codes.PSFS_QUESTIONNAIRE, "name": "PSFS",
         "title": "Patient-Specific Functional Scale (Stratford 1995)", "status": "active",
         "subjectType": ["Patient"], "item": psfs_items},
    ]  # fmt: skip


def patient(patient_id: str, display_name: str) -> dict:
    resource = {
        "resourceType": "Patient",
        "id": _uuid("patient", patient_id),
        "identifier": [{"system": codes.PATIENT_SYSTEM, "value": patient_id}],
    }
    if display_name:
        resource["name"] = [{"text": display_name}]
    return resource


def _subject(patient_id: str) -> dict:
    return {
        "reference": f"urn:uuid:{_uuid('patient', patient_id)}",
        "identifier": {"system": codes.PATIENT_SYSTEM, "value": patient_id},
    }


def reading(r: dict) -> dict:
    """One reading (a row of Store.readings) as an Observation."""
    m = catalog.MEASURES[r["measure"]]
    coding = [_coding(codes.MEASURE_SYSTEM, m.id, m.label)]
    if m.group == "pain":
        coding.insert(0, _coding(codes.LOINC, *codes.PAIN_LOINC))
    resource = {
        "resourceType": "Observation",
        "id": _uuid("reading", r["patient_id"], r["id"]),
        "status": "final",
        "category": _category(codes.CATEGORIES[m.group]),
        "code": {"coding": coding, "text": m.label},
        "subject": _subject(r["patient_id"]),
        "effectiveDateTime": _day(r["date"]),
        "valueQuantity": _quantity(r["value"], m.unit),
    }
    site = codes.body_site(m.id, r["side"])
    if site:
        resource["bodySite"] = {"coding": [_coding(codes.SNOMED, *site)], "text": site[1]}
    extensions = []
    if r["position"]:
        coding = [_coding(codes.POSITION_SYSTEM, r["position"], codes.context_label(r["position"]))]
        if r["position"] in codes.POSITIONS:
            coding.insert(0, _coding(codes.SNOMED, *codes.POSITIONS[r["position"]]))
        extensions.append(
            {"url": codes.BODY_POSITION_EXTENSION,
             "valueCodeableConcept": {"coding": coding, "text": codes.context_label(r["position"])}}
        )  # fmt: skip
    if r["mode"]:
        extensions.append({"url": codes.MODE_EXTENSION, "valueCode": r["mode"]})
    if extensions:
        resource["extension"] = extensions
    if r["method"]:
        label = codes.context_label(r["method"])
        resource["method"] = {"coding": [_coding(codes.METHOD_SYSTEM, r["method"], label)], "text": label}
    if r["measured_by"] == "self":
        resource["performer"] = [{**_subject(r["patient_id"]), "display": "the patient (self-measured)"}]
    elif r["measured_by"] == "therapist":
        resource["performer"] = [{"type": "Practitioner", "display": "therapist"}]
    if r["note"]:
        resource["note"] = [{"text": r["note"]}]
    return resource


def _score(kind: str, patient_id: str, day, value: float, response: dict, row_id) -> dict:
    code, label = {"lefs": codes.LEFS_TOTAL, "psfs": codes.PSFS_MEAN}[kind]
    return {
        "resourceType": "Observation",
        "id": _uuid(kind, "score", patient_id, row_id),
        "status": "final",
        "category": _category("survey"),
        "code": {"coding": [_coding(codes.MEASURE_SYSTEM, code, label)], "text": label},
        "subject": _subject(patient_id),
        "effectiveDateTime": _day(day),
        "valueQuantity": _quantity(value, "nprs"),
        "derivedFrom": [{"reference": f"urn:uuid:{response['id']}"}],
    }


def _response(kind: str, patient_id: str, day, items: list[dict], row_id) -> dict:
    return {
        "resourceType": "QuestionnaireResponse",
        "id": _uuid(kind, patient_id, row_id),
        "questionnaire": {"lefs": codes.LEFS_QUESTIONNAIRE, "psfs": codes.PSFS_QUESTIONNAIRE}[kind],
        "status": "completed",
        "subject": _subject(patient_id),
        "authored": _day(day),
        "item": items,
    }


def lefs_resources(r: dict) -> list[dict]:
    items = [
        {"linkId": str(i), "text": text, "answer": [{"valueInteger": int(a)}]}
        for i, (text, a) in enumerate(zip(lefs.ITEMS, r["answers"], strict=True), start=1)
    ]
    response = _response("lefs", r["patient_id"], r["date"], items, r["id"])
    return [response, _score("lefs", r["patient_id"], r["date"], r["total"], response, r["id"])]


def psfs_resources(r: dict) -> list[dict]:
    names, ratings = json.loads(r["activities"]), json.loads(r["ratings"])
    items = [
        {"linkId": f"activity-{i}", "text": f"Activity {i}", "item": [
            {"linkId": f"activity-{i}.name", "text": "Activity", "answer": [{"valueString": name}]},
            {"linkId": f"activity-{i}.rating", "text": "Rating 0-10", "answer": [{"valueInteger": rating}]},
        ]}
        for i, (name, rating) in enumerate(zip(names, ratings, strict=True), start=1)
    ]  # fmt: skip
    response = _response("psfs", r["patient_id"], r["date"], items, r["id"])
    return [response, _score("psfs", r["patient_id"], r["date"], r["score"], response, r["id"])]


def _records(frame: pd.DataFrame) -> list[dict]:
    """Rows as dicts with missing values as None (pandas NaN and None alike)."""
    return frame.astype(object).where(frame.notna(), None).to_dict("records")


def bundle(store, actor, patient_id: str | None = None, as_of: date | None = None) -> dict:
    """Everything the actor may see (or one patient), dated on or before as_of (default: everything)."""
    patients = store.patients(actor)
    if patient_id is not None:
        patients = patients[patients["patient_id"] == patient_id]
    readings = store.readings(actor, patient_id, as_of)
    scores = {}
    for table in ("lefs", "psfs"):
        rows = store.records(actor, table, patient_id)
        if as_of is not None:
            rows = rows[pd.to_datetime(rows["date"]) <= pd.Timestamp(as_of)]
        scores[table] = rows.sort_values(["patient_id", "date", "id"])
    resources = [
        *questionnaires(),
        *(patient(p, n or "") for p, n in zip(patients["patient_id"], patients["display_name"], strict=True)),
        *(reading(r) for r in _records(readings)),
        *(res for r in _records(scores["lefs"]) for res in lefs_resources(r)),
        *(res for r in _records(scores["psfs"]) for res in psfs_resources(r)),
    ]
    return {
        "resourceType": "Bundle",
        "id": str(uuid.uuid4()),
        "meta": {"lastUpdated": datetime.now(UTC).isoformat(timespec="seconds")},
        "type": "collection",
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "entry": [_entry(r) for r in resources],
    }


def to_json(resource: dict) -> bytes:
    """JSON text; floats are written as the shortest text that reads back to the same number."""
    return json.dumps(resource, ensure_ascii=False, allow_nan=False, indent=1).encode("utf-8")

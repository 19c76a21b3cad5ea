"""A FHIR R4 JSON file -> hipdata records, or one error naming every problem by entry index and element path.

Reads Bundles as hipdata exports them and single Observations with the same codes. First the file must pass
the fhir.resources R4B models; then the project's checks add what the models accept but FHIR or hipdata
does not: status values, code systems, UCUM units, body sites that carry the side. The readings then go
through the same rules as a CSV file (validate.clean_readings), so both accept and refuse the same values.
Unknown codes are refused by name, never dropped.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date

import pandas as pd
from pydantic import ValidationError as ModelError

from hipdata import catalog, lefs, psfs
from hipdata.contract import PATIENT_ID_MAX, READING_COLUMNS, Problem, ValidationError
from hipdata.fhir import codes
from hipdata.text import counted
from hipdata.validate import clean_readings

ALLOWED_TYPES = ("Patient", "Observation", "QuestionnaireResponse", "Questionnaire")
_DATE_TIME = re.compile(r"(\d{4}-\d{2}-\d{2})(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?")
# Where each readings column comes from, for naming a problem the CSV rules found.
_ELEMENT = {
    "patient_id": "subject", "date": "effectiveDateTime", "measure": "code", "side": "bodySite",
    "value": "valueQuantity.value", "method": "method", "position": "extension(observation-bodyPosition)",
    "mode": "extension(measurement-mode)", "measured_by": "performer", "note": "note",
}  # fmt: skip
_SITE_BY_CODE = {code: key for key, (code, _) in codes.BODY_SITES.items()}
_POSITION_BY_SNOMED = {code: position for position, (code, _) in codes.POSITIONS.items()}


class FhirProblem(Problem):
    """A problem at one element: `row` is the entry index, `column` the element's full path."""

    def __str__(self) -> str:
        return (
            f"{self.column} = {self.value!r}: {self.message}"
            if self.value
            else f"{self.column}: {self.message}"
        )


class FhirError(ValidationError):
    def __init__(self, problems: list[Problem]):
        super().__init__(problems)
        entries = {p.row for p in problems if p.row is not None}
        head = counted(len(problems), "problem") + (
            f" in {counted(len(entries), 'entry', 'entries')}" if entries else ""
        )
        ValueError.__init__(self, head + ":\n" + "\n".join(str(p) for p in problems))


@dataclass
class Records:
    """What a file holds, checked: ready for Store.import_fhir."""

    patients: pd.DataFrame  # patient_id, display_name
    readings: pd.DataFrame  # as validate.clean_readings returns them
    lefs: pd.DataFrame  # patient_id, date, answers, total
    psfs: pd.DataFrame  # patient_id, date, activities, ratings, score


@dataclass
class _Reader:
    today: date
    problems: list[Problem] = field(default_factory=list)
    patients: dict[str, str] = field(default_factory=dict)  # fullUrl -> patient id
    names: dict[str, str] = field(default_factory=dict)  # patient id -> display name
    responses: dict[str, tuple] = field(default_factory=dict)  # fullUrl -> (kind, score)
    scores: list[tuple] = field(default_factory=list)  # (index, prefix, kind, value, derivedFrom reference)
    raw: list[dict] = field(default_factory=list)
    raw_entries: list[tuple[int, str]] = field(default_factory=list)
    lefs_rows: list[dict] = field(default_factory=list)
    psfs_rows: list[dict] = field(default_factory=list)

    def fail(self, index: int | None, path: str, value, message: str) -> None:
        shown = "" if value is None else (value if isinstance(value, str) else json.dumps(value))
        self.problems.append(FhirProblem(index, path, shown[:120], message))


def read_fhir(data: bytes, today: date | None = None) -> Records:
    """Parse and check a FHIR JSON file; raise FhirError naming every problem (nothing is half-read)."""
    today = today or date.today()
    try:
        document = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise FhirError([FhirProblem(None, "file", "", "is not UTF-8 text")]) from None
    except json.JSONDecodeError as error:
        raise FhirError([FhirProblem(None, "file", "", f"is not JSON: {error}")]) from None
    kind = document.get("resourceType") if isinstance(document, dict) else None
    if kind not in ("Bundle", "Observation"):
        raise FhirError(
            [FhirProblem(None, "resourceType", str(kind or ""), "must be a Bundle or a single Observation")]
        )
    _check_models(document, kind)
    reader = _Reader(today)
    if kind == "Bundle":
        entries = [
            (i, f"entry[{i}].resource", e.get("resource")) for i, e in enumerate(document.get("entry", []))
        ]
        for i, _, resource in entries:  # patients first: observations may point at them by fullUrl
            if resource and resource.get("resourceType") == "Patient":
                _patient(reader, i, f"entry[{i}].resource", resource, document["entry"][i].get("fullUrl"))
        for e in document.get("entry", []):
            if (e.get("resource") or {}).get("resourceType") == "QuestionnaireResponse" and e.get("fullUrl"):
                reader.responses.setdefault(e["fullUrl"], None)
    else:
        entries = [(0, "Observation", document)]
    for i, prefix, resource in entries:
        if resource is None:
            reader.fail(i, f"entry[{i}]", None, "has no resource")
            continue
        kind = resource.get("resourceType")
        full_url = document["entry"][i].get("fullUrl") if document.get("resourceType") == "Bundle" else None
        if kind not in ALLOWED_TYPES:
            reader.fail(
                i, f"{prefix}.resourceType", kind, "not read by hipdata; allowed: " + ", ".join(ALLOWED_TYPES)
            )
        elif kind == "Observation":
            _observation(reader, i, prefix, resource)
        elif kind == "QuestionnaireResponse":
            _response(reader, i, prefix, resource, full_url)
    _check_scores(reader)
    readings = _readings(reader)
    if reader.problems:
        raise FhirError(sorted(reader.problems, key=lambda p: -1 if p.row is None else p.row))
    return Records(
        patients=pd.DataFrame(
            {"patient_id": list(reader.names), "display_name": list(reader.names.values())}, dtype=object
        ),
        readings=readings,
        lefs=pd.DataFrame(reader.lefs_rows, columns=["patient_id", "date", "answers", "total"]),
        psfs=pd.DataFrame(reader.psfs_rows, columns=["patient_id", "date", "activities", "ratings", "score"]),
    )


def _check_models(document: dict, kind: str) -> None:
    """Validate with the fhir.resources R4B models; their errors named by entry and path."""
    if kind == "Bundle":
        from fhir.resources.R4B.bundle import Bundle as Model
    else:
        from fhir.resources.R4B.observation import Observation as Model
    try:
        Model.model_validate(document)
    except ModelError as error:
        problems = []
        for e in error.errors():
            loc = [str(p) for p in e["loc"]]
            index = int(loc[1]) if kind == "Bundle" and len(loc) > 1 and loc[0] == "entry" else None
            path = ".".join(loc) if kind == "Bundle" else ".".join(["Observation", *loc])
            path = re.sub(r"\.(\d+)(?=\.|$)", r"[\1]", path)
            value = e.get("input")
            shown = value if isinstance(value, str | int | float) and not isinstance(value, bool) else None
            message = f"FHIR R4: {e['msg']}"
            if index is not None and loc[-1] == "valueInteger":
                message += _answers_allowed(document["entry"][index].get("resource"))
            problems.append(FhirProblem(index, path, "" if shown is None else str(shown)[:120], message))
        raise FhirError(problems) from None


def _answers_allowed(resource) -> str:
    """What the answers of a questionnaire response may be, for the model's words on a bad valueInteger."""
    canonical = str((resource or {}).get("questionnaire", "")).split("|")[0]
    return {
        codes.LEFS_QUESTIONNAIRE: f"; LEFS answers are whole numbers {min(lefs.ANSWERS)} to {max(lefs.ANSWERS)}",
        codes.PSFS_QUESTIONNAIRE: f"; PSFS ratings are whole numbers {psfs.RATING_MIN} to {psfs.RATING_MAX}",
    }.get(canonical, "")


def _codings(concept: dict | None) -> list[dict]:
    return [c for c in (concept or {}).get("coding", []) if isinstance(c, dict)]


def _named(codings: list[dict]) -> str:
    return ", ".join(f"{c.get('system', '')}|{c.get('code', '')}" for c in codings) or "no coding"


def _patient(reader: _Reader, i: int, prefix: str, resource: dict, full_url: str | None) -> None:
    ids = [x.get("value") for x in resource.get("identifier", []) if x.get("system") == codes.PATIENT_SYSTEM]
    if not ids or not ids[0]:
        reader.fail(
            i, f"{prefix}.identifier", None, f"needs an identifier with system {codes.PATIENT_SYSTEM}"
        )
        return
    if not _valid_id(reader, i, f"{prefix}.identifier[0].value", ids[0]):
        return
    names = [n.get("text") or " ".join([*n.get("given", []), n.get("family", "")]).strip()
             for n in resource.get("name", [])]  # fmt: skip
    names = [n for n in names if n]
    reader.names[ids[0]] = names[0] if names else reader.names.get(ids[0], "")
    if full_url:
        reader.patients[full_url] = ids[0]


def _valid_id(reader: _Reader, i: int, path: str, value: str) -> bool:
    """A patient id as the CSV allows it: 1 to 64 characters, not only spaces."""
    if value.strip() and len(value) <= PATIENT_ID_MAX:
        return True
    reader.fail(i, path, value, f"a patient id is 1 to {PATIENT_ID_MAX} characters, not only spaces")
    return False


def _subject(reader: _Reader, i: int, prefix: str, resource: dict) -> str | None:
    subject = resource.get("subject") or {}
    identifier = subject.get("identifier") or {}
    if identifier.get("system") == codes.PATIENT_SYSTEM and identifier.get("value"):
        patient_id = identifier["value"]
        if not _valid_id(reader, i, f"{prefix}.subject.identifier.value", patient_id):
            return None
        reader.names.setdefault(patient_id, "")
        return patient_id
    if subject.get("reference") in reader.patients:
        return reader.patients[subject["reference"]]
    reader.fail(i, f"{prefix}.subject", subject.get("reference"),
                f"must name the patient: an identifier with system {codes.PATIENT_SYSTEM}, "
                "or a reference to a Patient entry of the bundle")  # fmt: skip
    return None


def _date(reader: _Reader, i: int, path: str, value) -> str | None:
    """The calendar day of a FHIR date or dateTime (as written, in its own time zone)."""
    match = _DATE_TIME.fullmatch(value) if isinstance(value, str) else None
    if not match:
        reader.fail(i, path, value, "needs a full date (YYYY-MM-DD, optionally with a time)")
        return None
    return match.group(1)


def _status(reader: _Reader, i: int, prefix: str, status, known: tuple, final: tuple, kind: str) -> None:
    if status not in known:
        reader.fail(i, f"{prefix}.status", status, f"not a FHIR {kind} status; allowed: " + ", ".join(known))
    elif status not in final:
        reader.fail(i, f"{prefix}.status", status, "only finished results are imported: " + ", ".join(final))


def _observation(reader: _Reader, i: int, prefix: str, obs: dict) -> None:
    start = len(reader.problems)
    if obs.get("modifierExtension"):
        reader.fail(
            i, f"{prefix}.modifierExtension", None, "changes the meaning of the observation; not read"
        )
    _status(reader, i, prefix, obs.get("status"), codes.OBSERVATION_STATUSES, codes.OBSERVATION_FINAL,
            "Observation")  # fmt: skip
    patient_id = _subject(reader, i, prefix, obs)
    day = _date(reader, i, f"{prefix}.effectiveDateTime", obs.get("effectiveDateTime"))
    measure, score = _code(reader, i, prefix, obs)
    quantity = obs.get("valueQuantity")
    value = None
    if not isinstance(quantity, dict) or "value" not in quantity:
        reader.fail(i, f"{prefix}.valueQuantity", None, "needs a valueQuantity with a value")
    else:
        value = quantity["value"]
        unit = "nprs" if score else (catalog.MEASURES[measure].unit if measure else None)
        if unit:
            _unit(reader, i, f"{prefix}.valueQuantity", quantity, unit)
    if measure or score:
        group = "pain" if score else catalog.MEASURES[measure].group
        expected = codes.CATEGORIES[group]
        found = [c.get("code") for cat in obs.get("category", []) for c in _codings(cat)
                 if c.get("system") == codes.CATEGORY_SYSTEM]  # fmt: skip
        if expected not in found:
            reader.fail(i, f"{prefix}.category", ", ".join(map(str, found)),
                        f"needs category {expected!r} of {codes.CATEGORY_SYSTEM}")  # fmt: skip
    if score:
        refs = [d.get("reference") for d in obs.get("derivedFrom", [])]
        reader.scores.append((i, prefix, score, value, refs[0] if refs else None))
        return
    side = _side(reader, i, prefix, obs, measure)
    context = {
        "position": _position(reader, i, prefix, obs),
        "mode": _mode(reader, i, prefix, obs),
        "method": _method(reader, i, prefix, obs),
        "measured_by": _performer(reader, i, prefix, obs, patient_id),
    }
    note = "\n".join(n.get("text", "") for n in obs.get("note", []) if n.get("text"))
    if len(reader.problems) > start or measure is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float):
        reader.fail(i, f"{prefix}.valueQuantity.value", value, "must be a number")
        return
    reader.raw.append({"patient_id": patient_id, "date": day, "measure": measure, "side": side,
                       "value": repr(float(value)), **{k: v or "" for k, v in context.items()}, "note": note})  # fmt: skip
    reader.raw_entries.append((i, prefix))


def _unit(reader: _Reader, i: int, path: str, quantity: dict, unit: str) -> None:
    """The quantity's unit: UCUM system and code, and a display text (optional) that names no other unit."""
    code = codes.UCUM_UNITS[unit][0]
    if quantity.get("system") != codes.UCUM:
        reader.fail(i, f"{path}.system", quantity.get("system"),
                    f"wrong unit system: expected UCUM, {codes.UCUM} (with code {code!r})")  # fmt: skip
    if quantity.get("code") != code:
        reader.fail(i, f"{path}.code", quantity.get("code"),
                    f"wrong unit: expected UCUM ({codes.UCUM}) code {code!r}")  # fmt: skip
    text = quantity.get("unit")
    allowed = codes.UNIT_TEXTS[unit]
    others = {t for u, texts in codes.UNIT_TEXTS.items() if u != unit for t in texts} | {
        *codes.OTHER_UNIT_TEXTS
    }
    if text is not None and str(text).strip().lower() in others:
        reader.fail(i, f"{path}.unit", text,
                    f"names another unit than code {code!r}; allowed: " + ", ".join(repr(a) for a in allowed)
                    + " (any case), or leave unit out")  # fmt: skip


def _code(reader: _Reader, i: int, prefix: str, obs: dict) -> tuple[str | None, str | None]:
    """(measure id, None) for a reading, (None, 'lefs'|'psfs') for a score, or a problem naming the codes."""
    codings = _codings(obs.get("code"))
    ours = [c.get("code") for c in codings if c.get("system") == codes.MEASURE_SYSTEM]
    if ours:
        if ours[0] in catalog.MEASURES:
            return ours[0], None
        if ours[0] in codes.SCORE_CODES:
            return None, ours[0].split("_")[0]
        reader.fail(i, f"{prefix}.code", f"{codes.MEASURE_SYSTEM}|{ours[0]}",
                    "unknown code; allowed: " + ", ".join([*catalog.MEASURES, *codes.SCORE_CODES]))  # fmt: skip
        return None, None
    if any(c.get("system") == codes.LOINC and c.get("code") == codes.PAIN_LOINC[0] for c in codings):
        regions = [_SITE_BY_CODE.get(c.get("code")) for c in _codings(obs.get("bodySite"))
                   if c.get("system") == codes.SNOMED]  # fmt: skip
        region = next((r[0] for r in regions if r), None)
        measure = {v: k for k, v in codes.MEASURE_REGION.items() if k.startswith("pain_")}.get(region)
        if measure is None:
            reader.fail(i, f"{prefix}.bodySite", _named(_codings(obs.get("bodySite"))),
                        "pain (LOINC 72514-3) needs the SNOMED CT body site of the hip, knee, ankle or lower back")  # fmt: skip
        return measure, None
    reader.fail(i, f"{prefix}.code", _named(codings),
                f"unknown code; hipdata reads {codes.MEASURE_SYSTEM} codes and LOINC {codes.PAIN_LOINC[0]}")  # fmt: skip
    return None, None


def _side(reader: _Reader, i: int, prefix: str, obs: dict, measure: str | None) -> str:
    if measure is None:
        return ""
    m = catalog.MEASURES[measure]
    region = codes.MEASURE_REGION.get(measure)
    sites = _codings(obs.get("bodySite"))
    path = f"{prefix}.bodySite"
    if region is None:
        if sites:
            reader.fail(i, path, _named(sites), f"{m.label} has no body site; leave bodySite out")
        return ""
    allowed = " or ".join(f"{codes.BODY_SITES[(region, s)][0]} ({codes.BODY_SITES[(region, s)][1]})"
                          for s in (m.sides or ("",)))  # fmt: skip
    if not sites:
        what = "a side" if m.sided else "a body site"
        reader.fail(i, path, None, f"missing: {m.label} needs {what}, SNOMED CT {allowed}")
        return ""
    found = [_SITE_BY_CODE.get(c.get("code")) for c in sites if c.get("system") == codes.SNOMED]
    match = next((f for f in found if f and f[0] == region), None)
    if match is None:
        reader.fail(
            i, path, _named(sites), f"unknown or wrong body site for {m.label}; allowed: SNOMED CT {allowed}"
        )
        return ""
    return match[1]


def _position(reader: _Reader, i: int, prefix: str, obs: dict) -> str | None:
    for e in obs.get("extension", []):
        if e.get("url") != codes.BODY_POSITION_EXTENSION:
            continue
        codings = _codings(e.get("valueCodeableConcept"))
        for c in codings:
            if c.get("system") == codes.POSITION_SYSTEM and c.get("code") in catalog.POSITIONS:
                return c["code"]
            if c.get("system") == codes.SNOMED and c.get("code") in _POSITION_BY_SNOMED:
                return _POSITION_BY_SNOMED[c["code"]]
        allowed = [f"{codes.SNOMED}|{code}" for code, _ in codes.POSITIONS.values()]
        reader.fail(i, f"{prefix}.extension(observation-bodyPosition)", _named(codings),
                    "unknown position; allowed: " + ", ".join([*allowed, f"{codes.POSITION_SYSTEM}|side_lying"]))  # fmt: skip
    return None


def _mode(reader: _Reader, i: int, prefix: str, obs: dict) -> str | None:
    for e in obs.get("extension", []):
        if e.get("url") == codes.MODE_EXTENSION:
            if e.get("valueCode") in catalog.MODES:
                return e["valueCode"]
            reader.fail(i, f"{prefix}.extension(measurement-mode)", e.get("valueCode"),
                        "allowed: " + ", ".join(catalog.MODES))  # fmt: skip
    return None


def _method(reader: _Reader, i: int, prefix: str, obs: dict) -> str | None:
    if "method" not in obs:
        return None
    codings = _codings(obs["method"])
    for c in codings:
        if c.get("system") == codes.METHOD_SYSTEM and c.get("code") in catalog.METHODS:
            return c["code"]
    reader.fail(i, f"{prefix}.method", _named(codings),
                f"unknown method; allowed: {codes.METHOD_SYSTEM} " + ", ".join(catalog.METHODS))  # fmt: skip
    return None


def _performer(reader: _Reader, i: int, prefix: str, obs: dict, patient_id: str | None) -> str | None:
    performers = obs.get("performer", [])
    if not performers:
        return None
    p = performers[0]
    ident = p.get("identifier") or {}
    reference = p.get("reference") or ""
    if (ident.get("system") == codes.PATIENT_SYSTEM and ident.get("value") == patient_id) or (
        reference and reader.patients.get(reference) == patient_id
    ):
        return "self"
    if p.get("type") in ("Practitioner", "PractitionerRole") or reference.startswith(
        ("Practitioner/", "PractitionerRole/")
    ):
        return "therapist"
    reader.fail(i, f"{prefix}.performer[0]", reference or p.get("display"),
                "must be the patient (self-measured) or a Practitioner (therapist)")  # fmt: skip
    return None


def _response(reader: _Reader, i: int, prefix: str, qr: dict, full_url: str | None) -> None:
    start = len(reader.problems)
    canonical = str(qr.get("questionnaire", "")).split("|")[0]
    kind = {codes.LEFS_QUESTIONNAIRE: "lefs", codes.PSFS_QUESTIONNAIRE: "psfs"}.get(canonical)
    if kind is None:
        reader.fail(i, f"{prefix}.questionnaire", canonical,
                    f"unknown questionnaire; allowed: {codes.LEFS_QUESTIONNAIRE}, {codes.PSFS_QUESTIONNAIRE}")  # fmt: skip
    _status(reader, i, prefix, qr.get("status"), codes.RESPONSE_STATUSES, codes.RESPONSE_FINAL,
            "QuestionnaireResponse")  # fmt: skip
    patient_id = _subject(reader, i, prefix, qr)
    day = _date(reader, i, f"{prefix}.authored", qr.get("authored"))
    if day and pd.Timestamp(day) > pd.Timestamp(reader.today):
        reader.fail(
            i,
            f"{prefix}.authored",
            qr.get("authored"),
            f"must not be in the future (today is {reader.today})",
        )
    if kind is None:
        return
    answers = {item.get("linkId"): item for item in qr.get("item", [])}
    if kind == "lefs":
        values = [_answer(answers.get(str(n)), "valueInteger") for n in range(1, len(lefs.ITEMS) + 1)]
        unknown = sorted(set(answers) - {str(n) for n in range(1, len(lefs.ITEMS) + 1)}, key=str)
        for link in unknown:
            reader.fail(i, f"{prefix}.item(linkId={link})", None, "not an item of the LEFS (1 to 20)")
        try:
            total = lefs.score(values)
        except ValueError as error:
            reader.fail(i, f"{prefix}.item", None, str(error))
            return
        if len(reader.problems) == start:
            reader.lefs_rows.append({"patient_id": patient_id, "date": pd.Timestamp(day),
                                     "answers": lefs.encode(values), "total": total})  # fmt: skip
            if full_url:
                reader.responses[full_url] = ("lefs", float(total))
        return
    groups = [
        answers[f"activity-{n}"] for n in range(1, psfs.MAX_ACTIVITIES + 1) if f"activity-{n}" in answers
    ]
    unknown = sorted(set(answers) - {f"activity-{n}" for n in range(1, psfs.MAX_ACTIVITIES + 1)}, key=str)
    for link in unknown:
        reader.fail(
            i, f"{prefix}.item(linkId={link})", None, "not an item of the PSFS (activity-1 to activity-5)"
        )
    names, ratings = [], []
    for n, group in enumerate(groups, start=1):
        parts = {item.get("linkId"): item for item in group.get("item", [])}
        names.append(_answer(parts.get(f"activity-{n}.name"), "valueString"))
        ratings.append(_answer(parts.get(f"activity-{n}.rating"), "valueInteger"))
    try:
        names, ratings, total = psfs.clean(names, ratings)
    except ValidationError as error:
        for p in error.problems:
            reader.fail(i, f"{prefix}.item", p.value, f"PSFS {p.column}: {p.message}")
        return
    if len(reader.problems) == start:
        reader.psfs_rows.append({"patient_id": patient_id, "date": pd.Timestamp(day), "activities": psfs.encode(names),
                                 "ratings": psfs.encode(ratings), "score": total})  # fmt: skip
        if full_url:
            reader.responses[full_url] = ("psfs", total)


def _answer(item: dict | None, key: str):
    """The one answer of an item; an integer must be a JSON integer (the R4B model also takes true, 3.0 and "3")."""
    answers = (item or {}).get("answer") or []
    value = answers[0].get(key) if len(answers) == 1 else None
    wanted = int if key == "valueInteger" else str
    return value if type(value) is wanted else None


def _check_scores(reader: _Reader) -> None:
    """A score Observation must point at its response in the bundle and agree with it."""
    for i, prefix, kind, value, reference in reader.scores:
        if reference not in reader.responses:
            reader.fail(i, f"{prefix}.derivedFrom", reference,
                        "a questionnaire score is read with its QuestionnaireResponse: derivedFrom must point at one in the bundle")  # fmt: skip
            continue
        found = reader.responses[reference]
        if found is None:
            continue  # the response has its own problems
        if found[0] != kind or value is None or abs(float(value) - found[1]) > 1e-9:
            reader.fail(i, f"{prefix}.valueQuantity.value", value,
                        f"does not match its {found[0].upper()} response (score {found[1]:g})")  # fmt: skip


def _readings(reader: _Reader) -> pd.DataFrame:
    """The readings through the CSV rules; their problems named by entry and element path."""
    raw = pd.DataFrame(reader.raw, columns=list(READING_COLUMNS), dtype=object)
    try:
        return clean_readings(raw, today=reader.today, first_row=0)
    except ValidationError as error:
        for p in error.problems:
            i, prefix = reader.raw_entries[p.row]
            reader.fail(i, f"{prefix}.{_ELEMENT[p.column]}", p.value, p.message)
        return raw

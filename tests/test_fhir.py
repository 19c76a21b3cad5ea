"""FHIR R4: the mapping of every measure and side, model validation, import errors, the round trip, the CLI."""

from __future__ import annotations

import copy
import json
from datetime import date

import pandas as pd
import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.patient import Patient
from fhir.resources.R4B.questionnaire import Questionnaire
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

from hipdata import catalog, psfs
from hipdata.auth import SYSTEM, Actor
from hipdata.contract import READING_COLUMNS
from hipdata.fhir import FhirError, codes, export_json, import_json, read_fhir
from hipdata.store import AccessDenied, Store
from hipdata.validate import clean_readings
from tests.conftest import TODAY

MODELS = {"Patient": Patient, "Observation": Observation, "Questionnaire": Questionnaire,
          "QuestionnaireResponse": QuestionnaireResponse}  # fmt: skip
COLUMNS = list(READING_COLUMNS)


def every_series(patient: str = "P1") -> pd.DataFrame:
    """One reading of every (measure, side), with odd values and every context choice in turn."""
    keys = catalog.series_keys()
    rows = []
    for n, (measure, side) in enumerate(keys):
        m = catalog.MEASURES[measure]
        value = float(n % 10) if m.whole_numbers else m.valid_min + (m.valid_max - m.valid_min) / 3.0
        rows.append({
            "patient_id": patient, "date": f"2026-01-{n % 28 + 1:02d}", "measure": measure, "side": side,
            "value": repr(value), "method": catalog.METHODS[n % 5], "position": catalog.POSITIONS[n % 5],
            "mode": catalog.MODES[n % 2], "measured_by": catalog.RATERS[n % 2],
            "note": f"note {n}: ünïcödé, a comma, \"quotes\"\nand a second line" if n % 3 else "",
        })  # fmt: skip
    return clean_readings(pd.DataFrame(rows, dtype=str), today=TODAY)


@pytest.fixture
def full_store(store: Store) -> Store:
    store.add_patient(SYSTEM, "P1", "Ann Example")
    store.add_readings(SYSTEM, every_series())
    store.add_readings(SYSTEM, every_series("P2 / odd id ✓"))
    lefs = pd.DataFrame({"patient_id": ["P1"], "date": [pd.Timestamp("2026-01-05")],
                         "answers": ["01234" * 4], "total": [40]})  # fmt: skip
    store.add_records(SYSTEM, "lefs", lefs)
    store.add_records(
        SYSTEM,
        "psfs",
        psfs.row("P1", date(2026, 1, 5), ["Squat to the floor", "Run 5 km", "Hike"], [2, 5, 7]),
    )
    store.add_records(
        SYSTEM,
        "psfs",
        psfs.row("P1", date(2026, 1, 19), ["Squat to the floor", "Run 5 km", "Hike"], [3, 5, 8]),
    )
    return store


def bundle_of(store: Store, **kw) -> dict:
    return json.loads(export_json(store, SYSTEM, **kw))


def resources(bundle: dict, kind: str) -> list[dict]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def readings_of(store: Store) -> pd.DataFrame:
    return store.readings(SYSTEM).loc[:, COLUMNS].sort_values(COLUMNS[:5]).reset_index(drop=True)


# ---- mapping -------------------------------------------------------------------------------------------


def test_every_measure_and_side_maps_to_its_codes_units_and_body_site(full_store):
    bundle = bundle_of(full_store, patient_id="P1")
    assert bundle["type"] == "collection"
    observations = [o for o in resources(bundle, "Observation") if "derivedFrom" not in o]
    assert len(observations) == len(catalog.series_keys())
    seen = set()
    for obs in observations:
        ours = [c["code"] for c in obs["code"]["coding"] if c["system"] == codes.MEASURE_SYSTEM]
        m = catalog.MEASURES[ours[0]]
        assert obs["status"] == "final"
        assert obs["category"][0]["coding"][0] == {
            "system": "http://terminology.hl7.org/CodeSystem/observation-category",
            "code": "survey" if m.group == "pain" else "exam", "display": "Survey" if m.group == "pain" else "Exam",
        }  # fmt: skip
        unit = {"deg": "deg", "cm": "cm", "nprs": "{score}"}[m.unit]
        assert obs["valueQuantity"]["system"] == "http://unitsofmeasure.org"
        assert obs["valueQuantity"]["code"] == unit
        loinc = [c["code"] for c in obs["code"]["coding"] if c["system"] == "http://loinc.org"]
        assert loinc == (["72514-3"] if m.group == "pain" else [])
        site = obs.get("bodySite", {}).get("coding", [{}])[0].get("code")
        side = {"362905007": "left", "362906008": "right", "719442003": "left", "719443008": "right",
                "51636004": "left", "6685009": "right", "37822005": "", None: ""}[site]  # fmt: skip
        region = {"362905007": "hip", "362906008": "hip", "719442003": "knee", "719443008": "knee",
                  "51636004": "ankle", "6685009": "ankle", "37822005": "low_back", None: None}[site]  # fmt: skip
        assert region == codes.MEASURE_REGION.get(m.id)
        seen.add((m.id, side))
    assert seen == set(catalog.series_keys())
    hip = [o for o in observations if o["code"]["coding"][-1]["code"] == "hip_flexion"]
    assert {o["bodySite"]["coding"][0]["code"] for o in hip} == {"362905007", "362906008"}


def test_position_method_rater_and_note_are_written_with_their_codes(full_store):
    observations = resources(bundle_of(full_store, patient_id="P1"), "Observation")
    seated = next(o for o in observations if o.get("extension") and
                  o["extension"][0]["valueCodeableConcept"]["text"] == "seated")  # fmt: skip
    position = seated["extension"][0]
    assert position["url"] == "http://hl7.org/fhir/StructureDefinition/observation-bodyPosition"
    assert position["valueCodeableConcept"]["coding"][0] == {
        "system": "http://snomed.info/sct", "code": "33586001", "display": "Sitting position"}  # fmt: skip
    assert seated["method"]["coding"][0]["system"] == codes.METHOD_SYSTEM
    self_measured = [o for o in observations if o.get("performer") and "reference" in o["performer"][0]]
    assert self_measured and all(
        o["performer"][0]["reference"] == o["subject"]["reference"] for o in self_measured
    )
    assert any(o.get("note", [{}])[0].get("text", "").endswith("second line") for o in observations)
    patient = resources(bundle_of(full_store, patient_id="P1"), "Patient")[0]
    assert patient["identifier"] == [{"system": codes.PATIENT_SYSTEM, "value": "P1"}]
    assert patient["name"] == [{"text": "Ann Example"}]
    other = resources(bundle_of(full_store, patient_id="P2 / odd id ✓"), "Patient")[0]
    assert "name" not in other  # no name unless one is stored


def test_questionnaires_and_scores_point_at_their_responses(full_store):
    bundle = bundle_of(full_store, patient_id="P1")
    responses = {f"urn:uuid:{r['id']}": r for r in resources(bundle, "QuestionnaireResponse")}
    assert {r["questionnaire"] for r in responses.values()} == {
        codes.LEFS_QUESTIONNAIRE,
        codes.PSFS_QUESTIONNAIRE,
    }
    scores = [o for o in resources(bundle, "Observation") if "derivedFrom" in o]
    assert len(scores) == 3
    for score in scores:
        response = responses[score["derivedFrom"][0]["reference"]]
        if response["questionnaire"] == codes.LEFS_QUESTIONNAIRE:
            assert score["valueQuantity"]["value"] == 40
            assert [i["answer"][0]["valueInteger"] for i in response["item"]] == [0, 1, 2, 3, 4] * 4
        else:
            ratings = [g["item"][1]["answer"][0]["valueInteger"] for g in response["item"]]
            assert score["valueQuantity"]["value"] == pytest.approx(sum(ratings) / 3)
    assert {q["url"] for q in resources(bundle, "Questionnaire")} == {
        codes.LEFS_QUESTIONNAIRE,
        codes.PSFS_QUESTIONNAIRE,
    }


def test_as_of_leaves_out_later_records(full_store):
    bundle = bundle_of(full_store, patient_id="P1", as_of=date(2026, 1, 10))
    dates = [o["effectiveDateTime"] for o in resources(bundle, "Observation")]
    assert dates and max(dates) <= "2026-01-10"
    assert len(resources(bundle, "QuestionnaireResponse")) == 2  # LEFS and the first PSFS


# ---- validation ----------------------------------------------------------------------------------------


def test_every_exported_resource_validates_with_the_r4b_models(full_store):
    bundle = bundle_of(full_store)
    Bundle.model_validate(bundle)
    for entry in bundle["entry"]:
        resource = entry["resource"]
        MODELS[resource["resourceType"]].model_validate(resource)


def test_model_errors_are_named_by_entry_and_path(full_store):
    bundle = bundle_of(full_store, patient_id="P1")
    index = next(i for i, e in enumerate(bundle["entry"]) if e["resource"]["resourceType"] == "Observation")
    bundle["entry"][index]["resource"]["valueQuantity"]["value"] = "twelve"
    with pytest.raises(FhirError) as error:
        read_fhir(json.dumps(bundle).encode(), today=TODAY)
    assert f"entry[{index}].resource.valueQuantity.value = 'twelve'" in str(error.value)


# ---- import errors -------------------------------------------------------------------------------------


def first_reading(bundle: dict, measure: str) -> tuple[int, dict]:
    return next(
        (i, e["resource"]) for i, e in enumerate(bundle["entry"])
        if e["resource"]["resourceType"] == "Observation" and e["resource"]["code"]["coding"][-1]["code"] == measure
    )  # fmt: skip


def problems_of(bundle: dict) -> str:
    with pytest.raises(FhirError) as error:
        read_fhir(json.dumps(bundle).encode(), today=TODAY)
    return str(error.value)


@pytest.fixture
def exported(full_store) -> dict:
    return bundle_of(full_store, patient_id="P1")


def test_unknown_code_is_refused_by_name(exported):
    i, obs = first_reading(exported, "hip_flexion")
    obs["code"]["coding"][-1]["code"] = "hip_flexion_typo"
    text = problems_of(exported)
    assert f"entry[{i}].resource.code = '{codes.MEASURE_SYSTEM}|hip_flexion_typo': unknown code" in text


def test_foreign_code_is_refused_by_name(exported):
    i, obs = first_reading(exported, "pain_hip")
    obs["code"]["coding"] = [{"system": "http://loinc.org", "code": "38208-5"}]
    assert f"entry[{i}].resource.code = 'http://loinc.org|38208-5': unknown code" in problems_of(exported)


def test_wrong_unit_is_refused(exported):
    i, obs = first_reading(exported, "hip_flexion")
    obs["valueQuantity"].update(code="rad", unit="rad")
    assert f"entry[{i}].resource.valueQuantity.code = 'rad': wrong unit: expected UCUM" in problems_of(
        exported
    )


@pytest.mark.parametrize("system", ["http://example.org/units", None])
def test_a_wrong_unit_system_is_named_at_system(exported, system):
    i, obs = first_reading(exported, "hip_flexion")
    obs["valueQuantity"]["system"] = system
    if system is None:
        del obs["valueQuantity"]["system"]
    text = problems_of(exported)
    shown = f" = {system!r}" if system else ""
    assert (
        f"entry[{i}].resource.valueQuantity.system{shown}: wrong unit system: expected UCUM, {codes.UCUM}"
        " (with code 'deg')" in text
    )
    assert "valueQuantity.code" not in text  # the code is right


@pytest.mark.parametrize(
    ("measure", "unit"),
    [("hip_flexion", "°"), ("hip_flexion", "deg"), ("hip_flexion", " Degrees "), ("figure_four", "cm"),
     ("figure_four", "centimetres"), ("pain_hip", "score"), ("pain_hip", "{score}"), ("pain_hip", None),
     ("hip_flexion", "Grad"), ("figure_four", "Zentimeter")],  # another language's name: the sender's label
)  # fmt: skip
def test_a_unit_text_naming_no_other_unit_is_read(exported, measure, unit, new_db):
    _, obs = first_reading(exported, measure)
    obs["valueQuantity"]["unit"] = unit
    if unit is None:
        del obs["valueQuantity"]["unit"]  # the display text is optional
    assert import_json(Store(new_db("unit")), SYSTEM, json.dumps(exported).encode(), today=TODAY).added


@pytest.mark.parametrize(
    ("measure", "unit", "allowed"),
    [("hip_flexion", "cm", "'°', 'deg', 'degree', 'degrees'"), ("figure_four", "in", "'cm', 'centimeter'"),
     ("fingertip_to_floor", "mm", "'cm'"), ("pain_knee", "%", "'score', '{score}'"),
     ("hip_abduction", "rad", "'°', 'deg'")],
)  # fmt: skip
def test_a_unit_text_naming_another_unit_is_refused(exported, measure, unit, allowed):
    """code + system are the computable unit; a display text that contradicts them leaves the value in doubt."""
    i, obs = first_reading(exported, measure)
    obs["valueQuantity"]["unit"] = unit
    code = obs["valueQuantity"]["code"]
    text = problems_of(exported)
    assert "1 problem in 1 entry" in text
    assert (
        f"entry[{i}].resource.valueQuantity.unit = {unit!r}: names another unit than code {code!r}; allowed: "
        f"{allowed}" in text
    )


def test_a_pain_with_decimals_is_refused(exported, new_db):
    i, obs = first_reading(exported, "pain_hip")
    obs["valueQuantity"]["value"] = 3.5
    empty = Store(new_db("decimals"))
    with pytest.raises(FhirError) as error:
        import_json(empty, SYSTEM, json.dumps(exported).encode(), today=TODAY)
    assert (
        f"entry[{i}].resource.valueQuantity.value = '3.5': Hip pain (pain_hip), left: must be a whole number of"
        " points out of 10, with no decimals" in str(error.value)
    )
    assert empty.readings(SYSTEM).empty and empty.patients(SYSTEM).empty


def test_a_questionnaire_answer_with_decimals_is_refused_with_what_is_allowed(exported, new_db):
    j, lefs_response = next((j, e["resource"]) for j, e in enumerate(exported["entry"])
                            if e["resource"].get("questionnaire") == codes.LEFS_QUESTIONNAIRE)  # fmt: skip
    lefs_response["item"][4]["answer"][0]["valueInteger"] = 2.5
    k, psfs_response = next((k, e["resource"]) for k, e in enumerate(exported["entry"])
                            if e["resource"].get("questionnaire") == codes.PSFS_QUESTIONNAIRE)  # fmt: skip
    psfs_response["item"][0]["item"][1]["answer"][0]["valueInteger"] = 3.5
    empty = Store(new_db("decimals"))
    with pytest.raises(FhirError) as error:
        import_json(empty, SYSTEM, json.dumps(exported).encode(), today=TODAY)
    text = str(error.value)
    assert (
        f"entry[{j}].resource.item[4].answer[0].valueInteger = '2.5': FHIR R4: Input should be a valid integer"
        in text
    ) and "LEFS answers are whole numbers 0 to 4" in text
    assert (
        f"entry[{k}].resource.item[0].item[1].answer[0].valueInteger = '3.5': FHIR R4: Input should be a valid"
        in text
    ) and "PSFS ratings are whole numbers 0 to 10" in text
    assert empty.readings(SYSTEM).empty and empty.records(SYSTEM, "lefs").empty
    assert empty.records(SYSTEM, "psfs").empty


def test_missing_side_is_refused(exported):
    i, obs = first_reading(exported, "figure_four")
    del obs["bodySite"]
    text = problems_of(exported)
    assert (
        f"entry[{i}].resource.bodySite: missing: Figure-four (FABER): knee-to-floor distance needs a side"
        in text
    )
    assert "362905007" in text


def test_body_site_of_another_joint_is_refused(exported):
    i, obs = first_reading(exported, "pain_hip")
    obs["code"]["coding"] = obs["code"]["coding"][-1:]  # only the project code: the site must fit it
    obs["bodySite"]["coding"][0]["code"] = "719442003"  # the left knee
    assert f"entry[{i}].resource.bodySite = " in problems_of(exported)


def test_future_date_is_refused(exported):
    i, obs = first_reading(exported, "hip_abduction")
    obs["effectiveDateTime"] = "2030-05-01T09:30:00+02:00"
    assert f"entry[{i}].resource.effectiveDateTime = '2030-05-01': must not be in the future" in problems_of(
        exported
    )


def test_status_and_questionnaire_are_checked(exported):
    i, obs = first_reading(exported, "hip_flexion")
    obs["status"] = "preliminary"
    j, response = next((j, e["resource"]) for j, e in enumerate(exported["entry"])
                       if e["resource"]["resourceType"] == "QuestionnaireResponse")  # fmt: skip
    response["questionnaire"] = "http://example.org/Questionnaire/other"
    k, other = first_reading(exported, "hip_extension")
    other["status"] = "done"  # the R4B model takes any code: the project's check does not
    text = problems_of(exported)
    assert f"entry[{i}].resource.status = 'preliminary': only finished results are imported" in text
    assert (
        f"entry[{j}].resource.questionnaire = 'http://example.org/Questionnaire/other': unknown questionnaire"
        in text
    )
    assert f"entry[{k}].resource.status = 'done': not a FHIR Observation status" in text


def test_a_score_that_disagrees_with_its_response_is_refused(exported):
    i, score = next((i, e["resource"]) for i, e in enumerate(exported["entry"])
                    if e["resource"].get("derivedFrom"))  # fmt: skip
    score["valueQuantity"]["value"] = 79
    assert f"entry[{i}].resource.valueQuantity.value = '79': does not match its" in problems_of(exported)


def test_bad_file_writes_nothing(full_store, new_db):
    bundle = bundle_of(full_store)
    first_reading(bundle, "hip_flexion")[1]["valueQuantity"]["value"] = 999.0  # out of range
    empty = Store(new_db("empty"))
    with pytest.raises(FhirError) as error:
        import_json(empty, SYSTEM, json.dumps(bundle).encode(), today=TODAY)
    assert "1 problem in 1 entry:" in str(error.value)
    assert (
        "valueQuantity.value = '999.0': Hip flexion (hip_flexion), left: must be a number from 0° to 160°"
        in str(error.value)
    )
    assert (
        empty.readings(SYSTEM).empty and empty.patients(SYSTEM).empty and empty.records(SYSTEM, "psfs").empty
    )


def test_not_json_and_not_fhir():
    with pytest.raises(FhirError, match="is not JSON"):
        read_fhir(b"patient_id,date\n")
    with pytest.raises(FhirError, match="must be a Bundle or a single Observation"):
        read_fhir(b'{"resourceType": "Patient"}')


# ---- round trip and duplicates -------------------------------------------------------------------------


def test_round_trip_into_an_empty_database_gives_back_exactly_the_same_records(full_store, new_db):
    data = export_json(full_store, SYSTEM)
    empty = Store(new_db("empty"))
    result = import_json(empty, SYSTEM, data, today=TODAY)
    assert result.patients_created == 2
    pd.testing.assert_frame_equal(readings_of(full_store), readings_of(empty))
    for table in ("lefs", "psfs"):
        ours = full_store.records(SYSTEM, table).drop(columns=["id", "entered_at", "entered_by"])
        theirs = empty.records(SYSTEM, table).drop(columns=["id", "entered_at", "entered_by"])
        pd.testing.assert_frame_equal(ours.reset_index(drop=True), theirs.reset_index(drop=True))
    pd.testing.assert_frame_equal(full_store.patients(SYSTEM).drop(columns="therapist"),
                                  empty.patients(SYSTEM).drop(columns="therapist"))  # fmt: skip
    # values unrounded: a third of a range is not a short decimal
    assert (readings_of(empty)["value"] % 0.5 != 0).any()
    # and exporting the copy gives the same entries again, byte for byte (units and their texts included);
    # only the bundle's own id and time stamps are new
    again = json.loads(export_json(empty, SYSTEM))
    assert json.dumps(again["entry"]).encode() == json.dumps(json.loads(data)["entry"]).encode()


def test_importing_twice_adds_nothing_and_duplicates_in_the_store_are_skipped(full_store, new_db):
    data = export_json(full_store, SYSTEM)
    copy_store = Store(new_db("copy"))
    first = import_json(copy_store, SYSTEM, data, today=TODAY)
    second = import_json(copy_store, SYSTEM, data, today=TODAY)
    assert first.added == 2 * len(catalog.series_keys()) + 3 and first.skipped == 0
    assert second.added == 0 and second.skipped == first.added
    assert len(copy_store.readings(SYSTEM)) == len(full_store.readings(SYSTEM))
    assert import_json(full_store, SYSTEM, data, today=TODAY).added == 0  # into the store it came from


def test_a_single_observation_imports(full_store, new_db):
    _, obs = first_reading(bundle_of(full_store, patient_id="P1"), "pain_knee")
    obs = copy.deepcopy(obs)
    obs["code"]["coding"] = obs["code"]["coding"][:1]  # LOINC 72514-3 alone: the body site names the region
    obs.pop("performer", None)
    empty = Store(new_db("single"))
    result = import_json(empty, SYSTEM, json.dumps(obs).encode(), today=TODAY)
    assert result.added == 1
    row = empty.readings(SYSTEM).iloc[0]
    assert (row["patient_id"], row["measure"], row["side"]) == (
        "P1",
        "pain_knee",
        obs["bodySite"]["text"].split()[2],
    )


def test_a_therapist_cannot_import_into_another_therapists_patient(full_store):
    full_store.create_account(SYSTEM, "tess", "therapist", None)
    full_store.create_account(SYSTEM, "theo", "therapist", None)
    full_store.assign(SYSTEM, "P1", "theo")
    data = export_json(full_store, SYSTEM, patient_id="P1")
    with pytest.raises(AccessDenied):
        import_json(full_store, Actor("tess", "therapist"), data, today=TODAY)


# ---- command line --------------------------------------------------------------------------------------


def test_cli_export_and_import(run_cli, tmp_path, new_db):
    assert run_cli("demo", "--patients", "2", "--weeks", "3").exit_code == 0
    out = tmp_path / "bundle.json"
    result = run_cli("fhir", "export", "--patient", "P0001", "--as-of", "2099-01-01", "-o", out)
    assert result.exit_code == 0, result.output
    bundle = json.loads(out.read_text())
    assert {r["identifier"][0]["value"] for r in resources(bundle, "Patient")} == {"P0001"}
    other = new_db("other")
    imported = run_cli("fhir", "import", out, db=other)
    assert imported.exit_code == 0 and "new patients" in imported.output
    assert "Imported 0 records" in run_cli("fhir", "import", out, db=other).output
    first_reading(bundle, "hip_flexion")[1]["valueQuantity"]["code"] = "mm"
    out.write_text(json.dumps(bundle))
    bad = run_cli("fhir", "import", out, db=new_db("third"))
    assert (
        bad.exit_code == 2 and "nothing imported" in bad.output and "valueQuantity.code = 'mm'" in bad.output
    )
    assert run_cli("fhir", "export", "--patient", "nobody", "-o", out).exit_code == 2


def test_patient_ids_are_held_to_the_csv_limits(exported):
    patient_index = next(
        i for i, e in enumerate(exported["entry"]) if e["resource"]["resourceType"] == "Patient"
    )
    exported["entry"][patient_index]["resource"]["identifier"][0]["value"] = "x" * 65
    i, obs = first_reading(exported, "hip_flexion")
    obs["subject"]["identifier"]["value"] = "   "
    text = problems_of(exported)
    assert (
        f"entry[{patient_index}].resource.identifier[0].value = '{'x' * 65}': a patient id is 1 to 64" in text
    )
    assert f"entry[{i}].resource.subject.identifier.value = '   ': a patient id is 1 to 64" in text


@pytest.mark.parametrize("answer", [True, 3.0, "3", None])
def test_questionnaire_answers_must_be_json_integers(exported, answer):
    j, response = next((j, e["resource"]) for j, e in enumerate(exported["entry"])
                       if e["resource"].get("questionnaire") == codes.LEFS_QUESTIONNAIRE)  # fmt: skip
    response["item"][4]["answer"][0]["valueInteger"] = answer
    assert (
        f"entry[{j}].resource.item: LEFS: answer every item with 0-4; missing or invalid: item 5"
        in problems_of(exported)
    )


def test_a_bundle_from_another_system_reads_by_reference_and_loinc(new_db):
    """No project codes on the pain reading and a subject by reference only, as an EHR might send it."""
    patient = {"resourceType": "Patient", "identifier": [{"system": codes.PATIENT_SYSTEM, "value": "EHR-7"}],
               "name": [{"given": ["Ana"], "family": "Lopez"}]}  # fmt: skip
    pain = {"resourceType": "Observation", "status": "amended",
            "category": [{"coding": [{"system": codes.CATEGORY_SYSTEM, "code": "survey"}]}],
            "code": {"coding": [{"system": "http://loinc.org", "code": "72514-3"}]},
            "subject": {"reference": "urn:uuid:0b6c2f0e-7a53-4c38-9d57-1f7d2a3b9c01"},
            "effectiveDateTime": "2026-02-03T08:15:00-05:00",
            "valueQuantity": {"value": 4, "system": codes.UCUM, "code": "{score}"},
            "bodySite": {"coding": [{"system": codes.SNOMED, "code": "37822005"}]},
            "performer": [{"reference": "Practitioner/42"}]}  # fmt: skip
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [
        {"fullUrl": "urn:uuid:0b6c2f0e-7a53-4c38-9d57-1f7d2a3b9c01", "resource": patient},
        {"fullUrl": "urn:uuid:5d1f0c3e-2b7a-4f7e-8e21-9a3c7b6d5e02", "resource": pain}]}  # fmt: skip
    store = Store(new_db("ehr"))
    assert import_json(store, SYSTEM, json.dumps(bundle).encode(), today=TODAY).added == 1
    row = store.readings(SYSTEM).iloc[0]
    assert (row["patient_id"], str(row["date"].date()), row["measure"], row["side"], row["value"]) == (
        "EHR-7", "2026-02-03", "pain_low_back", "", 4.0)  # fmt: skip
    assert row["measured_by"] == "therapist"
    assert store.patients(SYSTEM).iloc[0]["display_name"] == "Ana Lopez"

"""Every code hipdata writes into and reads from FHIR R4, in one place (README "FHIR R4" lists them all).

LOINC is used only where a code was checked to exist and be active: 72514-3 (pain severity 0-10 verbal numeric
rating). The hip motions, the field tests and the questionnaire scores have no LOINC code we could verify, so they
use the project's own CodeSystem. Body sites and body positions are SNOMED CT.
"""

from __future__ import annotations

from hipdata import catalog

BASE = "http://hipdata.org/fhir"  # the project's canonical base: never changes, never fetched
MEASURE_SYSTEM = f"{BASE}/CodeSystem/measure"
METHOD_SYSTEM = f"{BASE}/CodeSystem/method"  # the catalog's method ids
POSITION_SYSTEM = f"{BASE}/CodeSystem/position"  # the catalog's position ids
PATIENT_SYSTEM = f"{BASE}/NamingSystem/patient-id"
MODE_EXTENSION = f"{BASE}/StructureDefinition/measurement-mode"  # valueCode active or passive
LEFS_QUESTIONNAIRE = f"{BASE}/Questionnaire/lefs"
PSFS_QUESTIONNAIRE = f"{BASE}/Questionnaire/psfs"

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
UCUM = "http://unitsofmeasure.org"
CATEGORY_SYSTEM = "http://terminology.hl7.org/CodeSystem/observation-category"
BODY_POSITION_EXTENSION = "http://hl7.org/fhir/StructureDefinition/observation-bodyPosition"

PAIN_LOINC = ("72514-3", "Pain severity - 0-10 verbal numeric rating [Score] - Reported")
LEFS_TOTAL = ("lefs_total", "LEFS total score (0-80)")
PSFS_MEAN = ("psfs_mean", "PSFS score: mean of the activity ratings (0-10)")
SCORE_CODES = dict((LEFS_TOTAL, PSFS_MEAN))

# UCUM unit of each catalog unit; pain is a score without a unit.
UCUM_UNITS = {"deg": ("deg", "°"), "cm": ("cm", "cm"), "nprs": ("{score}", "score")}
# The display texts (valueQuantity.unit) read as naming each unit, compared without case: what hipdata
# writes, the UCUM code, and the unit's plain names. code + system are the computable unit; a display text
# naming another unit (cm on an angle) contradicts them, and which of the two the sender meant is unknown.
# Any other text (another language's name, say) is the sender's label and is left to them.
UNIT_TEXTS = {
    "deg": ("°", "deg", "degree", "degrees"),
    "cm": ("cm", "centimeter", "centimeters", "centimetre", "centimetres"),
    "nprs": ("score", "{score}", "point", "points"),
}
# Units that no catalog measure is in, which a sender may have measured in by mistake.
OTHER_UNIT_TEXTS = ("mm", "millimeter", "millimeters", "millimetre", "millimetres", "m", "meter", "meters",
                    "metre", "metres", "in", "[in_i]", "inch", "inches", "ft", "rad", "radian", "radians",
                    "%", "percent")  # fmt: skip
CATEGORIES = {"rom": "exam", "field": "exam", "pain": "survey"}

# SNOMED CT body structures, by region and side ('' = no side). Checked against published value sets:
# hip joints as in a national hip body-site value set, knee joints, ankles and the lower back as used in
# published FHIR and terminology examples.
BODY_SITES: dict[tuple[str, str], tuple[str, str]] = {
    ("hip", "left"): ("362905007", "Entire left hip joint"),
    ("hip", "right"): ("362906008", "Entire right hip joint"),
    ("knee", "left"): ("719442003", "Structure of left knee joint"),
    ("knee", "right"): ("719443008", "Structure of right knee joint"),
    ("ankle", "left"): ("51636004", "Structure of left ankle"),
    ("ankle", "right"): ("6685009", "Structure of right ankle"),
    ("low_back", ""): ("37822005", "Lower back structure"),
}
# The region a measure is taken at; the forward fold (fingertip-to-floor) has no single body site.
MEASURE_REGION = {
    **{m.id: "hip" for m in catalog.MEASURES.values() if m.group == "rom"},
    "figure_four": "hip",
    "pain_hip": "hip",
    "pain_knee": "knee",
    "pain_ankle_foot": "ankle",
    "pain_low_back": "low_back",
}

# SNOMED CT body positions (observation-bodyPosition). Side-lying has no SNOMED CT concept without the side
# it lies on, so it is written with the project's code only.
POSITIONS = {
    "seated": ("33586001", "Sitting position"),
    "supine": ("40199007", "Supine body position"),
    "prone": ("1240000", "Prone body position"),
    "standing": ("10904000", "Orthostatic body position"),
}

# Observation and QuestionnaireResponse statuses that FHIR defines, and the ones hipdata reads as a result.
OBSERVATION_STATUSES = ("registered", "preliminary", "final", "amended", "corrected", "cancelled",
                        "entered-in-error", "unknown")  # fmt: skip
OBSERVATION_FINAL = ("final", "amended", "corrected")
RESPONSE_STATUSES = ("in-progress", "completed", "amended", "entered-in-error", "stopped")
RESPONSE_FINAL = ("completed", "amended")


def body_site(measure_id: str, side: str) -> tuple[str, str] | None:
    region = MEASURE_REGION.get(measure_id)
    return None if region is None else BODY_SITES[(region, side)]


def context_label(value: str) -> str:
    return value.replace("_", " ")

"""The certificate's face data (照面信息) at approval (DESIGN §14): prefilled by each field's type from what the
case knows, checked by type, and the licence number drawn from the type's sequence (decision 053).

Where a value comes from, first that has one:
1. what the reviewer typed at approval; 2. what approval stored before (a case decided earlier);
3. what the applicant declared in the form (`form_data`); 4. the held certificate's face data, for a
renew/change/replace/cancel case; 5. what the case's parties say, by the field's type — never a person's
ID number as a credit code, never a credit code as an ID number.
The licence number field is nobody's to type: a new licence gets the next number at approval, a case about
a held certificate keeps that certificate's number.
"""

from dataclasses import dataclass

from django.core.exceptions import ValidationError

from applications.models import Application
from applications.services.case import local_today
from certificates.faces import FIELD_HINTS, clean_face_value, display_value, field_types, numbered_field, parse_face_date
from certificates.models import FaceFieldType
from certificates.services import licence_number_allocate
from portal.identity import IdType


@dataclass(frozen=True)
class FaceField:
    """One face field as the approval form shows it."""

    name: str
    type: str  # FaceFieldType
    value: str
    # The licence number: assigned at approval (value "") or kept from the held certificate (value that number).
    automatic: bool = False

    @property
    def type_label(self) -> str:
        return FaceFieldType(self.type).label

    @property
    def hint(self) -> str:
        return FIELD_HINTS.get(self.type, "")


def _held_number(case: Application, number_field: str) -> str:
    held = case.held_certificate
    if held is None:
        return ""
    return held.licence_number or display_value((held.face_data or {}).get(number_field))


def _derived(case: Application, types: dict[str, str]) -> dict[str, str]:
    """What the case's parties give each type of field. Only the first person_name and id_number fields
    are the holder's (or, for an organisation, its legal representative's); a second one (女方姓名 …)
    is the reviewer's to fill."""
    organisation = case.organisation if case.organisation_id else None
    as_organisation = organisation is not None or case.applicant_id_type == IdType.CREDIT_CODE
    person = case.applicant_id_type == IdType.RESIDENT_ID and organisation is None
    by_type = {}
    if organisation is not None:
        by_type = {FaceFieldType.ORG_NAME: organisation.name, FaceFieldType.USCC: organisation.credit_code,
                   FaceFieldType.PERSON_NAME: organisation.legal_rep_name,
                   FaceFieldType.ID_NUMBER: organisation.legal_rep_id_number}
    elif as_organisation:
        by_type = {FaceFieldType.ORG_NAME: case.applicant_name, FaceFieldType.USCC: case.applicant_id_number}
    elif person:
        by_type = {FaceFieldType.PERSON_NAME: case.applicant_name, FaceFieldType.ID_NUMBER: case.applicant_id_number}
    values, used = {}, set()
    for name, kind in types.items():
        if kind in by_type and (kind in (FaceFieldType.ORG_NAME, FaceFieldType.USCC) or kind not in used):
            values[name] = by_type[kind] or ""
            used.add(kind)
    return values


def certificate_face_fields(case: Application, supplied: dict | None = None) -> list[FaceField]:
    """The face fields of the item's certificate type with the values known so far (see the module)."""
    certificate_type = case.item_version.certificate_type
    if certificate_type is None:
        return []
    types = field_types(certificate_type)
    number_field = numbered_field(certificate_type)
    supplied = {str(key): display_value(value) for key, value in (supplied or {}).items()}
    held = (case.held_certificate.face_data or {}) if case.held_certificate_id else {}
    derived = _derived(case, types)
    fields = []
    for name, kind in types.items():
        if name == number_field:
            fields.append(FaceField(name=name, type=kind, value=_held_number(case, name), automatic=True))
            continue
        value = ""
        for source in (supplied, case.face_data or {}, case.form_data or {}, held, derived):
            value = display_value(source.get(name))
            if value:
                break
        if kind == FaceFieldType.DATE and value:
            day = parse_face_date(value)
            value = day.isoformat() if day else value
        fields.append(FaceField(name=name, type=kind, value=value))
    return fields


def certificate_face_data(case: Application, supplied: dict | None = None) -> tuple[dict, list[str]]:
    """The face values known so far and the names still missing (the licence number is never missing: it
    comes at approval). Unchecked: `face_data_checked` is what approval stores."""
    values, missing = {}, []
    for field in certificate_face_fields(case, supplied):
        values[field.name] = field.value
        if not field.value and not field.automatic:
            missing.append(field.name)
    return values, missing


def face_data_checked(case: Application, supplied: dict | None = None) -> tuple[dict, list[str]]:
    """Every face field checked by its type (DESIGN §14): (values as stored, errors). Each error names its
    field, "统一社会信用代码：校验码不正确", so the page puts it next to that field. The licence number is
    left as known (kept from the held certificate, else "" until `face_data_number` draws it)."""
    values, errors = {}, []
    for field in certificate_face_fields(case, supplied):
        if field.automatic:
            values[field.name] = field.value
            continue
        if not field.value:
            errors.append(f"{field.name}：请填写")
            continue
        try:
            values[field.name] = clean_face_value(kind=field.type, value=field.value)
        except ValidationError as error:
            errors.append(f"{field.name}：{error.messages[0]}")
    return values, errors


def face_data_number(case: Application, values: dict) -> dict:
    """Put the licence number in: the held certificate's, else the next of the type's sequence. Call it in
    the approval's transaction, after every check passed and before the audit event."""
    certificate_type = case.item_version.certificate_type
    number_field = numbered_field(certificate_type) if certificate_type is not None else ""
    if not number_field or values.get(number_field):
        return values
    number = licence_number_allocate(certificate_type=certificate_type, on=local_today())
    return {**values, number_field: number}

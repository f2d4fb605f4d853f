"""Writes of organisations (DESIGN §13): registering an organisation, adding and removing its agents. Every
function is a use case: atomic, audited, and refusing with a message on the field that was wrong."""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from applications.uploads import inspect_upload, stored_upload
from organisations.models import Organisation, OrganisationAgent, OrganisationKind
from portal.audit import SYSTEM_CHAIN, audit_record
from portal.errors import Forbidden, Refused
from portal.identity import IdType, normalize_id_number
from portal.models import Role, User
from portal.services import user_for_identity

NAME_MAX = Organisation._meta.get_field("name").max_length
PERSON_NAME_MAX = Organisation._meta.get_field("legal_rep_name").max_length


def _person(*, name: str, id_number: str, field_prefix: str) -> tuple[str, str, dict[str, list[str]]]:
    """A person's name and normalised ID number, or the errors keyed `<prefix>_name` / `<prefix>_id_number`."""
    errors: dict[str, list[str]] = {}
    name = (name or "").strip()
    if not name:
        errors[f"{field_prefix}_name"] = ["请填写姓名"]
    elif len(name) > PERSON_NAME_MAX:
        errors[f"{field_prefix}_name"] = [f"姓名不能超过 {PERSON_NAME_MAX} 个字"]
    try:
        id_number = normalize_id_number(id_type=IdType.RESIDENT_ID, value=id_number or "")
    except ValidationError as error:
        errors[f"{field_prefix}_id_number"] = error.messages
    return name, id_number, errors


@transaction.atomic
def organisation_register(*, actor: User, name: str, credit_code: str, kind: str, legal_rep_name: str,
                          legal_rep_id_number: str) -> Organisation:
    """法人登记. Online only its legal representative registers it (their real name and ID are the check); a
    window clerk registers any, having seen the business licence."""
    if actor.role not in (Role.APPLICANT, Role.CLERK):
        raise Forbidden("只有法定代表人本人或窗口人员可以登记单位")
    errors: dict[str, list[str]] = {}
    name = (name or "").strip()
    if not name:
        errors["name"] = ["请填写单位名称"]
    elif len(name) > NAME_MAX:
        errors["name"] = [f"单位名称不能超过 {NAME_MAX} 个字"]
    try:
        credit_code = normalize_id_number(id_type=IdType.CREDIT_CODE, value=credit_code or "")
    except ValidationError as error:
        errors["credit_code"] = error.messages
    if kind not in OrganisationKind.values:
        errors["kind"] = [f"主体类型应为：{'、'.join(f'{v}（{label}）' for v, label in OrganisationKind.choices)}"]
    rep_name, rep_id, rep_errors = _person(name=legal_rep_name, id_number=legal_rep_id_number, field_prefix="legal_rep")
    errors.update(rep_errors)
    if not errors and actor.role == Role.APPLICANT and (actor.id_number, actor.real_name) != (rep_id, rep_name):
        errors["legal_rep_id_number"] = [
            "网上登记单位须由法定代表人本人办理（姓名和身份证号码须与您的实名信息一致）；"
            "经办人请由法定代表人添加，或持授权委托书到窗口办理"
        ]
    if errors:
        raise ValidationError(errors)
    if Organisation.objects.filter(credit_code=credit_code).exists():
        raise ValidationError({"credit_code": ["该统一社会信用代码已登记；如需成为经办人，请联系法定代表人添加"]})
    if actor.role == Role.APPLICANT:
        legal_rep = actor
    else:
        try:
            legal_rep = user_for_identity(name=rep_name, id_type=IdType.RESIDENT_ID, id_number=rep_id)
        except ValidationError as error:
            raise ValidationError({"legal_rep_name": error.messages}) from error
    try:
        with transaction.atomic():
            organisation = Organisation.objects.create(
                name=name, credit_code=credit_code, kind=kind, legal_rep_name=rep_name, legal_rep_id_number=rep_id,
                legal_rep=legal_rep, created_by=actor,
            )
    except IntegrityError as error:  # the same code registered a moment ago
        raise ValidationError({"credit_code": ["该统一社会信用代码刚刚已登记"]}) from error
    audit_record(chain=SYSTEM_CHAIN, actor=actor, action="organisation_register", object_type="organisation", object_id=credit_code,
                 payload={"name": name, "kind": kind})
    return organisation


@transaction.atomic
def agent_add(*, actor: User, organisation: Organisation, id_number: str, name: str = "",
              attorney_letter=None) -> OrganisationAgent:
    """经办人: added online by the legal representative, or at the window by a clerk who keeps the 授权委托书
    (required there: it is the only proof the clerk has). The person is found by ID number; a person nobody
    registered yet needs the name too (they claim the identity when they register online)."""
    organisation = Organisation.objects.select_for_update().get(pk=organisation.pk)
    if actor.role == Role.CLERK:
        if attorney_letter is None:
            raise ValidationError({"attorney_letter": ["窗口添加经办人须上传法定代表人签署的授权委托书"]})
    elif organisation.legal_rep_id != actor.pk:
        raise Forbidden("只有法定代表人本人可以添加经办人；也可持授权委托书到窗口办理")
    try:
        id_number = normalize_id_number(id_type=IdType.RESIDENT_ID, value=id_number or "")
    except ValidationError as error:
        raise ValidationError({"id_number": error.messages}) from error
    name = (name or "").strip()
    person = User.objects.filter(id_number=id_number).first()
    if person is None and not name:
        raise ValidationError({"name": ["该身份证号码尚未登记，请填写经办人姓名"]})
    if person is not None and name and person.real_name and person.real_name != name:
        raise ValidationError({"name": ["姓名与该身份证号码已登记的姓名不一致"]})
    if person is not None and person.role != Role.APPLICANT:
        raise ValidationError({"id_number": ["该身份证号码属于工作人员账户，不能作为经办人"]})
    if person is None:
        person = user_for_identity(name=name, id_type=IdType.RESIDENT_ID, id_number=id_number)
    if person.pk == organisation.legal_rep_id:
        raise ValidationError({"id_number": ["法定代表人本人可直接以单位身份办事，无需添加为经办人"]})
    if organisation.agents.filter(user=person, removed_at__isnull=True).exists():
        raise ValidationError({"id_number": ["该人员已是本单位的经办人"]})
    agent = OrganisationAgent(organisation=organisation, user=person, added_by=actor)
    if attorney_letter is not None:
        inspected = inspect_upload(attorney_letter)
        agent.attorney_letter_sha256 = inspected.sha256
        with stored_upload(agent.attorney_letter, attorney_letter):
            agent.save()
    else:
        agent.save()
    audit_record(chain=SYSTEM_CHAIN, actor=actor, action="organisation_agent_add", object_type="organisation",
                 object_id=organisation.credit_code,
                 payload={"agent": person.pk, "id_masked": person.id_masked, "at_window": actor.role == Role.CLERK,
                          **({"attorney_letter_sha256": agent.attorney_letter_sha256} if attorney_letter else {})})
    return agent


@transaction.atomic
def agent_remove(*, actor: User, organisation: Organisation, agent_id) -> OrganisationAgent:
    """解除经办人: from now on they neither apply for it nor see its cases and certificates. Cases they filed
    stay the organisation's; its other agents carry them on."""
    if actor.role != Role.CLERK and organisation.legal_rep_id != actor.pk:
        raise Forbidden("只有法定代表人本人或窗口人员可以解除经办人")
    try:
        agent = OrganisationAgent.objects.select_for_update().select_related("user").get(
            pk=int(agent_id), organisation=organisation)
    except (OrganisationAgent.DoesNotExist, TypeError, ValueError) as error:
        raise ValidationError({"agent": ["该经办人不存在"]}) from error
    if agent.removed_at is not None:
        raise Refused("该经办人已解除授权", code="agent_removed")
    agent.removed_at, agent.removed_by = timezone.now(), actor
    agent.save(update_fields=["removed_at", "removed_by"])
    audit_record(chain=SYSTEM_CHAIN, actor=actor, action="organisation_agent_remove", object_type="organisation",
                 object_id=organisation.credit_code, payload={"agent": agent.user_id, "id_masked": agent.user.id_masked})
    return agent

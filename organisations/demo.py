"""The demo organisation (loaded by `manage.py loaddemo` after portal's accounts): 长春味道餐饮有限公司, whose
legal representative `legalrep` has added `agent` and `agent2` as its 经办人."""

from organisations.models import Organisation, OrganisationAgent, OrganisationKind
from portal.models import User

NAME = "长春味道餐饮有限公司"
CREDIT_CODE = "91220101MA00000013"


def load() -> list[str]:
    legal_rep = User.objects.get(username="legalrep")
    organisation, _ = Organisation.objects.get_or_create(credit_code=CREDIT_CODE, defaults={
        "name": NAME, "kind": OrganisationKind.ENTERPRISE, "legal_rep_name": legal_rep.real_name,
        "legal_rep_id_number": legal_rep.id_number, "legal_rep": legal_rep, "created_by": legal_rep,
    })
    for username in ("agent", "agent2"):
        user = User.objects.get(username=username)
        if not organisation.agents.filter(user=user, removed_at__isnull=True).exists():
            OrganisationAgent.objects.create(organisation=organisation, user=user, added_by=legal_rep)
    return [f"（{NAME} {CREDIT_CODE}：legalrep 为法定代表人，agent、agent2 为经办人）"]

"""Demo: the center CA and an approval seal for every demo department."""

from portal.models import Department
from seals.models import Seal, SealStatus
from seals.services import seal_ca_init, seal_create


def load() -> list[str]:
    seal_ca_init()
    for department in Department.objects.all():
        if not Seal.objects.filter(department=department, status=SealStatus.ACTIVE).exists():
            seal_create(department_code=department.code)
    return []

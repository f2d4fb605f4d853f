"""Demo: the center CA, the center's 政务服务专用章 and an approval seal for every demo department."""

from portal.models import Department
from seals.models import Seal, SealStatus, SealType
from seals.services import seal_ca_init, seal_create, seal_create_center


def load() -> list[str]:
    seal_ca_init()
    if not Seal.objects.filter(seal_type=SealType.CENTER, status=SealStatus.ACTIVE).exists():
        seal_create_center()
    for department in Department.objects.all():
        if not Seal.objects.filter(department=department, status=SealStatus.ACTIVE).exists():
            seal_create(department_code=department.code)
    return []

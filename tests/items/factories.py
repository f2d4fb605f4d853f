"""Catalogue factories. `ItemVersionFactory(publish=True)` goes through items.services.item_publish, so a
published version in a test is exactly what the service produces."""

import factory

from certificates.models import CertificateType
from items.models import Handling, Item, ItemType, ItemVersion, MaterialForm, MaterialRequirement
from items.services import item_publish
from tests.factories import DepartmentFactory


class CertificateTypeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CertificateType
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"CERT-{n:03d}")
    name = factory.Sequence(lambda n: f"测试许可证{n}")
    department = factory.SubFactory(DepartmentFactory)
    validity_years = 5


class ItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Item
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"11220100MB0000001Y01{n:06d}00001")
    basic_code = factory.Sequence(lambda n: f"01{n:06d}00")
    department = factory.SubFactory(DepartmentFactory)


class MaterialRequirementFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MaterialRequirement

    version = None
    name = factory.Sequence(lambda n: f"申请材料{n}")
    form = MaterialForm.ORIGINAL
    order = factory.Sequence(lambda n: n)


class ItemVersionFactory(factory.django.DjangoModelFactory):
    """A draft by default; `publish=True` publishes it; `materials=[{...}, …]` sets its materials."""

    class Meta:
        model = ItemVersion
        # A published version refuses save(): never re-save after post-generation hooks.
        skip_postgeneration_save = True

    item = factory.SubFactory(ItemFactory)
    name = factory.Sequence(lambda n: f"测试事项{n}")
    item_type = ItemType.LICENSE
    department = factory.SelfAttribute("item.department")
    level = factory.SelfAttribute("item.department.level")
    audience = factory.LazyFunction(lambda: ["2"])
    handling = Handling.PROMISED
    statutory_days = 20
    promised_days = 5
    procedure = factory.LazyFunction(lambda: ["受理", "审查", "决定"])

    class Params:
        instant = factory.Trait(handling=Handling.INSTANT, promised_days=0, statutory_days=1)

    @factory.post_generation
    def materials(self, create, extracted, **kwargs):
        if not create:
            return
        for spec in extracted if extracted is not None else [{"name": "申请书"}]:
            MaterialRequirementFactory(version=self, **spec)

    @factory.post_generation
    def publish(self, create, extracted, **kwargs):
        if create and extracted:
            item_publish(item=self.item, actor=None)
            self.refresh_from_db()
            self._loaded_status = self.status

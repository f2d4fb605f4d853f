"""The 一件事 every bundle test starts from (DESIGN §4 "Bundles"): 开办餐饮店 over a food licence (市场监管) and
the tax package (税务) sharing the applicant's ID card, and a parent built and submitted through the services.
The fixtures reach every module of this folder through tests/applications/conftest.py; a module may override
`citizen` or `clerk`."""

import pytest

from applications import services
from items.models import Bundle, BundleField, BundleMaterial, BundleMember
from tests.factories import DepartmentFactory, published_item
from tests.files import pdf_file

ID_CARD = "申请人身份证件"


@pytest.fixture
def food_dept():
    return DepartmentFactory(code="CCSJ", name="长春市市场监督管理局")


@pytest.fixture
def tax_dept():
    return DepartmentFactory(code="CCSW", name="国家税务总局长春市税务局")


@pytest.fixture
def food(food_dept):
    return published_item(code="11220100MB0000001Y0100040400001", name="食品经营许可（新办）", department=food_dept,
                          promised_days=5, materials=[
                              {"name": "食品经营许可申请书", "form": "original", "required": True},
                              {"name": "法定代表人身份证件", "form": "copy", "required": True},
                          ])


@pytest.fixture
def tax(tax_dept):
    return published_item(code="11220100MB0000010W2000571700001", name="新办纳税人涉税事项套餐", department=tax_dept,
                          promised_days=2, materials=[
                              {"name": "办税人员身份证件", "form": "copy", "required": True},
                              {"name": "涉税事项申请表", "form": "original", "required": True},
                          ])


@pytest.fixture
def bundle(food, tax):
    bundle = Bundle.objects.create(code="YJS-KBCYD", name="开办餐饮店", theme="business_startup", status="published")
    BundleMember.objects.create(bundle=bundle, item=food, order=1)
    BundleMember.objects.create(bundle=bundle, item=tax, order=2)
    BundleField.objects.create(bundle=bundle, order=1, name="shop_name", label="店铺名称", required=True)
    BundleField.objects.create(bundle=bundle, order=2, name="food_items", label="经营项目", required=True, items=[food.code])
    BundleMaterial.objects.create(bundle=bundle, order=1, name=ID_CARD,
                                  maps={food.code: "法定代表人身份证件", tax.code: "办税人员身份证件"})
    return bundle


def requirement(child, name):
    return child.item_version.materials.get(name=name)


def create(citizen, bundle):
    return services.bundle_application_create(
        actor=citizen, bundle_code=bundle.code, form_data={"shop_name": "老张饺子馆", "food_items": "热食类食品制售"})


def complete(citizen, parent):
    shared = parent_material(parent)
    services.bundle_material_upload(actor=citizen, application=parent, material_id=shared.pk, upload=pdf_file("身份证.pdf"))
    for child in parent.children.all():
        for r in child.item_version.materials.exclude(name__in=shared.maps.values()):
            services.application_material_upload(actor=citizen, application=child, requirement_id=r.pk, upload=pdf_file())


def parent_material(parent):
    return BundleMaterial.objects.get(bundle__code=parent.bundle_code, name=ID_CARD)


@pytest.fixture
def submitted_parent(citizen, bundle):
    parent = create(citizen, bundle)
    complete(citizen, parent)
    services.bundle_submit(actor=citizen, application=parent)
    return parent

"""一件事一次办 (DESIGN §4 "Bundles"): a parent case, one child per member item, reviewed in parallel."""

import pytest
import time_machine
from django.core.exceptions import ValidationError

from applications import bundles, services
from applications.models import Application, Material, Notice, State
from items.models import Bundle, BundleField, BundleMaterial, BundleMember
from portal.errors import InvalidTransition
from tests.applications.conftest import pdf_file
from tests.factories import DepartmentFactory, UserFactory, published_item

pytestmark = pytest.mark.django_db

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


@pytest.fixture
def citizen():
    return UserFactory(identified=True, real_name="张伟")


def requirement(child, name):
    return child.item_version.materials.get(name=name)


def create(citizen, bundle):
    return bundles.bundle_application_create(
        actor=citizen, bundle_code=bundle.code, form_data={"shop_name": "老张饺子馆", "food_items": "热食类食品制售"})


def complete(citizen, parent):
    shared = parent_material(parent)
    bundles.bundle_material_upload(actor=citizen, application=parent, material_id=shared.pk, upload=pdf_file("身份证.pdf"))
    for child in parent.children.all():
        for r in child.item_version.materials.exclude(name__in=shared.maps.values()):
            services.application_material_upload(actor=citizen, application=child, requirement_id=r.pk, upload=pdf_file())


def parent_material(parent):
    return BundleMaterial.objects.get(bundle__code=parent.bundle_code, name=ID_CARD)


def test_create_makes_a_parent_and_one_child_per_item_in_its_department(citizen, bundle, food, tax):
    parent = create(citizen, bundle)

    children = bundles.bundle_children(parent)
    assert parent.is_bundle_parent and parent.state == State.DRAFT and parent.bundle_code == "YJS-KBCYD"
    assert [c.item_version_id for c in children] == [food.current_version_id, tax.current_version_id]
    assert [c.department.code for c in children] == ["CCSJ", "CCSW"]
    assert all(c.number.startswith("NET-") and c.bundle_code == bundle.code for c in children)
    # The shared form: each child receives only the fields its item uses.
    assert children[0].form_data == {"店铺名称": "老张饺子馆", "经营项目": "热食类食品制售"}
    assert children[1].form_data == {"店铺名称": "老张饺子馆"}
    assert bundles.combined_state(children) == "draft"


def test_required_shared_field_is_checked(citizen, bundle):
    with pytest.raises(ValidationError) as error:
        bundles.bundle_application_create(actor=citizen, bundle_code=bundle.code, form_data={"shop_name": "店"})
    assert "经营项目" in str(error.value)
    assert not Application.objects.exists()


def test_shared_material_uploaded_once_counts_for_every_child(citizen, bundle):
    parent = create(citizen, bundle)
    created = bundles.bundle_material_upload(
        actor=citizen, application=parent, material_id=parent_material(parent).pk, upload=pdf_file("身份证.pdf"))

    children = bundles.bundle_children(parent)
    assert len(created) == 2 and len({m.file.name for m in created}) == 1
    assert Material.objects.filter(application__in=children).count() == 2
    for child, name in zip(children, ["法定代表人身份证件", "办税人员身份证件"]):
        assert requirement(child, name) not in services.missing_requirements(child)


def test_submit_is_all_or_nothing(citizen, bundle):
    parent = create(citizen, bundle)
    bundles.bundle_material_upload(actor=citizen, application=parent, material_id=parent_material(parent).pk, upload=pdf_file())
    with pytest.raises(Exception) as error:
        bundles.bundle_submit(actor=citizen, application=parent)
    assert "食品经营许可申请书" in str(error.value)
    assert set(parent.children.values_list("state", flat=True)) == {State.DRAFT}

    complete(citizen, parent)
    bundles.bundle_submit(actor=citizen, application=parent)
    assert set(parent.children.values_list("state", flat=True)) == {State.SUBMITTED}
    parent.refresh_from_db()
    assert parent.state == State.DRAFT  # the parent is a container: no timer or queue ever counts it

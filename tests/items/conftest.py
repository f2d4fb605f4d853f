import copy
import json

import pytest

from tests.factories import DepartmentFactory, credit_code


@pytest.fixture(autouse=True)
def empty_response_cache():
    """Each test starts with this process's catalogue response cache empty (a flushed database keeps no
    generation row, and a body cached by the previous test must not answer this one)."""
    from items.cache import response_cache

    response_cache.clear()
    yield
    response_cache.clear()


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    """Uploaded blank forms go to a per-test folder, never into var/media."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def ccsj(db):
    return DepartmentFactory(code="CCSJ", name="长春市市场监督管理局", level="3")


VALID_CATALOGUE = {
    "departments": [
        {"code": "TSJ", "name": "测试市市场监督管理局", "credit_code": credit_code(901), "level": "3",
         "parent": None, "hotline": "0431-12345"},
        {"code": "TSJ-NG", "name": "测试市南关区市场监督管理局", "credit_code": credit_code(902), "level": "4",
         "parent": "TSJ", "hotline": ""},
    ],
    "halls": [{"code": "T-CITY", "name": "测试市政务服务中心", "level": "3", "windows": 48}],
    "certificate_types": [
        {"code": "T-FOOD-BIZ", "name": "食品经营许可证", "department": "TSJ", "validity_years": 5},
        {"code": "T-BIZ-LICENSE", "name": "营业执照", "department": "TSJ", "validity_years": 30},
    ],
    "items": [
        {"code": "11220100MB1234567K4000117001000", "basic_code": "0001170010", "name": "食品经营许可（新办）",
         "item_type": "01", "level": "3", "department": "TSJ", "audience": ["2"],
         "handling": "promised", "statutory_days": 20, "promised_days": 5, "max_visits": 1,
         "online": True, "express": True, "appointment": True, "onsite_inspection": False,
         "fee": "不收费", "conditions": "具有与经营的食品品种、数量相适应的经营场所", "procedure": ["受理", "审查", "决定", "制证", "送达"],
         "legal_basis": "《中华人民共和国食品安全法》第三十五条", "location": "测试市政务服务中心二楼",
         "office_hours": "周一至周五 8:30—17:00", "hotline": "0431-88771234", "supervision_phone": "0431-12345",
         "result_name": "食品经营许可证", "certificate_type": "T-FOOD-BIZ", "themes": ["food_safety"],
         "materials": [
             {"name": "食品经营许可申请书", "form": "original", "copies_original": 1, "copies_copy": 0,
              "required": True, "source": "applicant", "satisfied_by": None, "notes": "按要求填写"},
             {"name": "营业执照", "form": "copy", "copies_original": 0, "copies_copy": 1, "required": True,
              "source": "government", "satisfied_by": "T-BIZ-LICENSE"},
         ]},
        {"code": "11220100MB1234567K2000200001000", "basic_code": "2000200001", "name": "住房公积金提取（租赁住房）",
         "item_type": "20", "department": "TSJ-NG", "audience": ["1"], "handling": "instant",
         "statutory_days": 3, "promised_days": 0, "max_visits": 0, "online": False, "themes": ["housing_fund"],
         "materials": [{"name": "居民身份证", "form": "original"}]},
    ],
}


@pytest.fixture
def catalogue():
    """A fresh, valid catalogue dict in the DESIGN §4 format (mutate freely)."""
    return copy.deepcopy(VALID_CATALOGUE)


@pytest.fixture
def write_json(tmp_path):
    def write(data, name="catalogue.json"):
        path = tmp_path / name
        path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
        return path

    return write

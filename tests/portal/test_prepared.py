"""portal/prepared.py: a hot query compiled once per connection gives what the queryset's own .get() gives."""

import threading

import pytest
from django.db import connection, transaction
from django.db.transaction import TransactionManagementError
from django.test.utils import CaptureQueriesContext

from applications.models import Application
from applications.services.case import lock_case
from portal.prepared import PreparedGet
from tests.factories import ApplicationFactory

pytestmark = pytest.mark.django_db


def _case_query(pk):
    return Application.objects.select_related("item_version__item", "department").filter(pk=pk)


def _same_fields(one, other):
    return {field.attname: getattr(one, field.attname) for field in one._meta.concrete_fields} == \
        {field.attname: getattr(other, field.attname) for field in other._meta.concrete_fields}


def test_prepared_get_builds_what_the_orm_builds():
    case = ApplicationFactory(accepted=True)
    prepared = PreparedGet(_case_query)
    mine, django_s = prepared.get(case.pk), _case_query(case.pk).get()
    assert _same_fields(mine, django_s)
    assert isinstance(mine.form_data, dict) and mine.form_data == {"经营场所": "人民大街 1 号"}  # converters ran
    assert mine.accepted_at.tzinfo is not None and mine.accepted_at == case.accepted_at
    assert _same_fields(mine.item_version, django_s.item_version)
    assert _same_fields(mine.item_version.item, django_s.item_version.item)
    assert _same_fields(mine.department, django_s.department)
    # The related rows came with the case: reading them is no query.
    code = case.item_version.item.code
    with CaptureQueriesContext(connection) as captured:
        assert mine.item_version.item.code == code and mine.department.name
    assert len(captured) == 0
    assert not mine._state.adding and mine._state.db == "default"


def test_prepared_get_compiles_once_and_runs_for_each_key():
    first, second = ApplicationFactory(submitted=True), ApplicationFactory(submitted=True)
    builds = []

    def build(pk):
        builds.append(pk)
        return _case_query(pk)

    prepared = PreparedGet(build)
    with CaptureQueriesContext(connection) as captured:
        assert prepared.get(first.pk).number == first.number
        assert prepared.get(second.pk).number == second.number
        assert prepared.get(first.pk).number == first.number
    assert len(builds) == 1  # compiled once for this connection
    assert len(captured) == 3
    assert [f'"id" = {first.pk}' in query["sql"] for query in captured] == [True, False, True]


def test_missing_row_raises_the_models_does_not_exist():
    with pytest.raises(Application.DoesNotExist):
        PreparedGet(_case_query).get(987654321)


@pytest.mark.django_db(transaction=True)
def test_a_locking_read_outside_a_transaction_is_refused_as_django_refuses_it():
    case = ApplicationFactory(submitted=True)
    with transaction.atomic():
        assert lock_case(case).pk == case.pk  # compiled inside a transaction
    assert connection.get_autocommit()
    with pytest.raises(TransactionManagementError):
        lock_case(case)  # compiled already: the check is PreparedGet's own


def test_a_key_used_twice_by_the_queryset_is_refused():
    prepared = PreparedGet(lambda pk: Application.objects.filter(pk=pk, parent_id=pk))
    with pytest.raises(ValueError, match="exactly once"):
        prepared.get(1)


@pytest.mark.django_db(transaction=True)
def test_each_thread_compiles_for_its_own_connection():
    case = ApplicationFactory(submitted=True)
    builds, found, errors = [], [], []

    def build(pk):
        builds.append(threading.get_ident())
        return _case_query(pk)

    prepared = PreparedGet(build)
    prepared.get(case.pk)

    def other_thread():
        try:
            found.append(prepared.get(case.pk).number)
        except Exception as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)
        finally:
            connection.close()

    worker = threading.Thread(target=other_thread)
    worker.start()
    worker.join()
    assert not errors and found == [case.number]
    assert len(builds) == 2 and builds[0] != builds[1]


def test_the_case_lock_builds_what_its_queryset_builds_deferred_fields_and_empty_relations_too():
    """lock_case's own query (deferred long texts, the lock of the case row alone) against the ORM's, on an
    online case whose hall is still empty."""
    from django.db import transaction

    from applications.services.case import LOCK_DEFERRED

    case = ApplicationFactory(submitted=True)
    assert case.hall_id is None
    query = Application.objects.select_related("item_version__item", "department", "hall").defer(*LOCK_DEFERRED)
    with transaction.atomic():
        locked = lock_case(case)
        django_s = query.get(pk=case.pk)
    assert locked.item_version.get_deferred_fields() == django_s.item_version.get_deferred_fields() != set()
    assert locked.get_deferred_fields() == django_s.get_deferred_fields() == set()
    assert _same_fields(locked, django_s) and _same_fields(locked.item_version, django_s.item_version)
    with_hall = PreparedGet(lambda pk: Application.objects.select_related("hall").filter(pk=pk)).get(case.pk)
    with CaptureQueriesContext(connection) as captured:
        assert with_hall.hall is None  # an empty relation came with the row: no query for it
    assert len(captured) == 0

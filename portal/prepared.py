"""A hot query's SQL compiled once, not on every call (DESIGN §12: intake ≥ 300 transitions/s).

Django compiles a queryset's SQL on every evaluation: for `lock_case`, the case joined with its item version,
item and department, that compilation cost more than the round trip itself. `PreparedGet` compiles its
queryset once per database connection (the same SQL, only the primary key differs) and then runs that SQL
with the next key, building the objects as Django's own model iterable does (`from_db`, the
`select_related` populators, the fields' converters). What the caller gets is indistinguishable from the
queryset's `.get()`; the SQL it runs is the one Django wrote.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.db import connections
from django.db.models import Model, QuerySet
from django.db.models.query import get_related_populators
from django.db.transaction import TransactionManagementError

# The key the queryset is built with: compiled once, its place among the parameters is where each call's
# key goes.
_PLACEHOLDER_KEY = -7_345_211


@dataclass
class _Compiled:
    sql: str
    params: list
    key_index: int
    compiler: object
    init_list: list[str]
    fields_start: int
    fields_end: int
    populators: list
    converters: dict
    locks: bool


class PreparedGet:
    """`PreparedGet(lambda pk: Model.objects.….filter(pk=pk))`, then `.get(pk)`: the one row, or the
    model's DoesNotExist; or `.list(key)`: every row the queryset finds for that key."""

    def __init__(self, build: Callable[[int], QuerySet]):
        self.build = build

    def _compile(self, using: str) -> _Compiled:
        # Kept on the connection object: Django's connections are per thread, a compiler keeps its
        # connection, and what was compiled for a connection goes with it.
        connection = connections[using]
        per_connection = connection.__dict__.setdefault("_prepared_gets", {})
        compiled = per_connection.get(self)
        if compiled is not None:
            return compiled
        queryset = self.build(_PLACEHOLDER_KEY).using(using)
        compiler = queryset.query.get_compiler(using=using)
        sql, params = compiler.as_sql()
        params = list(params)
        if params.count(_PLACEHOLDER_KEY) != 1:
            raise ValueError("PreparedGet: the queryset must use its key exactly once among its parameters")
        klass_info, select = compiler.klass_info, compiler.select
        fields = klass_info["select_fields"]
        compiled = _Compiled(
            sql=sql, params=params, key_index=params.index(_PLACEHOLDER_KEY), compiler=compiler,
            init_list=[column[0].target.attname for column in select[fields[0]:fields[-1] + 1]],
            fields_start=fields[0], fields_end=fields[-1] + 1,
            populators=get_related_populators(klass_info, select, using),
            converters=compiler.get_converters([column[0] for column in select[:compiler.col_count]]),
            locks=queryset.query.select_for_update,
        )
        per_connection[self] = compiled
        return compiled

    def get(self, key: int, *, using: str = "default") -> Model:
        rows, compiled = self._rows(key, using=using, limit=2)
        model = compiled.compiler.klass_info["model"]
        if not rows:
            raise model.DoesNotExist(f"{model._meta.object_name} matching query does not exist.")
        if len(rows) > 1:
            raise model.MultipleObjectsReturned(f"get() returned more than one {model._meta.object_name}")
        return self._build(rows[0], compiled, using)

    def list(self, key: int, *, using: str = "default") -> list[Model]:
        """Every row, in the queryset's order."""
        rows, compiled = self._rows(key, using=using)
        return [self._build(row, compiled, using) for row in rows]

    def _rows(self, key: int, *, using: str, limit: int | None = None) -> tuple[list, _Compiled]:
        compiled = self._compile(using)
        connection = connections[using]
        if compiled.locks and connection.features.has_select_for_update and connection.get_autocommit():
            # what Django's compiler says of a locking read (where the database has them)
            raise TransactionManagementError("select_for_update cannot be used outside of a transaction.")
        params = list(compiled.params)
        params[compiled.key_index] = key
        with connection.cursor() as cursor:
            cursor.execute(compiled.sql, params)
            rows = cursor.fetchmany(limit) if limit else cursor.fetchall()
        if rows and compiled.converters:
            rows = list(compiled.compiler.apply_converters(rows, compiled.converters))
        return rows, compiled

    @staticmethod
    def _build(row, compiled: _Compiled, using: str) -> Model:
        instance = compiled.compiler.klass_info["model"].from_db(
            using, compiled.init_list, row[compiled.fields_start:compiled.fields_end])
        for populator in compiled.populators:
            populator.populate(row, instance)
        return instance

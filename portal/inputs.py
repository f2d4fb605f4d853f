"""What text the portal accepts, decided once (docs/decisions/041-throttles-and-input-limits.md).

- No control characters in any text: NUL and the other C0/C1 controls and lone surrogates are refused
  everywhere (PostgreSQL cannot store NUL in text or jsonb, and nobody types them); tab and line breaks
  only in multi-line texts (reasons, opinions, descriptions).
- Every text that is stored is bounded by the length of the column it goes to: API fields are built with
  `bounded()` from the model field, so the serializer refuses what the database would overflow on.
- JSON bodies: at most DATA_UPLOAD_MAX_MEMORY_SIZE bytes (413 beyond, portal.apis), nested at most
  MAX_JSON_DEPTH deep, no control character in any key or string (400 naming the field).
- Query strings and form posts: the same control-character rule, checked by `InputGuardMiddleware` before
  any view sees them (400 naming the parameter), so no `?type=%00` reaches a query.

Each refusal is a 400 that names the field, as every other validation error.
"""

import json
import re
from collections.abc import Iterator

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.http import JsonResponse
from django.shortcuts import render
from django.utils.deconstruct import deconstructible
from rest_framework import exceptions, serializers
from rest_framework.parsers import JSONParser

# C0 controls but tab, line feed and carriage return; DEL and the C1 controls; lone UTF-16 surrogates.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
_CONTROL_OR_BREAK = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
CONTROL_MESSAGE = "不能包含控制字符（如 NUL）"
LINE_BREAK_MESSAGE = "不能包含换行符、制表符或其他控制字符"

MAX_JSON_DEPTH = 20
# form_data (申请表内容): an object of what the applicant filled in, values of a form's size.
FORM_DATA_MAX_KEYS = 100
FORM_DATA_MAX_KEY_LENGTH = 100
FORM_DATA_MAX_VALUE_LENGTH = 2000
FORM_DATA_MAX_DEPTH = 3


# A mobile or fixed-line number as people write it (+86, area code, hyphens, spaces, an extension in
# brackets); the pages and the API use this one rule.
phone_validator = RegexValidator(r"\A[0-9+\-() ]{7,20}\Z", "请填写正确的电话号码（手机或带区号的固定电话）")


def has_control_characters(text: str, *, multiline: bool = True) -> bool:
    return bool((_CONTROL if multiline else _CONTROL_OR_BREAK).search(text))


@deconstructible
class NoControlCharactersValidator:
    """Django/DRF validator: refuses control characters; tab and line breaks only when `multiline`."""

    def __init__(self, multiline: bool = False):
        self.multiline = multiline

    def __call__(self, value):
        if isinstance(value, str) and has_control_characters(value, multiline=self.multiline):
            raise ValidationError(CONTROL_MESSAGE if self.multiline else LINE_BREAK_MESSAGE, code="control_characters")

    def __eq__(self, other):
        return isinstance(other, NoControlCharactersValidator) and other.multiline == self.multiline


def bounded(model: type[models.Model], field_name: str, *, multiline: bool = False, max_length: int | None = None,
            **kwargs) -> serializers.CharField:
    """A serializer CharField for text stored in `model.field_name`: the column's max_length (or the
    `max_length` given, for a TextField), the field's label, and no control characters."""
    field = model._meta.get_field(field_name)
    limit = max_length or field.max_length
    if limit is None:
        raise ValueError(f"{model.__name__}.{field_name} has no max_length: pass one")
    kwargs.setdefault("label", str(field.verbose_name))
    kwargs["validators"] = [*kwargs.get("validators", ()), NoControlCharactersValidator(multiline=multiline)]
    return serializers.CharField(max_length=limit, **kwargs)


def _walk(value) -> Iterator[tuple[tuple, object, int, bool]]:
    """Every (path, value, depth, is_key) of a parsed JSON document, keys included, without recursion."""
    stack = [((), value, 0)]
    while stack:
        path, value, depth = stack.pop()
        yield path, value, depth, False
        if isinstance(value, dict):
            for key, item in value.items():
                yield (*path, key), key, depth + 1, True
                stack.append(((*path, key), item, depth + 1))
        elif isinstance(value, list):
            stack.extend(((*path, index), item, depth + 1) for index, item in enumerate(value))


def _path_text(path: tuple) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return _CONTROL_OR_BREAK.sub("?", text)[:200]


def _field_error(path: tuple, message: str) -> dict:
    """{top-level field: [message naming the full path]}, the shape of every other 400."""
    field = _CONTROL_OR_BREAK.sub("?", str(path[0]))[:100] if path and isinstance(path[0], str) else "non_field_errors"
    where = _path_text(path)
    return {field: [f"「{where}」{message}" if len(path) > 1 else message]}


class StrictJSONParser(JSONParser):
    """DRF's JSON parser with a depth limit and the control-character rule. The size is Django's
    DATA_UPLOAD_MAX_MEMORY_SIZE, checked as DRF reads the body (a 413 from portal.apis.exception_handler)."""

    def parse(self, stream, media_type=None, parser_context=None):
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            data = json.loads(stream.read().decode(encoding), parse_constant=_refuse_constant)
        except RecursionError as error:
            raise exceptions.ParseError(f"JSON 嵌套层数超过 {MAX_JSON_DEPTH} 层") from error
        except (ValueError, UnicodeDecodeError) as error:
            raise exceptions.ParseError(f"JSON 格式错误：{error}") from error
        for path, value, depth, _is_key in _walk(data):
            if depth > MAX_JSON_DEPTH:
                raise exceptions.ParseError(f"JSON 嵌套层数超过 {MAX_JSON_DEPTH} 层")
            if isinstance(value, str) and has_control_characters(value):
                raise serializers.ValidationError(_field_error(path, CONTROL_MESSAGE))
        return data


def _refuse_constant(name: str):
    raise ValueError(f"{name} 不是有效的 JSON 数值")


class FormDataField(serializers.JSONField):
    """申请表内容: an object (field name → what was filled in), every string of a form field's size."""

    def __init__(self, **kwargs):
        kwargs.setdefault("label", "申请表内容")
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        data = super().to_internal_value(data)
        if not isinstance(data, dict):
            raise serializers.ValidationError("申请表内容应为“字段名: 内容”的对象")
        if len(data) > FORM_DATA_MAX_KEYS:
            raise serializers.ValidationError(f"申请表内容最多 {FORM_DATA_MAX_KEYS} 项")
        for path, value, depth, is_key in _walk(data):
            where = _path_text(path)
            if depth > FORM_DATA_MAX_DEPTH:
                raise serializers.ValidationError(f"「{where}」嵌套层数过多")
            if isinstance(value, (dict, list)) and len(value) > FORM_DATA_MAX_KEYS:
                raise serializers.ValidationError(f"「{where}」最多 {FORM_DATA_MAX_KEYS} 项")
            if isinstance(value, str):
                limit = FORM_DATA_MAX_KEY_LENGTH if is_key else FORM_DATA_MAX_VALUE_LENGTH
                if len(value) > limit:
                    raise serializers.ValidationError(f"「{where}」不能超过 {limit} 个字符")
                if has_control_characters(value, multiline=not is_key):
                    raise serializers.ValidationError(f"「{where}」{CONTROL_MESSAGE}")
        return data


class InputGuardMiddleware:
    """Refuses control characters in query parameters and url-encoded form posts before a view runs:
    400 naming the parameter (JSON under /api/, a Chinese page elsewhere). Multipart bodies are left to
    the forms and serializers, so upload handlers stay the view's to choose."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        sources = [request.GET]
        if request.method == "POST" and request.content_type == "application/x-www-form-urlencoded":
            sources.append(request.POST)
        for source in sources:
            for name, values in source.lists():
                if has_control_characters(name) or any(has_control_characters(value) for value in values):
                    return self.refusal(request, _CONTROL_OR_BREAK.sub("?", name)[:100] or "?")
        return self.get_response(request)

    @staticmethod
    def refusal(request, name: str):
        if request.path.startswith("/api/"):
            return JsonResponse({name: [f"参数 {name} {CONTROL_MESSAGE}"]}, status=400)
        return render(request, "400.html", {"message": f"提交的内容（{name}）{CONTROL_MESSAGE}，请检查后重试。"}, status=400)

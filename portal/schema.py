"""The OpenAPI schema tells every answer an operation can give, not only its success
(docs/decisions/044-api-schema-truth.md).

`PortalAutoSchema` (REST_FRAMEWORK["DEFAULT_SCHEMA_CLASS"]) adds to each operation the error answers its
view can give, derived from the view as DRF and portal.apis.exception_handler produce them:

- 400 `ValidationError` (messages keyed by field, nested as the input is; or `detail` + `code`): it takes
  a body or query parameters (portal.inputs refuses control characters in any of them).
- 401 `Error`: it accepts API tokens (a token sent and rejected, e.g. expired; portal.authentication).
- 403 `Error`: its permissions refuse anonymous callers, or it changes state under session authentication
  (CSRF); services' Forbidden is a 403 too, and only views that authenticate reach them.
- 404 `Error`: the path has parameters (what the caller may not see is 404, DESIGN §10), or it paginates
  (a page past the end).
- 409 `Error`: it changes state for an authenticated caller (a refused transition, or a lock conflict).
- 413 `Error`: it takes a body (DATA_UPLOAD_MAX_MEMORY_SIZE).
- 415 `Error`: it takes a body, sent without a media type or in one it does not list.
- 429 `Error`: it has throttles (portal.throttles).

A view declares any other answer next to its success in `extend_schema(responses={…, 503: ERROR})`;
what a view declares is kept as it is. 405 and 406 (a method or an `Accept` the operation does not list)
are DRF's answers to requests outside the schema and are not repeated on every operation.
"""

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import ResolvedComponent
from rest_framework import serializers
from rest_framework.authentication import SessionAuthentication, TokenAuthentication
from rest_framework.permissions import SAFE_METHODS, AllowAny, IsAuthenticatedOrReadOnly


class ErrorSerializer(serializers.Serializer):
    """Every refusal but a 400's field messages: a message for people and a code for programs."""

    detail = serializers.CharField(help_text="给用户看的说明")
    code = serializers.CharField(help_text="供程序判断的代码，如 invalid_transition、conflict、not_found、throttled")


# For `extend_schema(responses={…})` on the views that answer more than PortalAutoSchema derives.
ERROR = ErrorSerializer

VALIDATION_ERROR = "ValidationError"
FIELD_ERRORS = "FieldErrors"


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


# A 400, as DRF's ValidationError, Django's (portal.apis) and portal.inputs shape it: each field's messages;
# a nested serializer's or a dict's errors as an object of the same shape, a list's as an array of them
# (`{"deficiencies": [{}, {"reason": ["…"]}]}`); a parse error or a refused login as `detail` + `code`.
SCHEMAS = {
    VALIDATION_ERROR: {
        "type": "object",
        "description": "输入有误：按字段列出的错误信息（嵌套输入按相同结构嵌套），或 detail 与 code",
        "properties": {
            "detail": {"type": "string"},
            # A machine-readable code, or the messages of an input that is itself named `code`.
            "code": {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]},
            "non_field_errors": {"type": "array", "items": {"type": "string"}},
        },
        "additionalProperties": _ref(FIELD_ERRORS),
    },
    FIELD_ERRORS: {
        "anyOf": [
            {"type": "array", "items": {"anyOf": [{"type": "string"}, _ref(VALIDATION_ERROR)]}},
            _ref(VALIDATION_ERROR),
        ],
    },
}

DESCRIPTIONS = {
    "400": "输入有误",
    "401": "API 令牌无效或已过期，请重新获取",
    "403": "未登录、无权执行此操作，或缺少 CSRF 令牌",
    "404": "不存在或无权查看",
    "409": "当前状态不允许此操作，或与他人的操作冲突（未生效）",
    "413": "请求内容过大",
    "415": "请求内容的类型不受支持",
    "429": "请求过于频繁，请稍后再试",
    "503": "暂时无法完成（如存储不可用），未保存任何内容，请稍后重试",
}


class PortalAutoSchema(AutoSchema):
    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        responses = operation["responses"]
        for code in self.error_codes(operation):
            if code not in responses:
                responses[code] = self._get_response_for_code(VALIDATION_ERROR if code == "400" else ERROR, code)
        for code, response in responses.items():
            if code in DESCRIPTIONS and not response.get("description"):
                response["description"] = DESCRIPTIONS[code]
        operation["responses"] = dict(sorted(responses.items()))
        return operation

    def _get_response_for_code(self, serializer, status_code, media_types=None, direction="response"):
        if serializer == VALIDATION_ERROR:
            for name, schema in SCHEMAS.items():
                self.registry.register_on_missing(
                    ResolvedComponent(name=name, type=ResolvedComponent.SCHEMA, schema=schema, object=name)
                )
            return {"content": {"application/json": {"schema": _ref(VALIDATION_ERROR)}}, "description": ""}
        return super()._get_response_for_code(serializer, status_code, media_types, direction)

    def error_codes(self, operation: dict) -> list[str]:
        """The error answers this operation's view can give (see the module's docstring)."""
        locations = {parameter["in"] for parameter in operation.get("parameters", [])}
        takes_body = "requestBody" in operation
        changes_state = self.method not in SAFE_METHODS
        authenticators = self.view.get_authenticators()
        codes = []
        if takes_body or "query" in locations:
            codes.append("400")
        if any(isinstance(authenticator, TokenAuthentication) for authenticator in authenticators):
            codes.append("401")
        session = any(isinstance(authenticator, SessionAuthentication) for authenticator in authenticators)
        if self._refuses_anonymous() or (changes_state and session):
            codes.append("403")
        if "path" in locations or self._get_pagination_parameters():
            codes.append("404")
        if changes_state and authenticators:
            codes.append("409")
        if takes_body:
            codes += ["413", "415"]
        if self.view.get_throttles():
            codes.append("429")
        return codes

    def _refuses_anonymous(self) -> bool:
        for permission in self.view.get_permissions():
            if isinstance(permission, AllowAny):
                continue
            if isinstance(permission, IsAuthenticatedOrReadOnly) and self.method in SAFE_METHODS:
                continue
            return True
        return False

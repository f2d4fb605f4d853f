"""Password rules beyond Django's own (AUTH_PASSWORD_VALIDATORS)."""

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError


class DistinctCharactersValidator:
    """Refuses passwords of one repeated character or only a few distinct ones ("aaaaaaaaa", "abababab"):
    long enough for the length rule, guessed at once."""

    def __init__(self, min_distinct: int = 4):
        self.min_distinct = min_distinct

    def validate(self, password, user=None):
        if len(set(password)) < self.min_distinct:
            raise ValidationError(
                f"密码过于简单：至少应包含 {self.min_distinct} 个不同的字符，不能由同一字符重复组成。",
                code="password_too_repetitive",
            )

    def get_help_text(self):
        return f"密码至少应包含 {self.min_distinct} 个不同的字符。"


def password_problems(password: str, user=None) -> list[str]:
    """What AUTH_PASSWORD_VALIDATORS say against `password` for `user` (Chinese messages); empty when it passes."""
    try:
        validate_password(password, user)
    except ValidationError as error:
        return list(error.messages)
    return []

"""Page forms of the accounts pages (decision 046): shape only; portal.accounts decides."""

from django import forms

from portal.identity import IdType
from portal.inputs import NoControlCharactersValidator
from portal.models import User

PHONE_HELP = "中国大陆 11 位手机号码"
CODE_HELP = "6 位数字，5 分钟内有效，最多可输错 5 次"


def _phone_field(label: str = "手机号码") -> forms.CharField:
    return forms.CharField(label=label, max_length=20, help_text=PHONE_HELP,
                           widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel"}))


def _code_field() -> forms.CharField:
    # Not required by the form: the "获取验证码" button posts the form before there is a code.
    return forms.CharField(label="短信验证码", max_length=6, required=False, help_text=CODE_HELP,
                           widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric",
                                                             "aria-required": "true"}))


def _password_field(label: str) -> forms.CharField:
    return forms.CharField(label=label, max_length=256, strip=False, required=False,
                           help_text="至少 8 位，不能全为数字，不能过于简单或与个人信息相似",
                           widget=forms.PasswordInput(attrs={"autocomplete": "new-password", "aria-required": "true"}))


class RegistrationForm(forms.Form):
    # Required by the service (its messages name the field), not here: 获取验证码 posts the form half filled.
    real_name = forms.CharField(label="真实姓名", max_length=User._meta.get_field("real_name").max_length, required=False,
                                validators=[NoControlCharactersValidator()],
                                widget=forms.TextInput(attrs={"autocomplete": "name", "aria-required": "true"}))
    id_type = forms.ChoiceField(label="证件类型", choices=[(IdType.RESIDENT_ID, IdType.RESIDENT_ID.label)],
                                initial=IdType.RESIDENT_ID, required=False)
    id_number = forms.CharField(label="居民身份证号码", max_length=30, required=False, help_text="18 位，末位可能为 X",
                                widget=forms.TextInput(attrs={"aria-required": "true"}))
    phone = _phone_field()
    code = _code_field()
    password = _password_field("设置密码")
    password_again = forms.CharField(label="再次输入密码", max_length=256, strip=False, required=False,
                                     widget=forms.PasswordInput(attrs={"autocomplete": "new-password", "aria-required": "true"}))


    def clean_id_type(self):
        return self.cleaned_data.get("id_type") or IdType.RESIDENT_ID


class SmsLoginForm(forms.Form):
    phone = _phone_field()
    code = _code_field()


class PasswordResetForm(forms.Form):
    phone = _phone_field("注册时的手机号码")
    code = _code_field()
    password = _password_field("新密码")
    password_again = forms.CharField(label="再次输入新密码", max_length=256, strip=False, required=False,
                                     widget=forms.PasswordInput(attrs={"autocomplete": "new-password", "aria-required": "true"}))

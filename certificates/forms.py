"""Forms of the certificate pages. They check shape only; services decide."""

from django import forms
from django.core.exceptions import ValidationError

from certificates.models import CertificateStatus
from certificates.uploads import read_pdf_upload


class IdentifierForm(forms.Form):
    # One box for both (DESIGN §14): the identifier the QR code carries, or the licence number printed on it.
    identifier = forms.CharField(
        label="证照标识或许可证编号", max_length=100,
        # The examples in the hint, not a placeholder: a phone cuts a placeholder this long.
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false", "autocapitalize": "characters"}),
        help_text="证照标识以 1.2.156.3005.2 开头；许可证编号印在证照上，如 JY12201020000001。不区分大小写。",
        error_messages={"required": "请输入证照标识或许可证编号", "max_length": "证照标识或许可证编号不超过 100 个字符"},
    )


class VerifyFileForm(forms.Form):
    file = forms.FileField(
        label="证照文件（PDF）", error_messages={"required": "请选择要核验的 PDF 文件", "empty": "文件为空"},
        widget=forms.ClearableFileInput(attrs={"accept": "application/pdf,.pdf"}),
    )

    def clean_file(self):
        try:
            self.cleaned_data["data"] = read_pdf_upload(self.cleaned_data["file"])
        except ValidationError as error:
            raise ValidationError(error.message_dict["file"]) from error
        return self.cleaned_data["file"]


class RevokeForm(forms.Form):
    reason = forms.CharField(
        label="注销原因", max_length=500,
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": "例如：以欺骗手段取得许可，依法撤销"}),
        error_messages={"required": "请填写注销原因"},
    )


class DepartmentFilterForm(forms.Form):
    q = forms.CharField(label="持证主体或证照标识", required=False, max_length=100)
    status = forms.ChoiceField(label="状态", required=False, choices=[("", "全部状态"), *CertificateStatus.choices])

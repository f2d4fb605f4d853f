"""Page forms of 投诉 (decision 059): shape only; services.complaint_* decide. Fields are required by the service
(its messages name them), not here: 获取验证码 posts the form half filled, as on the accounts pages."""

from django import forms

from applications.models import ComplaintCategory, ComplaintVerdict
from applications.models.complaints import CONTENT_MAX_LENGTH, NOTE_MAX_LENGTH
from items.models import Item
from portal.forms import CODE_HELP, PHONE_HELP
from portal.inputs import NoControlCharactersValidator
from portal.models import Department

REQUIRED = {"aria-required": "true"}


def _category_field() -> forms.ChoiceField:
    return forms.ChoiceField(label="投诉类别", choices=[("", "请选择"), *ComplaintCategory.choices], required=False,
                             widget=forms.Select(attrs=REQUIRED))


def _content_field() -> forms.CharField:
    return forms.CharField(label="投诉内容", max_length=CONTENT_MAX_LENGTH, required=False,
                           help_text=f"请写明时间、地点、经过和您的诉求，不超过 {CONTENT_MAX_LENGTH} 字",
                           validators=[NoControlCharactersValidator(multiline=True)],
                           widget=forms.Textarea(attrs={"rows": 5, **REQUIRED}))


class CaseComplaintForm(forms.Form):
    """From a case's page: the case says the department and who complains."""

    category = _category_field()
    content = _content_field()


class ComplaintForm(forms.Form):
    """The public form: the department (or an item of the catalogue, whose department it goes to), and for
    someone not signed in, a mobile number proven by an SMS code and an optional name."""

    department = forms.ChoiceField(label="投诉部门", required=False,
                                   widget=forms.Select(attrs={"data-autosubmit": ""}))
    item = forms.ChoiceField(label="相关事项（可不选）", required=False, help_text="列出所选部门的事项；选择后按事项的实施部门转交")
    category = _category_field()
    content = _content_field()
    name = forms.CharField(label="姓名（可不填）", max_length=50, required=False,
                           validators=[NoControlCharactersValidator()], widget=forms.TextInput(attrs={"autocomplete": "name"}))
    phone = forms.CharField(label="手机号码", max_length=20, required=False, help_text=PHONE_HELP + "，用于回访和接收答复",
                            widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel", **REQUIRED}))
    code = forms.CharField(label="短信验证码", max_length=6, required=False, help_text=CODE_HELP,
                           widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", **REQUIRED}))

    def __init__(self, *args, known: bool = False, **kwargs):
        """`known`: a signed-in applicant, who gives no phone and no code. The items offered are the chosen
        department's only (a catalogue has thousands): choosing a department lists them (the form is sent
        again, by script or by the 列出事项 button); `initial` may name an item (`?item=` from its guide)."""
        super().__init__(*args, **kwargs)
        self.fields["department"].choices = [("", "请选择"), *Department.objects.order_by("code").values_list("code", "name")]
        chosen = (self.data.get("department") if self.is_bound else self.initial.get("department")) or ""
        items = Item.objects.filter(current_version__isnull=False).select_related("current_version").order_by("code")
        items = items.filter(department__code=chosen) if chosen else items.none()
        self.fields["item"].choices = [("", "不选择" if chosen else "请先选择投诉部门"),
                                       *((item.code, item.current_version.name) for item in items)]
        if known:
            for name in ("name", "phone", "code"):
                del self.fields[name]

    def filing(self) -> dict:
        """The service's arguments."""
        data = self.cleaned_data
        return {"department_code": data.get("department", ""), "item_code": data.get("item", ""),
                "category": data.get("category", ""), "content": data.get("content", ""),
                **{name: data.get(name, "") for name in ("name", "phone", "code") if name in self.fields}}


class ComplaintRateForm(forms.Form):
    verdict = forms.ChoiceField(label="对答复的评价", choices=ComplaintVerdict.choices, required=False,
                                widget=forms.RadioSelect)
    comment = forms.CharField(label="评价意见", max_length=NOTE_MAX_LENGTH, required=False,
                              help_text="选择「不满意」时请写明原因，监察人员将据此复核",
                              widget=forms.Textarea(attrs={"rows": 3}))

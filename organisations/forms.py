from django import forms

from organisations.models import Organisation, OrganisationKind


class OrganisationForm(forms.Form):
    name = forms.CharField(label="单位名称", max_length=Organisation._meta.get_field("name").max_length)
    credit_code = forms.CharField(label="统一社会信用代码", max_length=18,
                                  widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
                                  help_text="18 位，见营业执照或登记证书")
    kind = forms.ChoiceField(label="主体类型", choices=OrganisationKind.choices, initial=OrganisationKind.ENTERPRISE)
    legal_rep_name = forms.CharField(label="法定代表人（负责人）姓名", max_length=50)
    legal_rep_id_number = forms.CharField(label="法定代表人身份证号码", max_length=18,
                                          widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}))


class AgentForm(forms.Form):
    name = forms.CharField(label="经办人姓名", max_length=50, required=False,
                           help_text="该人员尚未在本平台登记时必填")
    id_number = forms.CharField(label="经办人身份证号码", max_length=18,
                                widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}))
    attorney_letter = forms.FileField(label="授权委托书（法定代表人签署，PDF 或图片）", required=False)

    def __init__(self, *args, at_window: bool, **kwargs):
        super().__init__(*args, **kwargs)
        if not at_window:
            del self.fields["attorney_letter"]
        else:
            self.fields["attorney_letter"].required = True

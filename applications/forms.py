"""Forms of the intake pages. They check shape only; services decide everything else."""

from django import forms
from django.core.exceptions import ValidationError

from applications.clock import MAX_EXTENSION_WORKING_DAYS
from applications.models import State, SuspensionKind
from certificates.faces import MAX_FACE_VALUE_LENGTH
from certificates.models import FaceFieldType
from portal.identity import IdType, normalize_id_number
from portal.inputs import phone_validator


def add_service_errors(form: forms.Form, error: ValidationError) -> None:
    """Put a service's ValidationError next to the field it names; what names no field goes on top."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error.messages)
        return
    for field, messages in error.message_dict.items():
        form.add_error(field if field in form.fields else None, messages)


class PrincipalFields(forms.Form):
    """代办 (DESIGN §13): the natural person the case is filed for; the service validates the pair."""

    principal_name = forms.CharField(label="委托人姓名", max_length=50, required=False)
    principal_id_number = forms.CharField(label="委托人身份证号码", max_length=18, required=False,
                                          widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}))

    def principal(self) -> dict | None:
        name, number = self.cleaned_data.get("principal_name", "").strip(), self.cleaned_data.get("principal_id_number", "").strip()
        if not (name or number):
            return None
        return {"name": name, "id_type": IdType.RESIDENT_ID, "id_number": number}


class ApplyingAsFields(forms.Form):
    """As whom an applicant files online (DESIGN §13): in person, or as an organisation they act for; with
    `principal_choice`, also for another person (代办)."""

    # An organisation drops out of the choices once its legal representative removes the agent (DESIGN §13),
    # possibly while the form is open: say why, not Django's 「选择一个有效的选项」 with the raw value.
    applying_as = forms.ChoiceField(
        label="申请身份", widget=forms.RadioSelect, initial="self", required=False,
        error_messages={"invalid_choice": "您已不是该单位的法定代表人或经办人，不能以单位名义申请；请选择本人申请，或请单位法定代表人重新授权"},
    )
    principal_choice = False

    def __init__(self, *args, organisations=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["applying_as"].choices = [
            ("self", "本人申请"),
            *((f"org:{o.credit_code}", f"以单位名义申请：{o.name}") for o in organisations),
            *([("principal", "代他人办理（代办，须上传授权委托书）")] if self.principal_choice else []),
        ]

    def party(self) -> dict:
        """`application_create`'s organisation argument (and, for 代办, the principal)."""
        choice = self.cleaned_data.get("applying_as") or "self"
        if choice.startswith("org:"):
            return {"organisation": choice[4:]}
        return {}


class ApplyForm(ApplyingAsFields, PrincipalFields):
    """An online application: as whom (oneself, an organisation one acts for, or another person), what the
    applicant asks for and how to reach them."""

    principal_choice = True

    description = forms.CharField(
        label="申请事项说明", max_length=1000,
        widget=forms.Textarea(attrs={"rows": 4, "placeholder": "简要说明申请的内容，例如经营场所、经营项目等"}),
    )
    contact_phone = forms.CharField(label="联系电话", max_length=20, validators=[phone_validator])
    contact_address = forms.CharField(label="联系地址", max_length=200, required=False,
                                      help_text="用于邮寄送达办理结果，可不填")

    def clean(self):
        data = super().clean()
        if data.get("applying_as") == "principal":
            if not data.get("principal_name", "").strip():
                self.add_error("principal_name", "代他人办理须填写委托人姓名")
            if not data.get("principal_id_number", "").strip():
                self.add_error("principal_id_number", "代他人办理须填写委托人身份证号码")
        elif self.principal():
            # Typed, then another choice made: say so rather than silently file it for oneself.
            self.add_error("applying_as", "已填写委托人信息：代他人办理请选择“代他人办理”，本人申请请清空委托人信息")
        return data

    def party(self) -> dict:
        if (self.cleaned_data.get("applying_as") or "self") == "principal":
            return {"principal": self.principal()}
        return super().party()

    def form_data(self) -> dict:
        return {"申请事项说明": self.cleaned_data["description"].strip()}


class MaterialUploadForm(forms.Form):
    requirement = forms.IntegerField(widget=forms.HiddenInput)
    file = forms.FileField(label="选择文件", error_messages={"required": "请选择要上传的文件"})


class IntakeForm(PrincipalFields):
    """A walk-in registered at the window: the item, and the applicant's real name and ID; for an
    organisation, its credit code (the person present is its agent); for 代办, the principal."""

    organisation = forms.CharField(label="申请单位统一社会信用代码", max_length=18, required=False,
                                   help_text="以单位名义办理时填写（单位须已登记），申请人栏填写到场的法定代表人或经办人")

    item = forms.CharField(label="办理事项", max_length=40, error_messages={"required": "请选择办理事项"})
    applicant_name = forms.CharField(label="申请人姓名", max_length=50)
    id_type = forms.ChoiceField(label="证件类型", choices=IdType.choices, initial=IdType.RESIDENT_ID)
    id_number = forms.CharField(label="证件号码", max_length=30)
    contact_phone = forms.CharField(label="联系电话", max_length=20, required=False, validators=[phone_validator])
    contact_address = forms.CharField(label="联系地址", max_length=200, required=False)
    # DESIGN §14: a renew/change/replace/cancel item names the certificate held; the service checks it.
    certificate = forms.CharField(label="所涉证照标识", max_length=100, required=False,
                                  help_text="延续、变更、补证、注销事项填写申请人（或申请单位）所持证照的证照标识；新办事项不填",
                                  widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}))

    def clean(self):
        data = super().clean()
        # Checked here as well as in the service so the message sits next to the ID field.
        if data.get("id_type") and data.get("id_number"):
            try:
                data["id_number"] = normalize_id_number(id_type=data["id_type"], value=data["id_number"])
            except ValidationError as error:
                self.add_error("id_number", error.messages)
        return data

    def applicant(self) -> dict:
        data = self.cleaned_data
        return {"name": data["applicant_name"].strip(), "id_type": data["id_type"], "id_number": data["id_number"]}

    def party(self) -> dict:
        return {"organisation": self.cleaned_data.get("organisation", "").strip(), "principal": self.principal()}


class NoticeForm(forms.Form):
    """一次性告知: one checkbox and one reason per requirement, all deficiencies in a single submit."""

    def __init__(self, *args, requirements, **kwargs):
        super().__init__(*args, **kwargs)
        self.requirements = list(requirements)
        for requirement in self.requirements:
            self.fields[f"named_{requirement.pk}"] = forms.BooleanField(label=requirement.name, required=False)
            self.fields[f"reason_{requirement.pk}"] = forms.CharField(
                label=f"{requirement.name}的补正原因", max_length=300, required=False,
                widget=forms.TextInput(attrs={"placeholder": "例如：缺少法定代表人签字"}),
            )

    def rows(self):
        """(requirement, checkbox field, reason field) for the template."""
        return [(r, self[f"named_{r.pk}"], self[f"reason_{r.pk}"]) for r in self.requirements]

    def clean(self):
        data = super().clean()
        for requirement in self.requirements:
            if data.get(f"named_{requirement.pk}") and not (data.get(f"reason_{requirement.pk}") or "").strip():
                self.add_error(f"reason_{requirement.pk}", "请写明补正原因")
        return data

    def deficiencies(self) -> list[dict]:
        data = self.cleaned_data
        return [
            {"requirement": requirement.pk, "reason": data[f"reason_{requirement.pk}"].strip()}
            for requirement in self.requirements
            if data.get(f"named_{requirement.pk}")
        ]


class ReferForm(forms.Form):
    reason = forms.CharField(label="转部门研判原因", max_length=500, required=False,
                             widget=forms.Textarea(attrs={"rows": 3}))


class ReturnForm(forms.Form):
    reason = forms.CharField(label="退回意见", max_length=500, required=False,
                             widget=forms.Textarea(attrs={"rows": 2}))


class DeclineForm(forms.Form):
    reason = forms.CharField(label="不予受理理由", max_length=500, required=False,
                             widget=forms.Textarea(attrs={"rows": 2}))
    legal_basis = forms.CharField(label="法律依据", max_length=500, required=False,
                                  widget=forms.TextInput(attrs={"placeholder": "例如：《中华人民共和国行政许可法》第三十二条"}))


# --- back office (review) ------------------------------------------------------------------------------


class WorklistFilterForm(forms.Form):
    """The work list's filters (GET). Unknown values are ignored rather than refused: it is a list, not a write."""

    STATE_CHOICES = (("", "全部状态"), ("accepted", "已受理待认领"), ("in_review", "审查中"), ("suspended", "已中止计时"))
    ALERT_CHOICES = (
        ("", "全部预警"), ("green", "正常"), ("yellow", "预警"), ("red", "今日到期"), ("overdue", "已超期"),
        ("suspended", "暂停计时"),
    )

    state = forms.ChoiceField(label="状态", choices=STATE_CHOICES, required=False)
    alert = forms.ChoiceField(label="预警", choices=ALERT_CHOICES, required=False)
    mine = forms.BooleanField(label="只看我认领的", required=False)
    q = forms.CharField(label="事项", max_length=100, required=False,
                        widget=forms.TextInput(attrs={"type": "search", "placeholder": "事项名称或办件编号"}))

    def filters(self) -> dict:
        data = self.cleaned_data if self.is_valid() else {}
        return {
            "state": data.get("state") or "",
            "alert": data.get("alert") or "",
            "mine": bool(data.get("mine")),
            "q": (data.get("q") or "").strip(),
        }


class SuspendForm(NoticeForm):
    """中止计时: a kind and a reason; for 补正材料, the one-time notice's checklist (a reason per requirement)."""

    kind = forms.ChoiceField(label="中止类型", choices=[("", "请选择")] + list(SuspensionKind.choices), required=False)
    reason = forms.CharField(label="中止理由", max_length=500, required=False,
                             widget=forms.Textarea(attrs={"rows": 2, "placeholder": "例如：需现场核查经营场所"}))

    def clean(self):
        # The checklist belongs to a supplement request only; a stray tick under another kind is not a notice.
        if self.cleaned_data.get("kind") == SuspensionKind.SUPPLEMENT:
            return super().clean()
        return self.cleaned_data

    def deficiencies(self) -> list[dict] | None:
        if self.cleaned_data.get("kind") != SuspensionKind.SUPPLEMENT:
            return None
        return super().deficiencies()


# The input each type of face field gets (DESIGN §14): the browser's date picker, a numeric keyboard on a phone,
# upper-case letters for a credit code. The service checks every value again.
FACE_WIDGET_ATTRS = {
    FaceFieldType.DATE: {"type": "date"},
    FaceFieldType.NUMBER: {"inputmode": "decimal"},
    FaceFieldType.USCC: {"autocapitalize": "characters", "spellcheck": "false", "autocomplete": "off"},
    FaceFieldType.ID_NUMBER: {"autocapitalize": "characters", "spellcheck": "false", "autocomplete": "off"},
}


class ApproveForm(forms.Form):
    opinion = forms.CharField(label="审查意见", max_length=2000, required=False,
                              widget=forms.Textarea(attrs={"rows": 3, "placeholder": "例如：材料齐全，符合法定条件，准予许可"}))

    def __init__(self, *args, face_fields: list | None = None, **kwargs):
        """`face_fields`: the certificate's 照面信息 (services.FaceField: name, type, value so far, automatic);
        the reviewer confirms each typed field; the licence number is shown, never typed."""
        super().__init__(*args, **kwargs)
        self.face_fields = list(face_fields or [])
        self.face_names = [field.name for field in self.face_fields]
        for index, field in enumerate(self.face_fields):
            if field.automatic:
                continue
            self.fields[f"face_{index}"] = forms.CharField(
                label=field.name, max_length=MAX_FACE_VALUE_LENGTH, required=False, initial=field.value,
                help_text=field.hint,
                widget=forms.TextInput(attrs=FACE_WIDGET_ATTRS.get(field.type, {})),
                error_messages={"max_length": f"不能超过 {MAX_FACE_VALUE_LENGTH} 个字"},
            )
            if field.type in (FaceFieldType.USCC, FaceFieldType.ID_NUMBER):
                self.fields[f"face_{index}"].widget.attrs["maxlength"] = 18

    def service_arguments(self) -> dict:
        face_data = {field.name: self.cleaned_data.get(f"face_{index}", "")
                     for index, field in enumerate(self.face_fields) if not field.automatic}
        return {"opinion": self.cleaned_data["opinion"], **({"face_data": face_data} if self.face_fields else {})}

    def face_rows(self) -> list[dict]:
        """Each face field in the type's order: the bound input, or the licence number shown read-only."""
        rows = []
        for index, field in enumerate(self.face_fields):
            if field.automatic:
                rows.append({"name": field.name, "automatic": True,
                             "value": field.value or "批准时自动编号", "kept": bool(field.value)})
            else:
                rows.append({"name": field.name, "automatic": False, "field": self[f"face_{index}"]})
        return rows

    @property
    def face_errors(self) -> int:
        """How many face fields have an error (the fieldset says so at its top)."""
        if not self.is_bound:
            return 0
        return sum(1 for index, field in enumerate(self.face_fields)
                   if not field.automatic and self.errors.get(f"face_{index}"))

    def add_error(self, field, error):
        """The service names a face field at the start of each face_data message ("统一社会信用代码：校验码不正确"):
        put it next to that field's input; anything else goes where it was meant to."""
        if field is None and isinstance(error, list) and self.face_fields:
            rest = []
            for message in error:
                index = next((i for i, face in enumerate(self.face_fields)
                              if not face.automatic and str(message).startswith(f"{face.name}：")), None)
                if index is None:
                    rest.append(message)
                else:
                    super().add_error(f"face_{index}", str(message)[len(self.face_fields[index].name) + 1:])
            if not rest:
                return
            error = rest
        super().add_error(field, error)


class RejectForm(forms.Form):
    opinion = forms.CharField(label="审查意见（不予许可的理由）", max_length=2000, required=False,
                              widget=forms.Textarea(attrs={"rows": 3}))
    legal_basis = forms.CharField(label="法律依据", max_length=1000, required=False,
                                  widget=forms.TextInput(attrs={"placeholder": "例如：《食品经营许可管理办法》第十一条"}))


class ExtendForm(forms.Form):
    # The limits are the service's (行政许可法 第四十二条); the form only turns the text into a number.
    days = forms.IntegerField(label="延长工作日数", required=False,
                              widget=forms.NumberInput(attrs={"min": 1, "max": MAX_EXTENSION_WORKING_DAYS, "inputmode": "numeric"}),
                              error_messages={"invalid": "请填写整数"})
    reason = forms.CharField(label="延长理由", max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 2}))


class DeliverForm(forms.Form):
    """送达 at the window: pickup checks the holder's ID; mail records the tracking number and the address
    (the service checks both: applications.services.issuance.mail_address_refusal)."""

    method = forms.ChoiceField(label="送达方式", choices=[("pickup", "窗口领取（核验领取人证件）"), ("mail", "邮寄送达")],
                               initial="pickup")
    id_number = forms.CharField(label="领取人证件号码", max_length=18, required=False)
    tracking_number = forms.CharField(label="快递单号", max_length=40, required=False)
    address = forms.CharField(label="邮寄地址", max_length=200, required=False,
                              help_text="邮寄送达时必填，默认为申请时填写的联系地址")

    @classmethod
    def for_case(cls, case) -> "DeliverForm":
        """The empty form of a case's page, the address prefilled with its contact address."""
        return cls(prefix="deliver", initial={"address": case.contact_address})


# --- 一件事一次办 (DESIGN §4 "Bundles") ---------------------------------------------------------------------


class BundleApplyForm(ApplyingAsFields):
    """The bundle's one form: as whom, its shared fields (from the catalogue), the description and the contact."""

    description = forms.CharField(
        label="申请说明", max_length=1000, required=False,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "可简要说明申请的情况"}),
    )
    contact_phone = forms.CharField(label="联系电话", max_length=20, required=False, validators=[phone_validator])
    contact_address = forms.CharField(label="联系地址", max_length=200, required=False,
                                      help_text="用于邮寄送达办理结果，可不填")

    def __init__(self, *args, bundle, **kwargs):
        super().__init__(*args, **kwargs)
        self.shared = list(bundle.fields.all())
        for field in self.shared:
            self.fields[f"f_{field.name}"] = forms.CharField(
                label=field.label, max_length=500, required=field.required,
                error_messages={"required": f"请填写{field.label}"},
            )

    def shared_fields(self):
        return [self[f"f_{field.name}"] for field in self.shared]

    def form_data(self) -> dict:
        data = {field.name: self.cleaned_data[f"f_{field.name}"] for field in self.shared}
        if self.cleaned_data.get("description", "").strip():
            data["申请说明"] = self.cleaned_data["description"].strip()
        return data


class BundleNoticeForm(forms.Form):
    """一次性告知 across the bundle: one checkbox + reason per (child, requirement) of the children that may
    still be told (submitted)."""

    def __init__(self, *args, children, **kwargs):
        super().__init__(*args, **kwargs)
        self.entries = []
        for child in children:
            if child.state != State.SUBMITTED:
                continue
            for requirement in child.item_version.materials.all():
                key = f"{child.pk}_{requirement.pk}"
                self.fields[f"named_{key}"] = forms.BooleanField(label=requirement.name, required=False)
                self.fields[f"reason_{key}"] = forms.CharField(
                    label=f"{child.item_version.name}：{requirement.name}的补正原因", max_length=300, required=False,
                    widget=forms.TextInput(attrs={"placeholder": "例如：复印件不清晰"}),
                )
                self.entries.append((child, requirement, key))

    def rows(self):
        return [(child, requirement, self[f"named_{key}"], self[f"reason_{key}"]) for child, requirement, key in self.entries]

    def clean(self):
        data = super().clean()
        for _child, _requirement, key in self.entries:
            if data.get(f"named_{key}") and not (data.get(f"reason_{key}") or "").strip():
                self.add_error(f"reason_{key}", "请写明补正原因")
        return data

    def deficiencies(self) -> list[dict]:
        data = self.cleaned_data
        return [
            {"child": child.number, "requirement": requirement.pk, "reason": data[f"reason_{key}"].strip()}
            for child, requirement, key in self.entries if data.get(f"named_{key}")
        ]


# --- 告知承诺制 (DESIGN §14) ---------------------------------------------------------------------------------


class CommitForm(forms.Form):
    """The 承诺书: one checkbox per material of the pinned version that a commitment may stand in for."""

    requirements = forms.TypedMultipleChoiceField(
        label="以告知承诺代替的材料", coerce=int, required=False, widget=forms.CheckboxSelectMultiple,
        error_messages={"invalid_choice": "所选材料不适用告知承诺制"})

    def __init__(self, *args, requirements=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["requirements"].choices = [(r.pk, r.name) for r in requirements if r.commitment_allowed]


class CommitmentVerifyForm(forms.Form):
    outcome = forms.ChoiceField(label="核查结果", widget=forms.RadioSelect, required=False,
                                choices=[("confirmed", "核查属实"), ("false", "承诺不实（撤销许可，须部门负责人记录）")])
    note = forms.CharField(label="核查说明", max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 2}))


def add_held_certificate_field(form: forms.Form, *, certificates, selected: str = "") -> None:
    """The apply form's 所涉证照 select (DESIGN §14): the certificates of the item's type the applicant or an
    organisation they act for holds; which one may be used is the service's decision."""
    choices = [("", "请选择所持有的证照")] + [
        (c.identifier, f"{c.holder_name} · {c.licence_number or c.identifier}（第 {c.version} 版，{c.get_status_display()}"
                       f"{f'，有效期至 {c.valid_until:%Y-%m-%d}' if c.valid_until else ''}）")
        for c in certificates
    ]
    form.fields["certificate"] = forms.ChoiceField(
        label="所涉证照", choices=choices, required=False, initial=selected,
        help_text="以单位名义申请时请选择该单位名下的证照")
    if selected and not form.is_bound:
        form.initial["certificate"] = selected

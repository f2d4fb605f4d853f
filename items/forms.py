from django import forms

from items.models import Audience, Handling, Theme
from items.selectors import departments_with_items


class GuideFilterForm(forms.Form):
    """The 办事指南 search box and filters (GET); every field is optional."""

    q = forms.CharField(label="搜索", required=False, max_length=100)
    department = forms.ChoiceField(label="实施部门", required=False)
    # person / legal: the home page's 个人办事 / 法人办事 (items.selectors.AUDIENCE_GROUPS), then single A.4 codes.
    audience = forms.ChoiceField(
        label="服务对象",
        required=False,
        choices=[("", "全部服务对象"), ("person", "个人办事"), ("legal", "法人办事"), *Audience.choices],
    )
    theme = forms.ChoiceField(label="主题", required=False, choices=[("", "全部主题"), *Theme.choices])
    handling = forms.ChoiceField(label="办件类型", required=False, choices=[("", "全部办件类型"), *Handling.choices])
    online = forms.ChoiceField(
        label="网上办理", required=False, choices=[("", "全部办理方式"), ("1", "可网上办理"), ("0", "仅窗口办理")]
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("department", "audience", "theme", "handling", "online"):
            # Picking a filter applies it at once; without JavaScript the 搜索 button still does.
            self.fields[name].widget.attrs["data-autosubmit"] = True  # static/js/forms.js: no inline handlers (CSP)
        self.fields["department"].choices = [("", "全部部门")] + [
            (department.code, department.name) for department in departments_with_items()
        ]

    def filters(self) -> dict:
        """The valid filters as keyword arguments of items.selectors.item_list."""
        data = self.cleaned_data if self.is_valid() else {}
        online = data.get("online")
        return {
            "search": data.get("q", ""),
            "department": data.get("department", ""),
            "audience": data.get("audience", ""),
            "theme": data.get("theme", ""),
            "handling": data.get("handling", ""),
            "online": {"1": True, "0": False}.get(online),
        }

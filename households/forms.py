"""Forms of the household pages (贫困户登记、编辑、成员变动、流程操作).

The forms only parse what the user typed into the values the services take; every rule
about households and members is checked by :mod:`households.services` and
:mod:`households.workflow`, whose refusals :func:`attach_error` puts back beside the
field they concern.
"""

from __future__ import annotations

from datetime import date

from django import forms
from django.forms import formset_factory
from django.forms.models import fields_for_model
from django.utils.translation import gettext_lazy as _

from households import errors
from households.choices import (
    EVENT_MEMBER_STATUS,
    INCOMING_EVENTS,
    Cause,
    MemberEventKind,
    NaturalDecreaseReason,
    ObjectionOutcome,
    Relationship,
    Sex,
)
from households.models import Household, Member
from households.privacy import REASON_MAX_LENGTH, REASON_REQUIRED
from households.services import HOUSEHOLD_FIELDS, MEMBER_FIELDS
from registry.errors import ApplicationError

CHOOSE = _("请选择")
#: Fields shown first; the others (housing, land, utilities; health, labour, insurance) fold away.
HOUSEHOLD_MAIN_FIELDS = ("group", "identification_standard", "attribute", "main_cause", "other_causes", "phone")
MEMBER_MAIN_FIELDS = (
    "name",
    "id_number",
    "relationship",
    "sex",
    "birth_date",
    "ethnicity",
    "education",
    "student_status",
)


def date_field(label, *, required: bool = False, help_text="") -> forms.DateField:
    """Return a date field shown as the phone's date picker (YYYY-MM-DD)."""
    widget = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    return forms.DateField(label=label, required=required, widget=widget, help_text=help_text)


def _not_in_future(value: date | None) -> date | None:
    if value is not None and value > date.today():
        raise forms.ValidationError(errors.DATE_IN_FUTURE)
    return value


class RegistryForm(forms.Form):
    """A form whose empty choice reads 请选择, whose date pickers stop at today and whose
    required fields say so to the browser.

    Subclasses that add fields in ``__init__`` call :meth:`polish` once they are done.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.polish()

    def polish(self) -> None:
        today = date.today().isoformat()
        for field in self.fields.values():
            if isinstance(field, forms.DateField):
                field.widget.attrs.setdefault("max", today)
            if isinstance(field, forms.DecimalField):
                field.widget.attrs.setdefault("inputmode", "decimal")
            if isinstance(field, forms.ChoiceField) and not isinstance(field, forms.ModelChoiceField):
                choices = list(field.choices)
                if choices and choices[0][0] == "":
                    field.choices = [("", CHOOSE), *choices[1:]]
            if field.required and not field.widget.is_hidden:
                field.widget.attrs.setdefault("required", True)

    #: Fields shown first, and those folded away under a <details> (none by default).
    MAIN_FIELDS: tuple[str, ...] = ()
    MORE_FIELDS: tuple[str, ...] = ()

    def fields_named(self, names) -> list:
        """Return the bound fields ``names`` that this form has, in that order."""
        return [self[name] for name in names if name in self.fields]

    def main_fields(self) -> list:
        return self.fields_named(self.MAIN_FIELDS)

    def more_fields(self) -> list:
        return self.fields_named(self.MORE_FIELDS)


# Households ------------------------------------------------------------------------------


class HouseholdForm(RegistryForm):
    """A household's registration fields (户基本情况), as the services take them."""

    MAIN_FIELDS = HOUSEHOLD_MAIN_FIELDS
    MORE_FIELDS = tuple(name for name in HOUSEHOLD_FIELDS if name not in HOUSEHOLD_MAIN_FIELDS)

    def __init__(self, *args, groups, **kwargs):
        super().__init__(*args, **kwargs)
        model_fields = fields_for_model(
            Household, fields=[n for n in HOUSEHOLD_FIELDS if n not in ("group", "other_causes")]
        )
        for name in HOUSEHOLD_FIELDS:
            if name == "group":
                self.fields[name] = forms.ModelChoiceField(
                    groups, required=False, label=Household._meta.get_field("group").verbose_name, empty_label=CHOOSE
                )
                self.fields[name].label_from_instance = lambda group: group.name
            elif name == "other_causes":
                self.fields[name] = forms.MultipleChoiceField(
                    choices=Cause.choices,
                    required=False,
                    label=Household._meta.get_field("other_causes").verbose_name,
                    help_text=_("最多选两项，不能与主要致贫原因相同。"),
                    widget=forms.CheckboxSelectMultiple,
                )
            else:
                self.fields[name] = model_fields[name]
        self.fields["phone"].widget = forms.TextInput(attrs={"type": "tel", "maxlength": 20})
        self.polish()

    def household_data(self) -> dict:
        """Return the cleaned values under the names ``household_apply`` and ``household_update`` take."""
        return {name: self.cleaned_data[name] for name in HOUSEHOLD_FIELDS}


class HouseholdCreateForm(HouseholdForm):
    """The household part of a new application (农户申请)."""

    def __init__(self, *args, villages, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["village"] = forms.ModelChoiceField(
            villages, label=Household._meta.get_field("village").verbose_name, widget=forms.HiddenInput
        )
        self.fields["applied_on"] = date_field(_("申请日期"), help_text=_("留空为今天；补录纸质申请时填写申请当天。"))
        self.polish()

    def clean_applied_on(self):
        return _not_in_future(self.cleaned_data.get("applied_on"))


class HouseholdEditForm(HouseholdForm):
    """A change of registration fields, carrying the version the form was opened at.

    The phone is not filled in (it would show the full number): it shows masked, and a
    number typed in replaces it.
    """

    def __init__(self, *args, masked_phone: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["version"] = forms.IntegerField(widget=forms.HiddenInput)
        if masked_phone:
            phone = self.fields["phone"]
            phone.widget.attrs["placeholder"] = masked_phone
            phone.help_text = _("当前号码 %(masked)s；不修改请留空。") % {"masked": masked_phone}

    def household_data(self) -> dict:
        data = super().household_data()
        if not data.get("phone"):
            data.pop("phone", None)
        return data


# Members --------------------------------------------------------------------------------


class MemberForm(RegistryForm):
    """One member's details (家庭成员); sex and birth date may be left to the ID number."""

    MAIN_FIELDS = MEMBER_MAIN_FIELDS
    MORE_FIELDS = tuple(name for name in MEMBER_FIELDS if name not in MEMBER_MAIN_FIELDS)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        model_fields = fields_for_model(Member, fields=MEMBER_FIELDS)
        for name in MEMBER_FIELDS:
            self.fields[name] = model_fields[name]
        id_field = self.fields["id_number"]
        id_field.widget.attrs.update({"autocomplete": "off", "spellcheck": "false", "inputmode": "text"})
        id_field.help_text = _("18 位；15 位旧号码会自动升级。")
        sex = self.fields["sex"]
        sex.required = False
        sex.choices = [("", _("按身份证号")), *Sex.choices]
        sex.help_text = _("不选则按身份证号。")
        self.fields["birth_date"] = date_field(
            Member._meta.get_field("birth_date").verbose_name, help_text=_("可留空，按身份证号自动填写。")
        )
        self.polish()

    def member_data(self) -> dict:
        """Return the cleaned values under the names the member services take."""
        return {name: self.cleaned_data[name] for name in MEMBER_FIELDS if name in self.fields}


class BaseMemberFormSet(forms.BaseFormSet):
    def member_forms(self) -> list[MemberForm]:
        """Return the filled, not deleted rows, in order: the members the service receives."""
        return [
            form
            for i, form in enumerate(self.forms)
            if (i < self.initial_form_count() or form.has_changed())
            and not (self.can_delete and self._should_delete_form(form))
        ]


MemberFormSet = formset_factory(MemberForm, formset=BaseMemberFormSet, extra=1, can_delete=True)
MEMBER_PREFIX = "members"


def formset_with_another_row(data) -> dict:
    """Return a copy of posted formset ``data`` with one more member row (添加成员).

    The page is rendered bound to this data, so the new row is given, as if posted, what an
    empty row starts with (务工时间 0, 基本医保 ticked): without it the row would show those
    fields blank, and a row left untouched would count as filled in.
    """
    data = data.copy()
    key = f"{MEMBER_PREFIX}-TOTAL_FORMS"
    try:
        total = int(data.get(key, 1))
    except ValueError:
        total = 1
    index = min(total, 49)
    data[key] = str(index + 1)
    for field in MemberFormSet.form(prefix=f"{MEMBER_PREFIX}-{index}"):
        initial = field.value()
        if field.html_name in data or initial is None or initial is False or initial == "":
            continue
        data[field.html_name] = "on" if initial is True else str(initial)
    return data


class MemberEditForm(MemberForm):
    """A change of one member's details; the relationship changes only through member events."""

    def __init__(self, *args, masked_id: str, **kwargs):
        super().__init__(*args, **kwargs)
        del self.fields["relationship"]
        id_field = self.fields["id_number"]
        id_field.required = False
        id_field.widget.attrs.pop("required", None)
        id_field.widget.attrs["placeholder"] = masked_id
        id_field.help_text = _("当前号码 %(masked)s；不修改请留空。") % {"masked": masked_id}
        self.fields["version"] = forms.IntegerField(widget=forms.HiddenInput)

    def member_changes(self) -> dict:
        data = self.member_data()
        if not data.get("id_number"):
            data.pop("id_number", None)
        return data


class MemberAddForm(MemberForm):
    """A member joining the household through a dated event (出生、婚入、迁入)."""

    MAIN_FIELDS = ("kind", "event_date", "note", *MemberForm.MAIN_FIELDS)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["relationship"].choices = [
            (value, label) for value, label in self.fields["relationship"].choices if value != Relationship.HEAD
        ]
        self.fields["kind"] = forms.ChoiceField(
            label=_("变动类型"), choices=[(k.value, k.label) for k in INCOMING_EVENTS], widget=forms.RadioSelect
        )
        self.fields["event_date"] = date_field(_("变动日期"), required=True)
        self.fields["note"] = forms.CharField(label=_("说明"), required=False, max_length=200)
        self.polish()

    def clean_event_date(self):
        return _not_in_future(self.cleaned_data.get("event_date"))


class MemberLeaveForm(RegistryForm):
    """A member leaving the household (死亡、婚出、迁出); a leaving head hands over."""

    kind = forms.ChoiceField(
        label=_("变动类型"),
        choices=[(k, MemberEventKind(k).label) for k in EVENT_MEMBER_STATUS],
        widget=forms.RadioSelect,
    )
    event_date = date_field(_("变动日期"), required=True)
    note = forms.CharField(label=_("说明"), required=False, max_length=200)

    def __init__(self, *args, member: Member, others, **kwargs):
        super().__init__(*args, **kwargs)
        if member.is_head:
            self.fields["new_head"] = forms.ModelChoiceField(
                others, label=_("新户主"), empty_label=CHOOSE, help_text=_("户主减员后须指定新的户主。")
            )
        self.polish()

    def clean_event_date(self):
        return _not_in_future(self.cleaned_data.get("event_date"))


# Workflow, objections, helper ----------------------------------------------------------


class TransitionForm(RegistryForm):
    """The reason and effective date of one workflow action (流程操作)."""

    on_date = date_field(_("生效日期"), help_text=_("留空为今天。"))

    def __init__(self, *args, transition=None, **kwargs):
        super().__init__(*args, **kwargs)
        # The reason is checked by the workflow, whose message names the action; the browser
        # is only told that it is required.
        if transition is not None and transition.reason_choices:
            choices = [(c, NaturalDecreaseReason(c).label) for c in transition.reason_choices]
            self.fields["reason"] = forms.ChoiceField(label=_("原因"), choices=[("", CHOOSE), *choices], required=False)
        elif transition is not None and transition.needs_reason:
            self.fields["reason"] = forms.CharField(
                label=_("理由"), max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 2})
            )
        else:
            self.fields["reason"] = forms.CharField(label=_("说明（可选）"), required=False, max_length=500)
        if transition is not None and transition.needs_reason:
            self.fields["reason"].widget.attrs["required"] = True
        self.order_fields(["reason", "on_date"])
        self.polish()


class ObjectionRaiseForm(RegistryForm):
    """An objection raised during a public notice (公示期异议)."""

    objector = forms.CharField(label=_("异议人"), max_length=50, required=False, help_text=_("可留空，记为“匿名”。"))
    content = forms.CharField(label=_("异议内容"), widget=forms.Textarea(attrs={"rows": 3}))
    raised_on = date_field(_("提出日期"), help_text=_("留空为今天。"))

    def clean_raised_on(self):
        return _not_in_future(self.cleaned_data.get("raised_on"))


class ObjectionResolveForm(RegistryForm):
    """The decision on an objection (异议处理)."""

    outcome = forms.ChoiceField(
        label=_("处理结果"),
        choices=[(value, label) for value, label in ObjectionOutcome.choices if value != ObjectionOutcome.PENDING],
        widget=forms.RadioSelect,
    )
    resolution = forms.CharField(label=_("处理理由"), widget=forms.Textarea(attrs={"rows": 2}))


class HelperPairForm(RegistryForm):
    """The pairing of a helper with the household (结对帮扶)."""

    def __init__(self, *args, helpers, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["helper"] = forms.ModelChoiceField(
            helpers, required=False, label=_("帮扶责任人"), empty_label=_("（不结对）")
        )


# Errors ---------------------------------------------------------------------------------


def attach_error(error: ApplicationError, form: forms.Form, *, member_forms=(), formset=None) -> None:
    """Put a service's refusal beside the fields it names, else among the non-field errors.

    ``error.fields`` keys are field names, ``members`` (the member rows as a whole) or
    ``members.N.field`` (row N of the members the service received, i.e. ``member_forms[N]``).
    A key that names no field of the form (``rules``, ``changes``) is a detail of the whole
    refusal: its message, which lists them, shows once among the non-field errors.
    """
    if not error.fields:
        form.add_error(None, str(error.message))
        return
    whole_shown = False
    for key, messages in error.fields.items():
        messages = [str(m) for m in messages]
        target, name = form, key
        if key == "members" and formset is not None:
            formset.non_form_errors().extend(messages)
            continue
        if key.startswith("members."):
            _members, index, *rest = key.split(".", 2)
            if index.isdigit() and int(index) < len(member_forms):
                target, name = member_forms[int(index)], rest[0] if rest else None
            else:
                name = None
        if name is not None and name not in target.fields:
            name = None
        if name is not None and target[name].is_hidden:
            name = None
        if name is None and target is form and key not in ("__all__", "members") and not key.startswith("members."):
            if not whole_shown:
                form.add_error(None, str(error.message))
                whole_shown = True
            continue
        target.add_error(name, messages)


# Personal data ------------------------------------------------------------------------------


def reason_field() -> forms.CharField:
    """Return the reason asked before full numbers are shown (为何查看完整号码)."""
    return forms.CharField(
        label=_("查看理由"),
        max_length=REASON_MAX_LENGTH,
        error_messages={"required": REASON_REQUIRED},
        help_text=_("例如：核对户籍信息、办理医保参保。查看将被记录。"),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )


WHOLE_HOUSEHOLD = "household"


class PiiRevealForm(RegistryForm):
    """Ask to see a household's (or one member's) full ID numbers and phones (显示完整号码)."""

    def __init__(self, *args, members, **kwargs):
        super().__init__(*args, **kwargs)
        # Choices from the members already loaded: the page runs no query for them.
        by_pk = {str(member.pk): member for member in members}
        choices = [(pk, f"{m.name}（{m.get_relationship_display()}）") for pk, m in by_pk.items()]
        self.fields["member"] = forms.TypedChoiceField(
            choices=[(WHOLE_HOUSEHOLD, _("全户（全部成员身份证号和联系电话）")), *choices],
            coerce=by_pk.get,
            initial=WHOLE_HOUSEHOLD,
            label=_("查看对象"),
        )
        self.fields["reason"] = reason_field()
        self.polish()


class ExportRevealForm(RegistryForm):
    """Ask for an export with full ID numbers and phones (导出完整号码)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reason"] = reason_field()
        self.polish()

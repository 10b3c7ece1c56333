"""Forms of the assessment and exit pages (年度核查、脱贫退出、公开核验).

The forms only parse what the user typed into the values the services take; every rule
is checked by :mod:`assessments.services` and :mod:`assessments.exit_cases`, whose
refusals :func:`households.forms.attach_error` puts back beside the field they concern.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from assessments.choices import TransferItem
from assessments.models import Assessment, ExitObjection
from assessments.services import INCOME_FIELDS
from households import errors as household_errors
from households.forms import RegistryForm, date_field
from registry.services import REASON_MAX_LENGTH

TRANSFER_PREFIX = "transfer_"
NO_CASE_SELECTED = _("请至少勾选一户。")
YEAR_OUT_OF_RANGE = _("请填写 2014 年至今的年度。")
FIRST_YEAR = 2014


def _not_in_future(value: date | None) -> date | None:
    if value is not None and value > date.today():
        raise forms.ValidationError(household_errors.DATE_IN_FUTURE)
    return value


def _verbose(name: str) -> str:
    return Assessment._meta.get_field(name).verbose_name


def _money(label, help_text="") -> forms.DecimalField:
    """Return an amount field in yuan: empty means 0, the phone shows its numeric keyboard."""
    return forms.DecimalField(
        label=label,
        required=False,
        max_digits=12,
        decimal_places=2,
        help_text=help_text,
        widget=forms.NumberInput(attrs={"inputmode": "decimal", "step": "0.01", "placeholder": "0"}),
    )


def _count(label, help_text="") -> forms.IntegerField:
    return forms.IntegerField(
        label=label,
        required=False,
        min_value=0,
        help_text=help_text,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )


class AssessmentForm(RegistryForm):
    """A household's annual reassessment (年度核查) for one year, carrying the version it was opened at."""

    INCOME_HELP = {
        "operating_income": _("种养殖、加工、经营等毛收入。"),
        "operating_cost": _("生产经营的成本支出，从毛收入中扣除。"),
        "property_income": _("土地流转、入股分红、租金等。"),
    }

    def __init__(self, *args, members, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assessed_on"] = date_field(_verbose("assessed_on"), required=True)
        for name in INCOME_FIELDS:
            self.fields[name] = _money(_verbose(name), self.INCOME_HELP.get(name, ""))
        for item in TransferItem:
            self.fields[TRANSFER_PREFIX + item.value] = _money(item.label)
        self.fields["food_secure"] = forms.BooleanField(
            label=_("不愁吃：口粮和营养有保障"), required=False, initial=True
        )
        self.fields["clothing_secure"] = forms.BooleanField(
            label=_("不愁穿：四季衣被有保障"), required=False, initial=True
        )
        self.fields["water_litres_per_person_day"] = _count(
            _verbose("water_litres_per_person_day"), _("不少于 35 升为达标（以参数为准）。")
        )
        self.fields["water_fetch_minutes"] = _count(
            _verbose("water_fetch_minutes"), _("不超过 30 分钟为达标（以参数为准）。")
        )
        self.fields["water_quality_safe"] = forms.BooleanField(
            label=_verbose("water_quality_safe"), required=False, initial=True
        )
        self.fields["education_exempt_members"] = forms.TypedMultipleChoiceField(
            label=_verbose("education_exempt_members"),
            choices=[(m.pk, m.name) for m in members],
            coerce=int,
            required=False,
            widget=forms.CheckboxSelectMultiple,
            help_text=_("义务教育阶段因身体原因不能入学、送教上门的成员。"),
        )
        self.fields["notes"] = forms.CharField(
            label=_verbose("notes"), required=False, widget=forms.Textarea(attrs={"rows": 3})
        )
        # The version it was opened at (0: there was none yet); a stale one is refused, never overwritten.
        self.fields["version"] = forms.IntegerField(widget=forms.HiddenInput, min_value=0)
        self.polish()

    @staticmethod
    def initial_for(assessment: Assessment | None, *, assessed_on: date) -> dict:
        """Return the form's initial values: the stored assessment's, else a blank one dated ``assessed_on``."""
        if assessment is None:
            return {"assessed_on": assessed_on, "version": 0}
        initial = {
            name: getattr(assessment, name)
            for name in (
                "assessed_on",
                *INCOME_FIELDS,
                "food_secure",
                "clothing_secure",
                "water_litres_per_person_day",
                "water_fetch_minutes",
                "water_quality_safe",
                "education_exempt_members",
                "notes",
                "version",
            )
        }
        for item, amount in (assessment.transfers or {}).items():
            initial[TRANSFER_PREFIX + item] = Decimal(str(amount))
        return initial

    def income_fields(self) -> list:
        return self.fields_named(INCOME_FIELDS)

    def transfer_fields(self) -> list:
        return self.fields_named([TRANSFER_PREFIX + item.value for item in TransferItem])

    def indicator_fields(self) -> list:
        return self.fields_named(
            (
                "food_secure",
                "clothing_secure",
                "water_quality_safe",
                "water_litres_per_person_day",
                "water_fetch_minutes",
            )
        )

    def assessment_data(self) -> dict:
        """Return the cleaned values under the names ``assessment_record`` takes."""
        data = self.cleaned_data
        transfers = {
            item.value: str(data[TRANSFER_PREFIX + item.value])
            for item in TransferItem
            if data.get(TRANSFER_PREFIX + item.value) is not None
        }
        return {
            "assessed_on": data["assessed_on"],
            **{name: data[name] if data[name] is not None else Decimal("0") for name in INCOME_FIELDS},
            "transfers": transfers,
            "food_secure": data["food_secure"],
            "clothing_secure": data["clothing_secure"],
            "water_litres_per_person_day": data["water_litres_per_person_day"],
            "water_fetch_minutes": data["water_fetch_minutes"],
            "water_quality_safe": data["water_quality_safe"],
            "education_exempt_members": sorted(data["education_exempt_members"]),
            "notes": data["notes"],
        }


class AssessmentYearForm(RegistryForm):
    """Which year's assessment to open (核查年度)."""

    year = forms.IntegerField(
        label=_("核查年度"), min_value=FIRST_YEAR, widget=forms.NumberInput(attrs={"inputmode": "numeric"})
    )

    def clean_year(self):
        year = self.cleaned_data["year"]
        if year > date.today().year:
            raise forms.ValidationError(YEAR_OUT_OF_RANGE)
        return year


class ProposeForm(RegistryForm):
    """The date of a proposal to exit (村提名)."""

    on_date = date_field(_("提名日期"), help_text=_("留空为今天。"))

    def clean_on_date(self):
        return _not_in_future(self.cleaned_data.get("on_date"))


#: A reason allowed no more than this is a name, typed on one line.
ONE_LINE = 50


class ExitStepForm(RegistryForm):
    """The reason (as the step declares it: a signatory, say) and the date of one workflow step."""

    on_date = date_field(_("生效日期"), help_text=_("留空为今天。"))

    def __init__(self, *args, step=None, **kwargs):
        super().__init__(*args, **kwargs)
        # A missing reason reads as the service would refuse it, whichever catches it first.
        limit = step.reason_limit if step is not None else REASON_MAX_LENGTH
        if step is not None and step.needs_reason:
            self.fields["reason"] = forms.CharField(
                label=step.reason_label or _("理由"),
                max_length=limit,
                help_text=step.reason_help,
                widget=forms.Textarea(attrs={"rows": 2}) if limit > ONE_LINE else forms.TextInput(),
                error_messages={
                    "required": step.reason_message or household_errors.REASON_REQUIRED % {"action": step.label}
                },
            )
        else:
            self.fields["reason"] = forms.CharField(label=_("说明（可选）"), required=False, max_length=limit)
        self.order_fields(["reason", "on_date"])
        self.polish()

    def clean_on_date(self):
        return _not_in_future(self.cleaned_data.get("on_date"))


class ExitObjectionRaiseForm(RegistryForm):
    """An objection raised during the village notice of an exit (村内公示异议)."""

    objector = forms.CharField(label=_("异议人"), max_length=50, required=False, help_text=_("可留空，记为“匿名”。"))
    content = forms.CharField(label=_("异议内容"), widget=forms.Textarea(attrs={"rows": 3}))
    raised_on = date_field(_("提出日期"), help_text=_("留空为今天。"))

    def clean_raised_on(self):
        return _not_in_future(self.cleaned_data.get("raised_on"))


class ExitObjectionResolveForm(RegistryForm):
    """The decision on an objection: upheld returns the case, dismissed lets it go on."""

    outcome = forms.ChoiceField(
        label=_("处理结果"),
        choices=[
            (value, label) for value, label in ExitObjection._meta.get_field("outcome").choices if value != "pending"
        ],
        widget=forms.RadioSelect,
        error_messages={"required": household_errors.OBJECTION_OUTCOME_INVALID},
    )
    resolution = forms.CharField(
        label=_("处理理由"),
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": household_errors.OBJECTION_RESOLUTION_REQUIRED},
    )


class CertifyBatchForm(RegistryForm):
    """The county's batch certification (批量审定): the ticked cases and the date."""

    on_date = date_field(_("审定日期"), help_text=_("留空为今天。"))

    def clean_on_date(self):
        return _not_in_future(self.cleaned_data.get("on_date"))

    def clean(self):
        cleaned = super().clean()
        ids = []
        for raw in self.data.getlist("case") if hasattr(self.data, "getlist") else []:
            if str(raw).isdigit() and int(raw) not in ids:
                ids.append(int(raw))
        if not ids:
            raise forms.ValidationError(NO_CASE_SELECTED)
        cleaned["cases"] = ids
        return cleaned


class VerifyForm(forms.Form):
    """The verification code printed on an exit certificate (校验码)."""

    code = forms.CharField(
        label=_("校验码"),
        max_length=32,
        help_text=_("脱贫证明下方的 12 位校验码。"),
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false", "required": True}
        ),
    )

    def clean_code(self):
        return "".join(self.cleaned_data["code"].split()).upper()

"""Forms of the quality pages."""

from django import forms
from django.utils.translation import gettext_lazy as _

from registry.services import REASON_MAX_LENGTH


class AcceptForm(forms.Form):
    """Accept a finding as true after checking it; the reason is required (checked by the service)."""

    reason = forms.CharField(
        label=_("核实理由"), max_length=REASON_MAX_LENGTH, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

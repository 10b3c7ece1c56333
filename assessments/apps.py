from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AssessmentsConfig(AppConfig):
    name = "assessments"
    verbose_name = _("年度核查与退出")

    def ready(self):
        from assessments import parameters
        from registry import parameters as registry_parameters

        # Households and villages read notice lengths and exit thresholds through the base.
        registry_parameters.register(parameters)

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AssessmentsConfig(AppConfig):
    name = "assessments"
    verbose_name = _("年度核查与退出")

    def ready(self):
        from assessments import parameters
        from assessments.api.views import AssessmentViewSet, ExitCaseViewSet
        from registry import parameters as registry_parameters
        from registry.api.feed import feed_representation

        # Households and villages read notice lengths and exit thresholds through the base.
        registry_parameters.register(parameters)
        feed_representation("assessment", AssessmentViewSet, component="Assessment")
        feed_representation("exit_case", ExitCaseViewSet, component="ExitCase")

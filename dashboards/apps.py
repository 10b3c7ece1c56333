from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DashboardsConfig(AppConfig):
    name = "dashboards"
    verbose_name = _("统计与报表")

    def ready(self):
        from dashboards import jobs  # noqa: F401  (registers the job runner)

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class QualityConfig(AppConfig):
    name = "quality"
    verbose_name = _("数据质量核查")

    def ready(self):
        from quality import jobs  # noqa: F401  (registers the job runner)

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class HouseholdsConfig(AppConfig):
    name = "households"
    verbose_name = _("贫困户")

    def ready(self):
        from households import exports, imports  # noqa: F401  (register the job runners)

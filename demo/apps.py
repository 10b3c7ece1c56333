from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DemoConfig(AppConfig):
    """The demo story and the synthetic province: the top layer, using every app and used by none."""

    name = "demo"
    verbose_name = _("演示数据")

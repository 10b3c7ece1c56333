from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RegistryConfig(AppConfig):
    name = "registry"
    verbose_name = _("账户与审计")

    def ready(self):
        from registry.audit_chain import connect_signals

        connect_signals()

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class HouseholdsConfig(AppConfig):
    name = "households"
    verbose_name = _("贫困户")

    def ready(self):
        from households import exports, imports  # noqa: F401  (register the job runners)
        from households.api.views import HouseholdViewSet, MemberViewSet
        from households.selectors import AREA_COUNTS
        from registry.api.feed import feed_representation
        from villages.counting import register as register_household_counts

        # Villages count households in an area's figures without importing this app.
        register_household_counts(AREA_COUNTS)

        feed_representation("household", HouseholdViewSet, component="Household")
        feed_representation("member", MemberViewSet, component="MemberList")

"""Rate limits per API token (or per signed-in person for session requests)."""

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle

from registry.models import ApiToken


class ClientRateThrottle(SimpleRateThrottle):
    """Limit each token to ``REGISTRY_API_THROTTLE`` requests (e.g. ``1200/minute``).

    Counts live in the default cache: a deployment with several worker processes needs a
    shared cache (Redis or memcached in ``CACHES``) for the limit to hold across them.
    """

    scope = "client"

    def get_rate(self):
        return settings.REGISTRY_API_THROTTLE

    def allow_request(self, request, view):
        # The rate is read per request so that it follows the settings.
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def get_cache_key(self, request, view):
        if isinstance(request.auth, ApiToken):
            ident = f"token:{request.auth.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"user:{request.user.pk}"
        else:
            ident = f"address:{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}

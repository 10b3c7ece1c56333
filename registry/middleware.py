"""Request-scoped context that services read without views passing it along."""

from registry.audit import client_address_var


class ClientAddressMiddleware:
    """Remember the client's address for the audit rows written during this request.

    ``REMOTE_ADDR`` is used; behind a reverse proxy, set ``REGISTRY_TRUSTED_PROXY_HEADER``
    (e.g. ``HTTP_X_REAL_IP``) to the header the proxy sets.
    """

    def __init__(self, get_response):
        from django.conf import settings

        self.get_response = get_response
        self.header = getattr(settings, "REGISTRY_TRUSTED_PROXY_HEADER", "")

    def __call__(self, request):
        address = request.META.get(self.header) if self.header else None
        token = client_address_var.set(address or request.META.get("REMOTE_ADDR"))
        try:
            return self.get_response(request)
        finally:
            client_address_var.reset(token)

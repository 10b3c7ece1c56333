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


#: Everything from this origin only: no inline script or style, no plugins, no framing.
#: ``data:`` images are the icons the admin's and Swagger UI's style sheets embed.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
#: No page of the registry uses the camera, the microphone or the location.
PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=()"


class SecurityHeadersMiddleware:
    """Add the headers Django's ``SecurityMiddleware`` does not: CSP and Permissions-Policy.

    A view that needs its own policy sets the header itself; it is kept.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        return response

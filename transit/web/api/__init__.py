"""The REST API blueprint, mounted at ``/api/v1``.

``support`` holds the blueprint and what every view shares, ``routes`` the views (importing
it registers them), ``serialize`` the response building, ``schemas`` the pydantic models,
``problems`` the RFC 9457 errors and ``openapi`` the document built from all of them.
"""

from transit.web.api import forecasts as _forecasts  # noqa: F401  (GET /forecasts)
from transit.web.api import routes as _routes  # noqa: F401  (declares the views)
from transit.web.api.support import bp

__all__ = ["bp"]

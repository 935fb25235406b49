"""The REST API blueprint, mounted at ``/api/v1`` (see ``routes``, ``schemas``, ``openapi``)."""

from transit.web.api.routes import bp

__all__ = ["bp"]

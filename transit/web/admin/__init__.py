"""The admin pages: ``/login``, ``/logout`` and everything under ``/admin/``.

``common`` holds the blueprint and the login check every admin view runs behind; the other
modules declare the views (importing them registers them).
"""

from transit.web.admin import cities as _cities  # noqa: F401
from transit.web.admin import data as _data  # noqa: F401
from transit.web.admin import login as _login  # noqa: F401
from transit.web.admin import services as _services  # noqa: F401
from transit.web.admin.common import bp

__all__ = ["bp"]

"""The back office's home page lives at ``/admin/``: ``/`` belongs to the public portal."""

from flask_appbuilder import IndexView


class BackOfficeIndexView(IndexView):
    route_base = "/admin"

"""The built-in field types, one small class per type, grouped by family.

Importing this package registers them all (``registry`` does it on first use).
"""

from . import structure, text, numbers, dates, choices, identity, geo, links  # noqa: F401, I001

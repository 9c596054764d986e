"""The field-type registry: what each kind of form field accepts, stores and shows.

Public API (see each module for details):

- ``get(name)``, ``all_types()``, ``register``, ``GROUPS`` (``registry``);
- ``FieldType``, ``FieldSpec``, ``CleanContext``, ``as_spec``, ``field_specs``,
  ``FILTER_OPERATORS`` (``base``);
- ``validate_answers`` (``answers``): one form's answers, cleaned, with errors;
- ``validate_definitions``, ``check_type_change`` (``definitions``): the form editor's checks.
"""

from .answers import validate_answers
from .base import FILTER_OPERATORS, CleanContext, FieldSpec, FieldType, as_spec, field_specs
from .definitions import check_type_change, validate_definitions
from .registry import GROUPS, UnknownFieldType, all_types, get, names, register

__all__ = [
    "FILTER_OPERATORS",
    "GROUPS",
    "CleanContext",
    "FieldSpec",
    "FieldType",
    "UnknownFieldType",
    "all_types",
    "as_spec",
    "check_type_change",
    "field_specs",
    "get",
    "names",
    "register",
    "validate_answers",
    "validate_definitions",
]

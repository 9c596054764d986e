"""The contract every field type fulfils, and the shape of a field definition.

A field type is one small class registered by name (``registry.register``). Everything
downstream of a procedure's form (the portal's rendering, submission, the API's prefill,
agents' filters, exports, mail tags, the condition language) asks the type rather than
switching on its name, so that adding a type is adding one class.

Field definitions reach the types as :class:`FieldSpec`, a plain immutable copy made by
:func:`as_spec` / :func:`field_specs` from a ``FieldDefinition`` row or from a mapping
(demo data, tests, the API): the types never touch the database.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, ClassVar

from flask_babel import gettext, lazy_gettext
from marshmallow import EXCLUDE, RAISE, Schema, ValidationError, fields, validate

__all__ = [
    "FILTER_OPERATORS",
    "CleanContext",
    "FieldSpec",
    "FieldType",
    "OneOf",
    "OptionsSchema",
    "as_spec",
    "field_specs",
    "is_blank",
]

FILTER_OPERATORS: dict[str, Any] = {
    "eq": lazy_gettext("is"),
    "contains": lazy_gettext("contains"),
    "lt": lazy_gettext("is less than"),
    "le": lazy_gettext("is at most"),
    "gt": lazy_gettext("is greater than"),
    "ge": lazy_gettext("is at least"),
    "between": lazy_gettext("is between"),
    "in": lazy_gettext("is one of"),
    "not_in": lazy_gettext("is none of"),
    "empty": lazy_gettext("is empty"),
    "not_empty": lazy_gettext("is filled in"),
}
"""Operators agents may filter dossiers with, and their labels (see ``filter_operators``)."""

TEXT_FILTERS = ("contains", "eq", "empty", "not_empty")
ORDERED_FILTERS = ("eq", "lt", "le", "gt", "ge", "between", "empty", "not_empty")
CHOICE_FILTERS = ("in", "not_in", "empty", "not_empty")
PRESENCE_FILTERS = ("empty", "not_empty")
PRESENCE = ("empty", "not_empty")


class OneOf(validate.OneOf):
    """marshmallow's OneOf, with a message that may be a lazy translation.

    marshmallow evaluates ``error or default`` when the validator is built, which would
    translate a lazy message at import time, outside any app.
    """

    def __init__(self, choices: Iterable[Any], error: Any = None, **kwargs: Any) -> None:
        super().__init__(choices, **kwargs)
        if error is not None:
            self.error = error


def is_blank(value: Any) -> bool:
    """Whether an answer is "not given": None, blank text, or a list/object of blanks only.

    The browser's evaluator (conditions.js, ``isBlank``) applies the very same rule.
    """
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, list | tuple):
        return all(is_blank(item) for item in value)
    if isinstance(value, dict):
        return all(is_blank(item) for item in value.values())
    return False


@dataclass(frozen=True)
class FieldSpec:
    """A field definition as the field types see it: plain data, no database session.

    ``parent`` is the stable id of the repetition block holding the field, and a block's
    ``children`` are its child fields in form order.
    """

    stable_id: str
    type: str
    label: str = ""
    help: str | None = None
    required: bool = False
    private: bool = False
    options: Mapping[str, Any] = field(default_factory=dict)
    condition: Mapping[str, Any] | None = None
    parent: str | None = None
    children: tuple[FieldSpec, ...] = ()

    def option(self, name: str, default: Any = None) -> Any:
        """One option, ``default`` when it is unset or null."""
        value = (self.options or {}).get(name)
        return default if value is None else value


def _read(definition: Any, name: str, default: Any = None) -> Any:
    if isinstance(definition, Mapping):
        return definition.get(name, default)
    return getattr(definition, name, default)


def _parent_stable_id(definition: Any, ids_by_row_id: Mapping[Any, str]) -> str | None:
    """The stable id of the block holding ``definition``, if any."""
    if isinstance(definition, FieldSpec):
        return definition.parent
    parent = _read(definition, "parent")
    if isinstance(parent, str):
        return parent
    if parent is not None:  # a row's relationship: no query when the block is in the session
        return _read(parent, "stable_id")
    parent_id = None if isinstance(definition, Mapping) else _read(definition, "parent_id")
    return None if parent_id is None else ids_by_row_id.get(parent_id)


def _spec(definition: Any, parent: str | None, children: tuple[FieldSpec, ...]) -> FieldSpec:
    return FieldSpec(
        stable_id=_read(definition, "stable_id"),
        type=_read(definition, "type"),
        label=_read(definition, "label") or "",
        help=_read(definition, "help"),
        required=bool(_read(definition, "required", False)),
        private=bool(_read(definition, "private", False)),
        options=dict(_read(definition, "options") or {}),
        condition=_read(definition, "condition"),
        parent=parent,
        children=children,
    )


def as_spec(definition: Any, *, parent: str | None = None) -> FieldSpec:
    """A :class:`FieldSpec` from a ``FieldDefinition``, a mapping or a FieldSpec.

    Mappings use the keys of ``FieldDefinition`` plus ``parent`` (the block's stable id) or
    ``children`` (nested child definitions); rows bring their ``children`` relationship.
    """
    if isinstance(definition, FieldSpec):
        return definition
    stable_id = _read(definition, "stable_id")
    children = tuple(
        as_spec(child, parent=stable_id) for child in (_read(definition, "children") or ())
    )
    return _spec(definition, parent or _parent_stable_id(definition, {}), children)


def field_specs(definitions: Iterable[Any]) -> list[FieldSpec]:
    """The top-level fields of a form, in the given order, each block with its children.

    Accepts a flat list (``revision.fields``: children point to their block by ``parent``,
    ``parent_id`` or the row's ``parent`` relationship) or top-level definitions carrying
    nested ``children``. Rows are read without loading their ``children`` relationship
    unless a block has no child in the list.
    """
    items = list(definitions)
    ids_by_row_id = {
        _read(item, "id"): _read(item, "stable_id")
        for item in items
        if not isinstance(item, Mapping | FieldSpec) and _read(item, "id") is not None
    }
    children: dict[str, list[FieldSpec]] = {}
    top: list[Any] = []
    for item in items:
        parent = _parent_stable_id(item, ids_by_row_id)
        if parent is None:
            top.append(item)
        else:
            children.setdefault(parent, []).append(_spec(item, parent, ()))
    result = []
    for item in top:
        listed = children.pop(_read(item, "stable_id"), None)
        if listed:
            result.append(_spec(item, None, tuple(listed)))
        elif isinstance(item, Mapping | FieldSpec) or _read(item, "type") == "repetition":
            result.append(as_spec(item))
        else:
            result.append(_spec(item, None, ()))
    if children:
        raise ValueError(f"fields inside unknown blocks: {sorted(children)}")
    return result


@dataclass(frozen=True)
class CleanContext:
    """What one submission's validation knows beyond the value itself.

    The hooks keep the field types free of database access: the service that calls
    :func:`app.fields.answers.validate_answers` plugs in the look-ups it is allowed to make.
    """

    partial: bool = False
    """A draft is being saved: required fields and minimum counts are not enforced."""
    visible: Collection[str] | None = None
    """Stable ids of the fields shown (None: all); hidden children of blocks are skipped."""
    dossier_exists: Callable[[int], bool] | None = None
    """For ``dossier_link``: whether a dossier with that number exists and may be linked."""
    check_attachments: Callable[[list[int], FieldSpec], None] | None = None
    """For ``attachment``: raises ValidationError unless the ids belong to the applicant and
    fit the field's families and size limit (the attachments plugin provides it)."""
    today: date | None = None
    """The procedure's local date (default: today in ``BABEL_DEFAULT_TIMEZONE``)."""
    now: datetime | None = None
    """The procedure's local time, naive (default: now in ``BABEL_DEFAULT_TIMEZONE``)."""


class OptionsSchema(Schema):
    """Base of the options schemas: an unknown option is an error, not silently kept."""

    class Meta:
        unknown = RAISE

    error_messages = {
        "unknown": lazy_gettext("Unknown option."),
        "type": lazy_gettext("The options must be an object."),
    }


class NoOptions(OptionsSchema):
    """For types that take no options; stray keys from older editors are dropped."""

    class Meta:
        unknown = EXCLUDE


def messages(**extra: Any) -> dict[str, Any]:
    """Translated error messages for marshmallow fields of options schemas."""
    return {
        "required": lazy_gettext("This option is required."),
        "null": lazy_gettext("This option cannot be empty."),
        "invalid": lazy_gettext("This value is not valid."),
        **extra,
    }


def whole_number(**kwargs: Any) -> fields.Integer:
    return fields.Integer(
        strict=True,
        error_messages=messages(invalid=lazy_gettext("Enter a whole number.")),
        **kwargs,
    )


def flag(**kwargs: Any) -> fields.Boolean:
    return fields.Boolean(
        error_messages=messages(invalid=lazy_gettext("Enter true or false.")), **kwargs
    )


def text(**kwargs: Any) -> fields.String:
    return fields.String(error_messages=messages(invalid=lazy_gettext("Enter text.")), **kwargs)


def between(minimum: float, maximum: float) -> validate.Range:
    """A range check of an option, with a translated message."""
    return validate.Range(
        min=minimum, max=maximum, error=lazy_gettext("Enter a value between {min} and {max}.")
    )


def length(maximum: int, minimum: int | None = None) -> validate.Length:
    """A length check of a text option, with a translated message."""
    if minimum:
        error = lazy_gettext("Enter between {min} and {max} characters.")
    else:
        error = lazy_gettext("Enter at most {max} characters.")
    return validate.Length(min=minimum, max=maximum, error=error)


def stringify(messages_: Any) -> Any:
    """Lazy strings inside marshmallow's error messages, rendered in the current language."""
    if isinstance(messages_, dict):
        return {key: stringify(value) for key, value in messages_.items()}
    if isinstance(messages_, list | tuple):
        return [stringify(value) for value in messages_]
    return str(messages_)


class FieldType:
    """One kind of form field. Subclasses set the class attributes and override ``to_python``.

    Instances are stateless singletons held by the registry.
    """

    name: ClassVar[str]
    """Identifier stored in ``FieldDefinition.type``, exports and the API."""
    label: ClassVar[Any]
    """Translated name shown in the form editor (a lazy string)."""
    group: ClassVar[str]
    """Menu group of the form editor (see ``registry.GROUPS``)."""
    has_value: ClassVar[bool] = True
    """False for layout types (section titles, explanations) that hold no answer."""
    can_be_repeated: ClassVar[bool] = True
    """Whether the type may sit inside a repetition block."""
    Options: ClassVar[type[Schema]] = NoOptions
    """Schema of ``FieldDefinition.options`` for this type."""
    filter_operators: ClassVar[tuple[str, ...]] = ()
    """Keys of ``FILTER_OPERATORS`` agents may filter this field with."""
    condition_operators: ClassVar[tuple[str, ...]] = ()
    """Operators of the condition language valid on this field (``conditions.OPERATORS``)."""
    condition_kind: ClassVar[str | None] = None
    """How the condition language reads this type's values (``conditions.KINDS``)."""
    compatible_types: ClassVar[frozenset[str]] = frozenset()
    """Types this field may become in a new revision with its answers kept meaningful."""

    @property
    def template(self) -> str:
        """The portal template that renders an input of this type."""
        return f"fields/{self.name}.html"

    def __repr__(self) -> str:
        return f"<FieldType {self.name}>"

    # -- definition ------------------------------------------------------------------------

    def validate_options(self, options: Mapping[str, Any] | None) -> dict[str, Any]:
        """Check an administrator's options; return them normalised, ready to store as JSON.

        Raises ValidationError whose messages (translated strings) are keyed by option name.
        """
        schema = self.Options()
        try:
            return schema.dump(schema.load(dict(options or {})))
        except ValidationError as error:
            raise ValidationError(stringify(error.messages)) from None

    # -- answers ---------------------------------------------------------------------------

    def is_empty(self, value: Any) -> bool:
        """Whether a submitted value means "no answer"."""
        return is_blank(value)

    def clean(self, value: Any, definition: Any, context: CleanContext | None = None) -> Any:
        """Validate and normalise one submitted answer; None when there is no answer.

        Raises ValidationError with messages in the current language. Whether a required
        field was answered is the caller's check (see ``is_missing``), so that drafts can be
        saved half-filled.
        """
        if self.is_empty(value):
            return None
        return self.to_python(value, as_spec(definition), context or CleanContext())

    def to_python(self, value: Any, spec: FieldSpec, context: CleanContext) -> Any:
        """Validate and normalise a non-empty value (the per-type part of ``clean``)."""
        raise NotImplementedError(f"{type(self).__name__} has no to_python")

    def is_missing(self, cleaned: Any) -> bool:
        """Whether a cleaned value fails the "required" rule."""
        return cleaned is None

    def required_message(self) -> str:
        return gettext("This field is required.")

    def convert_answer(self, value: Any, from_type: str) -> Any:
        """An answer given to a field of ``from_type``, adapted after a change to this type.

        Only called for a change listed in the old type's ``compatible_types``.
        """
        return value

    def as_text(self, value: Any, definition: Any = None) -> str:
        """The answer as text for exports, search and mail tags (French-friendly formats)."""
        if self.is_empty(value):
            return ""
        return self.format(value, definition)

    def format(self, value: Any, definition: Any) -> str:
        """The per-type part of ``as_text``, for a non-empty stored value."""
        return str(value)


def current_language() -> str:
    """The language of the current request, else the platform's default (French)."""
    from flask_babel import get_locale

    try:
        locale = get_locale()
    except RuntimeError:
        locale = None
    return locale.language if locale else "fr"


def invalid(message: str) -> ValidationError:
    """A ValidationError carrying one translated message."""
    return ValidationError([message])


def require_string(value: Any, message: str | None = None) -> str:
    """The value stripped, or a ValidationError if it is not text."""
    if not isinstance(value, str):
        raise invalid(message or gettext("Enter text."))
    return value.strip()

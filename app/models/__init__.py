"""Guichet's data model, one module per aggregate. Importing this package registers
every table on FAB's ``Model.metadata`` (Alembic compares against it)."""

from flask_appbuilder.security.sqla.models import Role, User

from .administration import Administration, AdministrationKind, AdministrationMember
from .attachment import Attachment, AttachmentUse, ScanStatus
from .audit import AuditEvent
from .authentication import UserSecurity
from .base import JSONDoc, StrEnum, UTCDateTime, utcnow
from .dossier import (
    DECIDED_STATES,
    Dossier,
    DossierSearch,
    DossierState,
    DossierTally,
    DossierTombstone,
    Follow,
    Invitation,
    Opinion,
    SatisfactionAnswer,
    SatisfactionLevel,
    StateTransition,
    dossier_label,
)
from .integration import ApiToken, Webhook, WebhookDelivery, api_token_procedure
from .message import AuthorKind, CorrectionReason, Message
from .outbox import OutboxEvent
from .procedure import (
    AttestationTemplate,
    DeclarativeMode,
    FieldDefinition,
    FilerKind,
    InstructorGroup,
    Label,
    MailEvent,
    MailTemplate,
    NotificationPreference,
    Procedure,
    ProcedureRevision,
    ProcedureState,
    RevisionState,
    instructor_group_member,
)
from .stats import StatsSnapshot
from .support import SupportAnswer, SupportRequest
from .workspace import BatchJob, ExportFormat, ExportJob, JobState, SavedView

__all__ = [
    "DECIDED_STATES",
    "Administration",
    "AdministrationKind",
    "AdministrationMember",
    "ApiToken",
    "AttestationTemplate",
    "Attachment",
    "AttachmentUse",
    "AuditEvent",
    "AuthorKind",
    "BatchJob",
    "CorrectionReason",
    "DeclarativeMode",
    "Dossier",
    "DossierSearch",
    "DossierTally",
    "DossierState",
    "DossierTombstone",
    "ExportFormat",
    "ExportJob",
    "FieldDefinition",
    "FilerKind",
    "Follow",
    "InstructorGroup",
    "Invitation",
    "JSONDoc",
    "JobState",
    "Label",
    "MailEvent",
    "MailTemplate",
    "Message",
    "NotificationPreference",
    "Opinion",
    "OutboxEvent",
    "Procedure",
    "ProcedureRevision",
    "ProcedureState",
    "RevisionState",
    "Role",
    "SatisfactionAnswer",
    "SatisfactionLevel",
    "SavedView",
    "ScanStatus",
    "StateTransition",
    "StatsSnapshot",
    "StrEnum",
    "SupportAnswer",
    "SupportRequest",
    "UTCDateTime",
    "User",
    "UserSecurity",
    "Webhook",
    "WebhookDelivery",
    "api_token_procedure",
    "dossier_label",
    "instructor_group_member",
    "utcnow",
]

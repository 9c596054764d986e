"""Signals the core sends so that plugins can act without the core knowing them.

A receiver runs inside the sender's transaction: it may add rows to the session (outbox
events, its own records) but must not commit.
"""

from blinker import Namespace

_signals = Namespace()

dossier_submitted = _signals.signal("dossier-submitted")
"""Sent by ``app.services.dossiers.submit`` each time an applicant submits a dossier,
first submission or re-submission after a change (``dossier=…, first=bool``)."""

dossier_state_changed = _signals.signal("dossier-state-changed")
"""Sent by ``app.workflow.apply`` after each transition (``dossier=…, transition=…``)."""

message_posted = _signals.signal("message-posted")
"""Sent by the messaging plugin when a message is added to a dossier's thread
(``message=…, dossier=…``; the message is flushed): webhooks announce it."""

dossier_deleting = _signals.signal("dossier-deleting")
"""Sent by ``app.services.retention`` just before it deletes an expired dossier
(``dossier=…, reason="retention_expired" | "draft_expired"``): a plugin deletes what it
keeps for that dossier (the attachments plugin its files) in the same transaction."""

procedure_cloned = _signals.signal("procedure-cloned")
"""Sent by ``app.services.procedures.clone`` once the copy is flushed (``source=…,
copy=…``): the attachments plugin gives the copy the same logo, notice and signature."""

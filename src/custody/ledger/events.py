"""What a custody ledger entry records: the ``type`` vocabulary (docs/ledger.md lists each).

A reader of the log keeps an entry of a type it does not know (a newer server's): the
type is a string on the wire; these are the types this version writes and reads.
"""

from __future__ import annotations

from enum import StrEnum


class EntryType(StrEnum):
    # Organisations, units, people and keys.
    ORG_CREATED = "org:created"
    ORG_RECOVERY_KEY = "org:recovery_key"
    UNIT_CREATED = "unit:created"
    USER_CREATED = "user:created"
    ACCOUNT_ACTIVATED = "account:activated"
    ACCOUNT_SECOND_FACTOR_ENROLLED = "account:second_factor_enrolled"
    ACCOUNT_SECOND_FACTOR_RESET = "account:second_factor_reset"
    ACCOUNT_DISABLED = "account:disabled"
    KEY_REGISTERED = "key:registered"
    # Cases, transfers and items.
    CASE_CREATED = "case:created"
    TRANSFER_CREATED = "transfer:created"
    ITEM_CREATED = "item:created"
    ITEM_UPLOADED = "item:uploaded"
    ITEM_SEALED = "item:sealed"
    ITEM_SUBJECTS = "item:subjects"
    TRANSFER_SENT = "transfer:sent"
    ITEM_DOWNLOADED = "item:downloaded"
    ITEM_VIEWED = "item:viewed"
    ITEM_RECEIVED = "item:received"
    ITEM_VERIFICATION_FAILED = "item:verification_failed"
    TRANSFER_ACKNOWLEDGED = "transfer:acknowledged"
    ACCESS_REFUSED = "access:refused"
    # Delivery assurance.
    ALERT_SENT = "alert:sent"
    TRANSFER_REVOKED = "transfer:revoked"
    ITEM_SHARED = "item:shared"
    ITEM_SHARE_EXPIRED = "item:share_expired"
    INCIDENT_OPENED = "incident:opened"
    INCIDENT_REPORTED = "incident:reported"
    INCIDENT_CLOSED = "incident:closed"
    RETENTION_SET = "retention:set"
    RETENTION_HOLD_SET = "retention:hold_set"
    RETENTION_HOLD_RELEASED = "retention:hold_released"
    ITEM_SHREDDED = "item:shredded"
    # Scrubbing: a stored ciphertext is missing or changed; a whole run's counts.
    ITEM_SCRUB_FAILED = "item:scrub_failed"
    BLOBS_SCRUBBED = "blobs:scrubbed"
    # The log itself, and the code the server hands to browsers.
    LEDGER_HEADS = "ledger:heads"
    # A slice of a list of people too long for the entry that commits to it (ledger.people).
    PEOPLE_PART = "people:part"
    CODE_RELEASE = "code:release"

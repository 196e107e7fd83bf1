"""The words of collection: a submission's status and a school's state in a campaign, each with its Russian label."""

from __future__ import annotations

from enum import StrEnum


class SubmissionStatus(StrEnum):
    """What became of one submitted file (or CSV group); the value is what the ledger and JSON hold."""

    ACCEPTED = "accepted"
    REJECTED = "rejected"
    SUPERSEDED = "superseded"  # an accepted report replaced by the school's later one
    DUPLICATE = "duplicate"  # the same content as a file judged before
    UNRECOGNIZED = "unrecognized"  # not a report file at all

    @property
    def label(self) -> str:
        return _SUBMISSION_LABELS[self]


_SUBMISSION_LABELS = {
    SubmissionStatus.ACCEPTED: "принят",
    SubmissionStatus.REJECTED: "отклонён",
    SubmissionStatus.SUPERSEDED: "заменён",
    SubmissionStatus.DUPLICATE: "дубликат",
    SubmissionStatus.UNRECOGNIZED: "не распознан",
}


class SchoolState(StrEnum):
    """Where an expected school stands in a campaign, in the order the district acts on it."""

    MISSING = "missing"
    REJECTED = "rejected"  # files came, none was accepted (yet)
    LATE = "late"
    ON_TIME = "on_time"

    @property
    def label(self) -> str:
        """The one wording of the state, on the status pages, in the school's feedback and in the console."""
        return _STATE_LABELS[self]


_STATE_LABELS = {
    SchoolState.MISSING: "отчёт не сдан",
    SchoolState.REJECTED: "отчёт отклонён",
    SchoolState.LATE: "отчёт принят с опозданием",
    SchoolState.ON_TIME: "отчёт принят в срок",
}

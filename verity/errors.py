"""Domain exceptions. Each carries a message fit for the person who caused it; `api/errors.py`
maps each class to one HTTP status."""

from __future__ import annotations


class VerityError(Exception):
    """Base of every error Verity reports to a user."""

    code = "error"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class NotFound(VerityError):
    code = "not_found"


class ClipNotFound(NotFound):
    code = "clip_not_found"


class BlobNotFound(NotFound):
    code = "blob_not_found"


class KeyNotFound(NotFound):
    code = "key_not_found"


class UploadNotFound(NotFound):
    code = "upload_not_found"


class UploadExpired(VerityError):
    """A resumable upload left idle past its expiry (`Upload-Expires`): it takes no more chunks."""

    code = "upload_expired"


class InvalidInput(VerityError):
    code = "invalid_input"


class ChecksumMismatch(InvalidInput):
    """A chunk's bytes do not have the checksum its request declared (tus `Upload-Checksum`): the
    chunk is dropped, the upload stays where it stood."""

    code = "checksum_mismatch"


class DeclaredDigestMismatch(InvalidInput):
    """A finished upload's bytes do not have the SHA-256 declared when it began: they are not the
    file the client meant, so nothing is archived and the upload is deleted."""

    code = "sha256_mismatch"


class UnsupportedContentType(VerityError):
    """A request body in a media type the route does not take (a tus chunk that is not
    application/offset+octet-stream)."""

    code = "unsupported_media_type"


class EmptyUpload(InvalidInput):
    code = "empty_upload"


class UploadTooLarge(VerityError):
    code = "upload_too_large"


class BodyStalled(VerityError):
    """The client stopped sending a request body midway (its connection is presumed dead)."""

    code = "body_stalled"


class RangeNotSatisfiable(VerityError):
    code = "range_not_satisfiable"

    def __init__(self, detail: str, size: int) -> None:
        super().__init__(detail)
        self.size = size


class Unauthenticated(VerityError):
    code = "unauthenticated"


class Forbidden(VerityError):
    code = "forbidden"


class Conflict(VerityError):
    code = "conflict"


class OffsetMismatch(Conflict):
    """A chunk of a resumable upload does not start where the upload stands (`offset`)."""

    code = "offset_mismatch"

    def __init__(self, detail: str, offset: int) -> None:
        super().__init__(detail)
        self.offset = offset


class TooManyRequests(VerityError):
    """The caller already has as many of these running as it may; `retry_after_s` says when to ask again."""

    code = "too_many_requests"

    def __init__(self, detail: str, retry_after_s: int) -> None:
        super().__init__(detail)
        self.retry_after_s = retry_after_s


class Superseded(Conflict):
    """An analysis of a clip tried to write after the clip was claimed again (by a later attempt)."""

    code = "superseded"


class FixityFailed(VerityError):
    """An original's bytes are not the ones archived (other bytes, fewer, more, or none); raised
    while a download streams, after the failure is recorded on the clip, to cut the body off."""

    code = "fixity_failed"


class ArchiveInUse(VerityError):
    """An embedded archive already has an owner process (`serve`, `ingest` or `worker`)."""

    code = "archive_in_use"


class StorageUnavailable(VerityError):
    code = "storage_unavailable"


class MediaFailed(VerityError):
    """The file is media we accept but could not be processed (damaged, truncated, too slow)."""

    code = "media_failed"


class UnsupportedMedia(VerityError):
    """The file is not video Verity can analyse (audio only, a still image, not media at all)."""

    code = "unsupported_media"


class ConfigurationError(VerityError):
    """The settings ask for a combination that cannot work (e.g. job queue workers on SQLite)."""

    code = "configuration_error"


class StaleWrite(VerityError):
    """The `If-Match` version is not the current one: someone else changed it first."""

    code = "stale_write"


class PreconditionRequired(VerityError):
    code = "precondition_required"


class BodyTooLarge(VerityError):
    """A request body, or a part of a form, is larger than its limit (an upload's file has its own:
    `UploadTooLarge`)."""

    code = "body_too_large"


class TimestampUnavailable(VerityError):
    """No time-stamping authority could be reached (or none answered in time): worth trying again."""

    code = "timestamp_unavailable"


class TimestampRefused(VerityError):
    """A time-stamping authority answered, but not with a token that verifies for the digest asked."""

    code = "timestamp_refused"


class TimestampsNotConfigured(VerityError):
    """Stamping was asked for, but VERITY_TIMESTAMP_URLS names no time-stamping authority."""

    code = "timestamps_not_configured"


class ExportNotFound(NotFound):
    code = "export_not_found"


class ExportNotReady(Conflict):
    """The export's bag is not built (yet, or ever: it failed); its status says which."""

    code = "export_not_ready"


class ExportFailed(VerityError):
    """An export's job could not build its bag; the message is the export's reason."""

    code = "export_failed"


class PersonNotFound(NotFound):
    code = "person_not_found"


class SignInRefused(Unauthenticated):
    """A sign-in's name, password or TOTP code is wrong, or the person is disabled."""

    code = "sign_in_refused"

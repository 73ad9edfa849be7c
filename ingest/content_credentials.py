"""Content Credentials (C2PA): the signed manifest a camera or an editing tool may embed in a
file, read with c2pa-python. What it claims (who signed, with what tool, what was done to the
file, from what ingredients) and whether the claim holds for these bytes (hashes, signature,
signer's certificate against the configured trust anchors).

Reading never fails an ingest: no manifest is `none`, one that cannot be parsed is `malformed`
with the reader's reason. The reader fetches nothing over the network (no remote manifests, no
OCSP): what a hostile file points to is not followed. Given `limits`, it runs in a child process
under them (`python -m ingest.content_credentials FILE [TRUST_ANCHORS]`): the reader holds each
top-level box it hashes in memory (a video's media data: most of the file), and aborts the whole
process when an allocation fails, so it must not run inside the server."""

from __future__ import annotations

import hashlib
import json
import logging
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import c2pa

from ingest.ffmpeg import Limits, limited, spawn_options
from storage.vocabulary import CREDENTIALS_PRESENT, ContentCredentialsState

log = logging.getLogger("verity.ingest")

# The reader's codes for "the signature holds, but its certificate chains to no trust anchor".
UNTRUSTED_CODES = frozenset({"signingCredential.untrusted"})


@dataclass(frozen=True)
class Signer:
    common_name: str | None
    issuer: str | None
    serial_number: str | None
    algorithm: str | None


@dataclass(frozen=True)
class Failure:
    """One validation failure as the reader reports it, with the assertion it concerns (if any)."""

    code: str
    explanation: str | None
    assertion: str | None
    url: str | None


@dataclass(frozen=True)
class Action:
    action: str
    when: str | None
    software_agent: str | None
    digital_source_type: str | None  # the IPTC term: digitalCapture (a camera), trainedAlgorithmicMedia (AI) …
    description: str | None


@dataclass(frozen=True)
class Ingredient:
    title: str | None
    format: str | None
    relationship: str | None
    has_manifest: bool  # the ingredient carried Content Credentials of its own


@dataclass(frozen=True)
class ContentCredentials:
    state: ContentCredentialsState
    reason: str | None = None
    validation_state: str | None = None  # the reader's own word: Trusted, Valid or Invalid
    signer_trusted: bool | None = None
    trust_anchors_configured: bool = False
    failures: list[Failure] = field(default_factory=list)
    active_manifest: str | None = None
    manifest_count: int = 0
    title: str | None = None
    format: str | None = None
    claim_generator: str | None = None
    signer: Signer | None = None
    signed_at: str | None = None  # the time a timestamp in the signature asserts; None without one
    actions: list[Action] = field(default_factory=list)
    ingredients: list[Ingredient] = field(default_factory=list)
    reader: str = ""
    report: str | None = field(default=None, repr=False)  # the reader's whole JSON report, verbatim

    @property
    def present(self) -> bool:
        """The file carries a manifest, whatever its validity."""
        return self.state in CREDENTIALS_PRESENT

    def as_dict(self) -> dict[str, Any]:
        """Everything but the verbatim report (kept beside it, see `report`)."""
        summary = asdict(self)
        del summary["report"]
        return summary

    @classmethod
    def from_dict(cls, summary: dict[str, Any], report: str | None) -> ContentCredentials:
        """The inverse of `as_dict` (with the report beside it): how a child's answer comes back."""
        signer = summary.get("signer")
        return cls(
            **{
                **summary,
                "failures": [Failure(**f) for f in summary.get("failures") or []],
                "signer": Signer(**signer) if signer else None,
                "actions": [Action(**a) for a in summary.get("actions") or []],
                "ingredients": [Ingredient(**i) for i in summary.get("ingredients") or []],
                "report": report,
            }
        )

    def custody_details(self) -> dict[str, Any]:
        """What the custody event records: enough to see what was read, and the report's digest,
        which ties the stored report to the chain."""
        return {
            "state": self.state,
            "reason": self.reason,
            "active_manifest": self.active_manifest,
            "claim_generator": self.claim_generator,
            "signer": self.signer.common_name if self.signer else None,
            "signed_at": self.signed_at,
            "failures": [f.code for f in self.failures],
            "report_sha256": hashlib.sha256(self.report.encode()).hexdigest() if self.report else None,
            "reader": self.reader,
        }


def reader_version() -> str:
    return f"c2pa-python {c2pa.__version__} (c2pa-rs {c2pa.sdk_version()})"


def _context(trust_anchors_pem: str | None) -> c2pa.Context:
    settings: dict[str, Any] = {
        "verify": {
            "verify_after_reading": True,
            "verify_trust": True,
            "remote_manifest_fetch": False,  # a file's pointer elsewhere is not followed
            "ocsp_fetch": False,
        }
    }
    if trust_anchors_pem:
        # `trust_anchors` replaces the reader's own list: what is trusted is exactly what the
        # operator configured, nothing else.
        settings["trust"] = {"trust_anchors": trust_anchors_pem}
    return c2pa.Context.from_dict(settings)


def read_content_credentials(
    path: Path, *, trust_anchors: Path | None = None, limits: Limits | None = None
) -> ContentCredentials:
    """The Content Credentials of the file at `path`, judged against the root certificates in the
    PEM file `trust_anchors` (read anew each time), in a child process under `limits` if given;
    never raises for what the file holds."""
    if limits is not None:
        return _read_in_child(path, trust_anchors, limits)
    configured = trust_anchors is not None
    reader_name = reader_version()

    def outcome(state: ContentCredentialsState, reason: str | None = None) -> ContentCredentials:
        return ContentCredentials(state, reason, trust_anchors_configured=configured, reader=reader_name)

    try:
        context = _context(trust_anchors.read_text(encoding="utf-8") if trust_anchors else None)
    except (OSError, UnicodeDecodeError, c2pa.C2paError) as exc:
        return outcome("not_read", f"the trust anchors could not be used: {exc}")
    try:
        with path.open("rb") as stream, c2pa.Reader(None, stream, context=context) as reader:
            report = reader.json()
            validation_state = reader.get_validation_state()
    except c2pa.C2paError.ManifestNotFound:
        return outcome("none")
    except c2pa.C2paError.NotSupported as exc:
        return outcome("unsupported", f"not a format Content Credentials are read from ({exc})")
    except c2pa.C2paError as exc:
        # c2pa-python raises its base class for "Remote: must fetch remote manifests from url …".
        if isinstance(exc, c2pa.C2paError.RemoteManifest) or str(exc).startswith("Remote"):
            return outcome(
                "unsupported", f"the manifest is not in the file but elsewhere, which is not fetched ({exc})"
            )
        return outcome("malformed", f"the manifest could not be read: {exc}")
    except Exception as exc:  # the reader's own bug, not the file's: said so, and the analysis goes on
        log.exception("content credentials reader failed on %s", path)
        return outcome("not_read", f"the reader failed: {type(exc).__name__}: {exc}")
    try:
        return _summarise(json.loads(report), report, validation_state, configured, reader_name)
    except (ValueError, TypeError, AttributeError, KeyError) as exc:
        # A report of a shape this code does not know: kept whole, and said so.
        log.warning("content credentials report of %s not understood: %s", path, exc)
        return ContentCredentials(
            "malformed",
            f"the reader's report could not be understood: {type(exc).__name__}: {exc}",
            validation_state=validation_state,
            trust_anchors_configured=configured,
            reader=reader_name,
            report=report,
        )


def _read_in_child(path: Path, trust_anchors: Path | None, limits: Limits) -> ContentCredentials:
    command = [sys.executable, "-m", "ingest.content_credentials", str(path.resolve())]
    if trust_anchors is not None:
        command.append(str(trust_anchors.resolve()))

    def not_read(reason: str) -> ContentCredentials:
        log.warning("content credentials of %s not read: %s", path, reason)
        return ContentCredentials(
            "not_read", reason, trust_anchors_configured=trust_anchors is not None, reader=reader_version()
        )

    try:
        result = subprocess.run(
            limited(command, limits), capture_output=True, timeout=limits.timeout_s, **spawn_options()
        )
    except subprocess.TimeoutExpired:
        return not_read(f"the reader took longer than the limit of {limits.timeout_s:.0f} s")
    stderr = result.stderr.decode("utf-8", "replace").strip()
    if result.returncode != 0:
        if "memory allocation of" in stderr or "MemoryError" in stderr:
            return not_read(
                f"the reader needed more memory than the limit of {limits.memory_mb} MB "
                "(it holds the file's largest box, usually its media data, in memory): VERITY_C2PA_MEMORY_MB"
            )
        last = stderr.splitlines()[-1] if stderr else f"exit status {result.returncode}"
        return not_read(f"the reader failed: {last[-500:]}")
    try:
        answer = json.loads(result.stdout)
        return ContentCredentials.from_dict(answer["credentials"], answer["report"])
    except (ValueError, TypeError, KeyError) as exc:
        return not_read(f"the reader's answer could not be understood: {type(exc).__name__}: {exc}")


def _main(arguments: list[str]) -> int:
    """The child: read one file, print the credentials and the report as one JSON object."""
    path, trust = Path(arguments[0]), Path(arguments[1]) if len(arguments) > 1 else None
    credentials = read_content_credentials(path, trust_anchors=trust)
    json.dump({"credentials": credentials.as_dict(), "report": credentials.report}, sys.stdout)
    return 0


def _text(value: Any) -> str | None:
    return str(value) if value is not None and value != "" else None


def _failure(entry: dict[str, Any]) -> Failure:
    url = _text(entry.get("url"))
    assertion = url.split("/c2pa.assertions/", 1)[1] if url and "/c2pa.assertions/" in url else None
    return Failure(str(entry.get("code")), _text(entry.get("explanation")), assertion, url)


def _claim_generator(manifest: dict[str, Any]) -> str | None:
    if manifest.get("claim_generator"):
        return str(manifest["claim_generator"])
    parts = []
    for info in manifest.get("claim_generator_info") or []:
        if isinstance(info, dict) and info.get("name"):
            parts.append(f"{info['name']}/{info['version']}" if info.get("version") else str(info["name"]))
    return " ".join(parts) or None


def _agent(value: Any) -> str | None:
    if isinstance(value, dict):
        name, version = value.get("name"), value.get("version")
        return f"{name}/{version}" if name and version else _text(name)
    return _text(value)


def _actions(manifest: dict[str, Any]) -> list[Action]:
    found = []
    for assertion in manifest.get("assertions") or []:
        if not str(assertion.get("label", "")).startswith("c2pa.actions"):
            continue
        for entry in (assertion.get("data") or {}).get("actions") or []:
            source = _text(entry.get("digitalSourceType"))
            found.append(
                Action(
                    action=str(entry.get("action")),
                    when=_text(entry.get("when")),
                    software_agent=_agent(entry.get("softwareAgent")),
                    digital_source_type=source.rstrip("/").rsplit("/", 1)[-1] if source else None,
                    description=_text(entry.get("description")),
                )
            )
    return found


def _ingredients(manifest: dict[str, Any]) -> list[Ingredient]:
    return [
        Ingredient(
            title=_text(entry.get("title")),
            format=_text(entry.get("format")),
            relationship=_text(entry.get("relationship")),
            has_manifest=bool(entry.get("active_manifest") or entry.get("manifest_data")),
        )
        for entry in manifest.get("ingredients") or []
    ]


def _summarise(
    parsed: dict[str, Any], report: str, validation_state: str | None, configured: bool, reader_name: str
) -> ContentCredentials:
    manifests = parsed.get("manifests") or {}
    label = parsed.get("active_manifest")
    manifest = (manifests.get(label) or {}) if label else {}
    failures = [_failure(entry) for entry in parsed.get("validation_status") or []]
    untrusted = any(f.code in UNTRUSTED_CODES for f in failures)
    broken = [f for f in failures if f.code not in UNTRUSTED_CODES]
    state: ContentCredentialsState
    reason = None
    if validation_state == "Trusted" and not broken:
        state = "valid"
    elif validation_state == "Invalid" or broken:
        state = "invalid"
        named = [f"{f.code} ({f.assertion})" if f.assertion else f.code for f in broken]
        reason = "fails: " + "; ".join(named) if named else "the reader found the manifest invalid"
    else:  # intact, but its signer chains to no configured trust anchor
        state = "signer_untrusted"
        reason = (
            "signed by a certificate that chains to none of the configured trust anchors"
            if configured
            else "no trust anchors are configured (VERITY_C2PA_TRUST_ANCHORS), so no signer is trusted"
        )
    if not manifest:
        state, reason = "malformed", "the report names no active manifest"
    signature = manifest.get("signature_info") or {}
    return ContentCredentials(
        state=state,
        reason=reason,
        validation_state=validation_state,
        signer_trusted=not untrusted if signature else None,
        trust_anchors_configured=configured,
        failures=failures,
        active_manifest=_text(label),
        manifest_count=len(manifests),
        title=_text(manifest.get("title")),
        format=_text(manifest.get("format")),
        claim_generator=_claim_generator(manifest),
        signer=Signer(
            common_name=_text(signature.get("common_name")),
            issuer=_text(signature.get("issuer")),
            serial_number=_text(signature.get("cert_serial_number")),
            algorithm=_text(signature.get("alg")),
        )
        if signature
        else None,
        signed_at=_text(signature.get("time")),
        actions=_actions(manifest),
        ingredients=_ingredients(manifest),
        reader=reader_name,
        report=report,
    )


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))

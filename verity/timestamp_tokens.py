"""RFC 3161 time-stamp tokens: the request Verity sends and the one check of an answer, for
whoever holds a token (stamping at ingest, anchoring, the export's manifest, a recipient's tools).

The request's message imprint is SHA-256 and its hashed message IS the digest being stamped (a
clip's sha256, an anchor's Merkle root), so `openssl ts -verify -digest <hex> -in token.tsr
-CAfile root.pem -untrusted tsa.pem` checks a stored token. A token is kept as the TSA's whole
answer (TimeStampResp, DER), as `openssl ts -reply` writes it."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from rfc3161_client import PKIStatus, TimeStampResponse, VerificationError, VerifierBuilder, decode_timestamp_response

from verity.errors import TimestampRefused

QUERY_CONTENT_TYPE = "application/timestamp-query"
REPLY_CONTENT_TYPE = "application/timestamp-reply"
# AlgorithmIdentifier { id-sha256, NULL }
_SHA256_ALGORITHM = bytes.fromhex("300d06096086480165030402010500")


@dataclass(frozen=True)
class TimestampQuery:
    der: bytes
    nonce: int


@dataclass(frozen=True)
class CheckedToken:
    """What a verified token asserts, and the certificates that vouch for it."""

    gen_time: datetime  # UTC, the time the TSA asserts
    serial_number: int
    tsa_certs_pem: str  # the certificates embedded in the token, the signer's first
    root_pem: str  # the certificates of the trusted roots file the signer's chains up to


def _der_length(length: int) -> bytes:
    if length < 0x80:
        return bytes([length])
    encoded = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(encoded)]) + encoded


def _der(tag: int, body: bytes) -> bytes:
    return bytes([tag]) + _der_length(len(body)) + body


def _der_integer(value: int) -> bytes:
    return _der(0x02, value.to_bytes(value.bit_length() // 8 + 1, "big"))


def timestamp_request(digest: bytes) -> TimestampQuery:
    """A TimeStampReq (v1) for a SHA-256 digest with a fresh nonce, asking for the TSA's certificate.
    Built here rather than by rfc3161-client, whose builder hashes its input once more."""
    if len(digest) != 32:
        raise ValueError("a SHA-256 digest is 32 bytes")
    nonce = secrets.randbits(63)
    imprint = _der(0x30, _SHA256_ALGORITHM + _der(0x04, digest))
    body = _der_integer(1) + imprint + _der_integer(nonce) + _der(0x01, b"\xff")
    return TimestampQuery(_der(0x30, body), nonce)


def load_roots(pem: bytes) -> list[x509.Certificate]:
    """The certificates of a PEM file (VERITY_TIMESTAMP_CA_FILE)."""
    return x509.load_pem_x509_certificates(pem)


def _pem(certificates: list[x509.Certificate]) -> str:
    return "".join(cert.public_bytes(Encoding.PEM).decode() for cert in certificates)


def _signer_first(response: TimeStampResponse) -> list[x509.Certificate]:
    certs = [x509.load_der_x509_certificate(der) for der in response.signed_data.certificates]
    signers = [(info.issuer, info.serial_number) for info in response.signed_data.signer_infos]
    return sorted(certs, key=lambda cert: (cert.issuer, cert.serial_number) not in signers)


def _chain_roots(certs: list[x509.Certificate], roots: list[x509.Certificate]) -> list[x509.Certificate]:
    """The trusted certificates the embedded ones chain up to, by issuer name."""
    chain: list[x509.Certificate] = []
    wanted = {cert.issuer for cert in certs}
    while wanted:
        found = [root for root in roots if root.subject in wanted and root not in chain]
        if not found:
            break
        chain.extend(found)
        wanted = {root.issuer for root in found if root.issuer != root.subject}
    return chain


def check_token(
    response_der: bytes, digest: bytes, roots: list[x509.Certificate], *, nonce: int | None = None
) -> CheckedToken:
    """Verify a TSA's answer for `digest` against trusted `roots` (signature, certificate chain at
    the asserted time, critical timeStamping key usage, the imprint, and `nonce` if given);
    `TimestampRefused` says what does not hold."""
    try:
        response = decode_timestamp_response(response_der)
    except (ValueError, TypeError) as exc:
        raise TimestampRefused(f"the answer is not a time-stamp response ({exc})") from None
    if PKIStatus(response.status) != PKIStatus.GRANTED:
        said = "; ".join(response.status_string) or "no reason given"
        raise TimestampRefused(f"the TSA refused the request (status {response.status}: {said})")
    if not roots:
        raise TimestampRefused("no trusted roots to verify the token against")
    verifier = VerifierBuilder(roots=list(roots), nonce=nonce).build()
    try:
        verifier.verify(response, digest)
    except (VerificationError, ValueError) as exc:
        raise TimestampRefused(f"the token does not verify: {exc}") from None
    certs = _signer_first(response)
    return CheckedToken(
        gen_time=response.tst_info.gen_time,
        serial_number=response.tst_info.serial_number,
        tsa_certs_pem=_pem(certs),
        root_pem=_pem(_chain_roots(certs, roots)),
    )


def verify_stored_token(response_der: bytes, digest_hex: str, roots_pem: bytes) -> CheckedToken:
    """Check a stored token for a hex digest against the roots in `roots_pem` (e.g. a token's own
    `root_pem`, or VERITY_TIMESTAMP_CA_FILE's contents)."""
    return check_token(response_der, bytes.fromhex(digest_hex), load_roots(roots_pem))

"""Content Credentials made in the test: a throw-away root and signing certificate (the profile
C2PA asks of a signer: issued by a CA, not self-signed; key usage digitalSignature, critical;
extended key usage emailProtection; key identifiers), c2pa-python signing a clip with them, and
the damage a test does to a signed file afterwards."""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import c2pa
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CAPTURE = "http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture"
# The user type of the top-level ISO-BMFF `uuid` box that holds a C2PA manifest store.
# The label an ingredient gets, for an action to name it: {"ingredientIds": [PARENT]}.
PARENT = "parent"
C2PA_UUID = bytes.fromhex("d8fec3d61b0e483c92975828877ec481")


@dataclass(frozen=True)
class SigningChain:
    root_pem: bytes  # what a trust list holds
    chain_pem: bytes  # signer's certificate, then the root: what goes into the manifest
    key_pem: bytes
    signer_name: str


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Verity test camera maker"),
        ]
    )


def _usage(*, signer: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=signer,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=not signer,
        crl_sign=not signer,
        encipher_only=False,
        decipher_only=False,
    )


def _pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)


def make_signing_chain(signer_name: str = "Test camera 7") -> SigningChain:
    """An ES256 root and a signing certificate it issued, valid from yesterday for a month."""
    now = datetime.now(UTC)
    root_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    root_name = _name(f"{signer_name} root")
    root = (
        x509.CertificateBuilder()
        .subject_name(root_name)
        .issuer_name(root_name)
        .public_key(root_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(_usage(signer=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(root_key.public_key()), critical=False)
        .sign(root_key, hashes.SHA256())
    )
    leaf = (
        x509.CertificateBuilder()
        .subject_name(_name(signer_name))
        .issuer_name(root_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_usage(signer=True), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()), critical=False)
        .sign(root_key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return SigningChain(_pem(root), _pem(leaf) + _pem(root), key_pem, signer_name)


def sign_clip(
    source: Path,
    signed: Path,
    chain: SigningChain,
    *,
    actions: list[dict[str, Any]] | None = None,
    ingredient: Path | None = None,
    remote_url: str | None = None,
) -> Path:
    """`source` with a manifest signed by `chain` (no timestamp authority: nothing leaves the
    machine), recording `actions` (default: created by a camera) and `ingredient` as its parent;
    with `remote_url`, the file only points there and the manifest is not embedded."""
    manifest = {
        "claim_generator_info": [{"name": "Verity test camera", "version": "1.0"}],
        "title": signed.name,
        "assertions": [
            {
                "label": "c2pa.actions",
                "data": {"actions": actions or [{"action": "c2pa.created", "digitalSourceType": CAPTURE}]},
            }
        ],
    }
    context = c2pa.Context.from_dict({"builder": {"thumbnail": {"enabled": False}}})
    signer = c2pa.Signer.from_info(c2pa.C2paSignerInfo(c2pa.C2paSigningAlg.ES256, chain.chain_pem, chain.key_pem, None))
    with c2pa.Builder(manifest, context=context) as builder:
        if remote_url is not None:
            builder.set_no_embed()
            builder.set_remote_url(remote_url)
        if ingredient is not None:
            with ingredient.open("rb") as parent:
                ingredient_definition = {"title": ingredient.name, "relationship": "parentOf", "label": PARENT}
                builder.add_ingredient(ingredient_definition, "video/mp4", parent)
        with source.open("rb") as original, signed.open("w+b") as out:
            builder.sign(signer, "video/mp4", original, out)
    return signed


def with_large_box(source: Path, dest: Path, megabytes: int) -> Path:
    """`source` followed by a top-level box of `megabytes` MiB (of a type no reader knows, so the
    file still plays): what a signed long recording's media data is to the reader's memory."""
    size = megabytes * 1024 * 1024
    pattern = bytes(range(256)) * 4096  # 1 MiB
    with dest.open("wb") as out:
        out.write(source.read_bytes())
        out.write(struct.pack(">I4s", size + 8, b"vrty"))
        for _ in range(megabytes):
            out.write(pattern)
    return dest


def top_level_boxes(data: bytes) -> dict[str, tuple[int, int]]:
    """The ISO-BMFF top-level boxes of `data`: type → (offset, size), the first of each type."""
    boxes: dict[str, tuple[int, int]] = {}
    offset = 0
    while offset + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[offset : offset + 8])
        if size == 1:
            size = struct.unpack(">Q", data[offset + 8 : offset + 16])[0]
        boxes.setdefault(kind.decode("latin-1"), (offset, size))
        offset += size or len(data)
    return boxes


def flip_byte(data: bytes, box: str, at: float = 0.5) -> bytes:
    """`data` with one byte inverted `at` (a fraction) of the way into the top-level box `box`."""
    offset, size = top_level_boxes(data)[box]
    damaged = bytearray(data)
    damaged[offset + int(size * at)] ^= 0xFF
    return bytes(damaged)


def garble_manifest(data: bytes) -> bytes:
    """`data` with its C2PA box still in place (a `uuid` box of C2PA's user type) but its manifest
    store zeroed: there is something to read, and nothing readable in it."""
    offset, size = top_level_boxes(data)["uuid"]
    assert data[offset + 8 : offset + 24] == C2PA_UUID, "the first uuid box is not C2PA's"
    return data[: offset + 24] + bytes(size - 24) + data[offset + size :]


def validation_state(data: bytes) -> str | None:
    """The state c2pa-python itself gives `data`: a check that a test's damage did what it meant."""
    with c2pa.Reader("video/mp4", io.BytesIO(data)) as reader:
        state = reader.get_validation_state()
    return str(state) if state is not None else None

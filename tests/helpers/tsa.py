"""A throw-away RFC 3161 time-stamping authority made with openssl: a CA, a TSA certificate
(critical extended key usage timeStamping) signed by it, and `openssl ts -reply` answering a
query for a SHA-256 digest. The response (DER) and the certificates (PEM) are what an export
carries; `merkle` builds the anchor's root and inclusion proofs as the export layout defines them."""

from __future__ import annotations

import hashlib
import subprocess
from dataclasses import dataclass
from pathlib import Path

TS_CONFIG = """[ tsa ]
default_tsa = test_tsa
[ test_tsa ]
dir = {dir}
serial = $dir/serial
crypto_device = builtin
signer_digest = sha256
default_policy = 1.2.3.4.1
digests = sha256
accuracy = secs:1
ordering = no
tsa_name = no
ess_cert_id_chain = no
ess_cert_id_alg = sha256
"""


def _openssl(*args: str, cwd: Path) -> None:
    done = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, f"openssl {' '.join(args)}: {done.stderr}"


@dataclass(frozen=True)
class LocalTsa:
    folder: Path

    @classmethod
    def make(cls, folder: Path) -> LocalTsa:
        folder.mkdir(parents=True, exist_ok=True)
        ec = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")
        _openssl(
            "req",
            "-x509",
            *ec,
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=Test CA",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign",
            cwd=folder,
        )
        _openssl("req", *ec, "-keyout", "tsa.key", "-out", "tsa.csr", "-subj", "/CN=Test TSA", cwd=folder)
        (folder / "tsa.ext").write_text(
            "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=critical,timeStamping\n"
        )
        _openssl(
            "x509",
            "-req",
            "-in",
            "tsa.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "tsa.pem",
            "-days",
            "2",
            "-extfile",
            "tsa.ext",
            cwd=folder,
        )
        (folder / "serial").write_text("01\n")
        (folder / "ts.cnf").write_text(TS_CONFIG.format(dir=folder))
        return cls(folder)

    @property
    def certs_pem(self) -> bytes:
        """The TSA's certificate and its CA's, as an export includes them."""
        return (self.folder / "tsa.pem").read_bytes() + (self.folder / "ca.pem").read_bytes()

    def stamp(self, digest: str) -> bytes:
        """The TSA's response (DER) over a SHA-256 digest given in hex."""
        query, reply = self.folder / f"{digest}.tsq", self.folder / f"{digest}.tsr"
        _openssl(
            "ts", "-query", "-digest", digest, "-sha256", "-cert", "-no_nonce", "-out", str(query), cwd=self.folder
        )
        _openssl(
            "ts",
            "-reply",
            "-config",
            "ts.cnf",
            "-queryfile",
            str(query),
            "-signer",
            "tsa.pem",
            "-inkey",
            "tsa.key",
            "-out",
            str(reply),
            cwd=self.folder,
        )
        return reply.read_bytes()


def leaf(kind: str, chain_id: str, length: int, head_hash: str) -> bytes:
    return hashlib.sha256(b"\x00" + f"{kind}\n{chain_id}\n{length}\n{head_hash}".encode()).digest()


def merkle(leaves: list[bytes]) -> tuple[bytes, list[list[dict[str, str]]]]:
    """The root over `leaves` and each leaf's proof (siblings from the leaf up; an odd node is
    promoted unchanged)."""
    proofs: list[list[dict[str, str]]] = [[] for _ in leaves]
    positions = list(range(len(leaves)))
    level = list(leaves)
    while len(level) > 1:
        for number, position in enumerate(positions):
            sibling = position ^ 1
            if sibling < len(level):
                proofs[number].append({"side": "left" if sibling < position else "right", "hash": level[sibling].hex()})
            positions[number] = position // 2
        level = [
            hashlib.sha256(b"\x01" + level[i] + level[i + 1]).digest() if i + 1 < len(level) else level[i]
            for i in range(0, len(level), 2)
        ]
    return level[0], proofs

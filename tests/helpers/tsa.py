"""A real time-stamping authority on loopback: a throw-away root CA and TSA certificate (critical
extendedKeyUsage timeStamping) made with the openssl CLI, and `openssl ts -reply` behind a small
threaded HTTP server answering `application/timestamp-query` POSTs.

The TSA embeds only its own certificate (no `certs =` in its config): with `certs` the chain
comes out in an order rfc3161-client refuses. `mode` makes it misbehave on purpose: "down" drops
each connection unanswered, "garbage" answers 200 with bytes that are no time-stamp response."""

from __future__ import annotations

import subprocess
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Literal

from storage.archive import Archive
from verity.settings import Settings

Mode = Literal["ok", "down", "garbage"]

TSA_CONFIG = """\
[ tsa ]
default_tsa = verity_test_tsa

[ verity_test_tsa ]
dir = {folder}
serial = $dir/serial
crypto_device = builtin
signer_cert = $dir/tsa.pem
signer_key = $dir/tsa.key
signer_digest = sha256
default_policy = 1.3.6.1.4.1.99999.1
other_policies = 1.3.6.1.4.1.99999.2
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = no
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
"""


def _openssl(*args: str, cwd: Path) -> None:
    done = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(args)} failed: {done.stderr}")


@dataclass(frozen=True)
class TsaCertificates:
    folder: Path
    ca_pem: Path  # the root: what VERITY_TIMESTAMP_CA_FILE names
    tsa_pem: Path
    config: Path


def make_tsa_certificates(folder: Path) -> TsaCertificates:
    """A root CA and a TSA certificate it issued, valid for two days, and the `openssl ts` config."""
    folder.mkdir(parents=True, exist_ok=True)
    _openssl(
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
        "-subj", "/CN=Verity Test Root CA",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        cwd=folder,
    )  # fmt: skip
    _openssl(
        "req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", "tsa.key", "-out", "tsa.csr",
        "-subj", "/CN=Verity Test TSA",
        cwd=folder,
    )  # fmt: skip
    (folder / "tsa.ext").write_text(
        "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,nonRepudiation\n"
        "extendedKeyUsage=critical,timeStamping\n"
    )
    _openssl(
        "x509", "-req", "-in", "tsa.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-set_serial", "2", "-days", "2",
        "-extfile", "tsa.ext", "-out", "tsa.pem",
        cwd=folder,
    )  # fmt: skip
    (folder / "serial").write_text("01\n")
    config = folder / "tsa.cnf"
    config.write_text(TSA_CONFIG.format(folder=folder))
    return TsaCertificates(folder, folder / "ca.pem", folder / "tsa.pem", config)


class LoopbackTsa:
    """The server; `url` to post queries to, `requests` how many queries it has been sent."""

    def __init__(self, certificates: TsaCertificates) -> None:
        self.certificates = certificates
        self.mode: Mode = "ok"
        self.requests = 0
        self._lock = threading.Lock()  # openssl keeps the serial number in one file
        tsa = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                query = self.rfile.read(length)
                with tsa._lock:
                    tsa.requests += 1
                    mode = tsa.mode
                if mode == "down":
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                if self.headers.get("Content-Type") != "application/timestamp-query":
                    self.send_error(415)
                    return
                body = b"<html>not a time-stamp response</html>" if mode == "garbage" else tsa.reply(query)
                self.send_response(200)
                self.send_header("Content-Type", "application/timestamp-reply")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/tsr"
        self._thread = threading.Thread(target=self._server.serve_forever, name="loopback-tsa", daemon=True)

    def reply(self, query: bytes) -> bytes:
        """`openssl ts -reply` to one query."""
        with tempfile.TemporaryDirectory() as work, self._lock:
            query_file, reply_file = Path(work) / "query.tsq", Path(work) / "reply.tsr"
            query_file.write_bytes(query)
            _openssl(
                "ts", "-reply", "-config", str(self.certificates.config), "-queryfile", str(query_file),
                "-out", str(reply_file),
                cwd=self.certificates.folder,
            )  # fmt: skip
            return reply_file.read_bytes()

    def reset(self) -> None:
        with self._lock:
            self.mode, self.requests = "ok", 0

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@contextmanager
def running_tsa(folder: Path) -> Iterator[LoopbackTsa]:
    tsa = LoopbackTsa(make_tsa_certificates(folder))
    tsa.start()
    try:
        yield tsa
    finally:
        tsa.stop()


def stamping(archive: Archive, tsa: LoopbackTsa, *urls: str, **settings: object) -> Archive:
    """`archive` with the loopback TSA configured (or `urls` in that order), and any other settings."""
    update = {
        "timestamp_urls": ",".join(urls or (tsa.url,)),
        "timestamp_ca_file": tsa.certificates.ca_pem,
        **settings,
    }
    archive.settings = Settings.model_validate({**archive.settings.model_dump(), **update})
    return archive


def openssl_verify(token: bytes, digest_hex: str, tsa: LoopbackTsa, folder: Path) -> subprocess.CompletedProcess[str]:
    """`openssl ts -verify` of a stored token for a hex digest, against the test root."""
    path = folder / f"{digest_hex[:16]}.tsr"
    path.write_bytes(token)
    command = [
        "openssl", "ts", "-verify", "-digest", digest_hex, "-in", str(path),
        "-CAfile", str(tsa.certificates.ca_pem), "-untrusted", str(tsa.certificates.tsa_pem),
    ]  # fmt: skip
    return subprocess.run(command, capture_output=True, text=True, timeout=60)

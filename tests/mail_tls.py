"""The throwaway TLS identity and free local ports the test mail servers use."""

from __future__ import annotations

import datetime as dt
import functools
import ipaddress
import socket
import ssl
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

HOST = "127.0.0.1"


@functools.cache
def throwaway_certificate() -> tuple[bytes, bytes]:
    """A self-signed certificate for 127.0.0.1 and localhost, and its key (PEM), made once per test process."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "eibm test mail server")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1)).not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(HOST)),
                                                    x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return certificate.public_bytes(serialization.Encoding.PEM), key_pem


def write_certificate(folder: Path) -> tuple[Path, Path]:
    """Write the throwaway certificate and key into *folder*; return (cert.pem, key.pem)."""
    certificate, key = throwaway_certificate()
    cafile, keyfile = folder / "cert.pem", folder / "key.pem"
    cafile.write_bytes(certificate)
    keyfile.write_bytes(key)
    keyfile.chmod(0o600)
    return cafile, keyfile


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def client_context(cafile: Path) -> ssl.SSLContext:
    """A client TLS context that trusts only the throwaway certificate, hostname checked."""
    return ssl.create_default_context(cafile=str(cafile))


def server_context(cafile: Path, keyfile: Path) -> ssl.SSLContext:
    """A server TLS context presenting the throwaway certificate."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cafile, keyfile)
    return context

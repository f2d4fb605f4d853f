"""Keys and certificates of the seal PKI. Private keys exist in clear only in memory, while signing."""

from datetime import datetime, timedelta

from cryptography import x509
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from django.conf import settings

KEY_SIZE = 2048


def _fernet() -> Fernet:
    return Fernet(settings.SEAL_MASTER_KEY)


def new_private_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=KEY_SIZE)


def encrypt_key(key: rsa.RSAPrivateKey) -> bytes:
    pkcs8 = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return _fernet().encrypt(pkcs8)


def decrypt_key(token: bytes) -> rsa.RSAPrivateKey:
    # We generated the key and Fernet's HMAC proves it is unchanged: skip the ~60 ms RSA consistency check.
    return serialization.load_der_private_key(
        _fernet().decrypt(bytes(token)), password=None, unsafe_skip_rsa_key_validation=True
    )


# X.520 caps CN and O at 64 (UTF-8 bytes, as cryptography checks it: ~21 Chinese characters).
UB_NAME = 64


def fit(text: str) -> str:
    """`text`, cut at a character boundary so its UTF-8 form fits UB_NAME bytes."""
    data = text.encode()[:UB_NAME]
    return data.decode("utf-8", errors="ignore")


def _name(common_name: str, organization: str) -> x509.Name:
    return x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, fit(organization)),
        x509.NameAttribute(NameOID.COMMON_NAME, fit(common_name)),
    ])


def ca_certificate(*, key, name: str, now: datetime, years: int = 20) -> x509.Certificate:
    subject = _name(name, name)
    return (
        x509.CertificateBuilder()
        .subject_name(subject).issuer_name(subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=365 * years))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=False, content_commitment=False, key_encipherment=False, data_encipherment=False,
            key_agreement=False, key_cert_sign=True, crl_sign=True, encipher_only=False, decipher_only=False,
        ), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )


def seal_certificate(*, key, seal_name: str, seal_code: str, department_name: str, credit_code: str, ca_cert: x509.Certificate,
                     ca_key, now: datetime, until: datetime) -> x509.Certificate:
    subject = x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, fit(department_name)),
        x509.NameAttribute(NameOID.ORGANIZATION_IDENTIFIER, credit_code),
        x509.NameAttribute(NameOID.COMMON_NAME, seal_name if seal_name == fit(seal_name) else fit(f"{seal_code}行政审批专用章")),
    ])
    return (
        x509.CertificateBuilder()
        .subject_name(subject).issuer_name(ca_cert.subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5)).not_valid_after(until)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=True, key_encipherment=False, data_encipherment=False,
            key_agreement=False, key_cert_sign=False, crl_sign=False, encipher_only=False, decipher_only=False,
        ), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_cert.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )


def certificate_pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def load_certificate(pem: str) -> x509.Certificate:
    return x509.load_pem_x509_certificate(pem.encode())

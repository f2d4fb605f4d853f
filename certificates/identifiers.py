"""The e-certificate identifier (证照标识) after GB/T 36904:

    1.2.156.3005.2.{type code}.{issuer credit code}.{serial}.{version:03d}.{check}

`1.2.156.3005.2` is the OID arc of national e-certificates; the check character is ISO 7064 MOD 37,36
over everything before it with the dots and hyphens removed, upper-cased. It catches any single changed
character and any swap of two neighbours, so a mistyped identifier is refused before the database is asked.

The serial of a new certificate is 12 random digits (`random_serial`), not a counter: the verification
page is public and shows the holder's name, so knowing one identifier must not give away the next one
(one in 10¹² guesses hits, against 120 look-ups a minute per client). Certificates issued before this
keep their 8-digit sequential serials; both forms verify.

    >>> certificate_identifier(type_code="FOOD-BIZ", issuer_credit_code="11220100MB1234567K", serial="00000001", version=1)
    '1.2.156.3005.2.FOOD-BIZ.11220100MB1234567K.00000001.001.Q'
"""

import re
import secrets

from stdnum.iso7064 import mod_37_36

PREFIX = "1.2.156.3005.2"
SERIAL_DIGITS = 12
MAX_VERSION = 999

_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_TYPE_CODE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z-]*$")
_SHAPE = re.compile(
    r"^" + re.escape(PREFIX) + r"\.(?P<type>[0-9A-Za-z][0-9A-Za-z-]*)\.(?P<issuer>[0-9A-Z]{18})"
    r"\.(?P<serial>[0-9]{1,12})\.(?P<version>[0-9]{3})\.(?P<check>[0-9A-Z])$"
)


def _compact(text: str) -> str:
    return text.replace(".", "").replace("-", "").upper()


def random_serial() -> str:
    """12 digits from the operating system's CSPRNG."""
    return f"{secrets.randbelow(10**SERIAL_DIGITS):0{SERIAL_DIGITS}d}"


def certificate_identifier(*, type_code: str, issuer_credit_code: str, serial: str, version: int) -> str:
    """Build the identifier; ValueError for parts that cannot appear in one (a dot in the type code, …)."""
    if not _TYPE_CODE.match(type_code or ""):
        raise ValueError(f"证照类型编码只能包含字母、数字和连字符：{type_code!r}")
    if not re.fullmatch(r"[0-9A-Z]{18}", issuer_credit_code or ""):
        raise ValueError(f"发证机关统一社会信用代码应为 18 位数字或大写字母：{issuer_credit_code!r}")
    if not re.fullmatch(r"[0-9]{1,12}", serial or ""):
        raise ValueError(f"流水号应为数字：{serial!r}")
    if not 1 <= version <= MAX_VERSION:
        raise ValueError(f"版本号应在 1 到 {MAX_VERSION} 之间：{version}")
    body = f"{PREFIX}.{type_code}.{issuer_credit_code}.{serial}.{version:03d}"
    return f"{body}.{mod_37_36.calc_check_digit(_compact(body), alphabet=_ALPHABET)}"


def identifier_is_valid(identifier: str) -> bool:
    """True when the identifier has the GB/T 36904 shape and its check character matches."""
    if not isinstance(identifier, str) or not _SHAPE.match(identifier):
        return False
    return mod_37_36.is_valid(_compact(identifier), alphabet=_ALPHABET)


def identifier_parts(text: str) -> dict | None:
    """The parts of an identifier typed in any letter case (its check character is over the upper-cased
    text, so case never changes its meaning), or None when it is not one."""
    if not isinstance(text, str):
        return None
    upper = text.strip().upper()
    match = _SHAPE.match(upper)
    if match is None or not mod_37_36.is_valid(_compact(upper), alphabet=_ALPHABET):
        return None
    return match.groupdict()


def looks_like_identifier(text: str) -> bool:
    """Begins like one (the national arc): what is typed is meant as an identifier, well formed or not."""
    return isinstance(text, str) and text.strip().startswith(PREFIX + ".")


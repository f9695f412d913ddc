"""Strict JSON: the one reader and the one canonical writer of the JSON the crypto core parses.

    loads        UTF-8 (no byte order mark), valid JSON, no duplicate member names, optionally
                 ASCII member names only; and, unless told otherwise, I-JSON (RFC 7493): numbers
                 only integers within ±(2^53 - 1) (no fraction, exponent, NaN or Infinity) and
                 no lone surrogates (also none written as \\u escapes).
    loads_object the same, I-JSON, for a document whose top level must be an object.
    canonical    RFC 8785 (JCS) for those values: sorted members, no whitespace, raw UTF-8.
    check_value  refuses, before a value is encoded, what loads would refuse or read differently.

Every refusal is a StrictJSONError (a ValueError). Its message, also its `reason`, is one of the
short constants below: it names the rule that was broken and never quotes the input, which may
be a secret or an attacker's text.
"""

from __future__ import annotations

import json
from typing import Any, Final, NoReturn, cast

__all__ = [
    "DUPLICATE_NAME",
    "LONE_SURROGATE",
    "MAX_SAFE_INTEGER",
    "NON_ASCII_NAME",
    "NOT_INTEGER",
    "NOT_JSON",
    "NOT_OBJECT",
    "NOT_STRING_NAME",
    "UNSAFE_INTEGER",
    "StrictJSONError",
    "canonical",
    "check_value",
    "loads",
    "loads_object",
]

MAX_SAFE_INTEGER: Final = 2**53 - 1  # I-JSON (RFC 7493 §2.2): every JSON parser reads it exactly

# The reasons: bytes that are no UTF-8 JSON at all (syntax, encoding, a lone surrogate, nesting
# too deep for the parser), then the rules that valid JSON can still break.
NOT_JSON: Final = "not UTF-8 JSON"
DUPLICATE_NAME: Final = "duplicate member name"
NON_ASCII_NAME: Final = "member names are ASCII"
NOT_INTEGER: Final = "only integers are allowed"
UNSAFE_INTEGER: Final = "integer beyond 2^53 - 1"
NOT_OBJECT: Final = "the top level is not an object"  # only loads_object's
# Only check_value's, for values built in code.
NOT_STRING_NAME: Final = "member names are strings"
LONE_SURROGATE: Final = "a string holds a lone surrogate"


class StrictJSONError(ValueError):
    """JSON refused by a rule of this module; the message is the reason, never the input."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def loads(data: bytes, *, ascii_names: bool = False, ijson: bool = True) -> object:
    """Parse `data` strictly, or raise StrictJSONError.

    ascii_names: member names must be ASCII too. ijson=False lets any JSON number (fractions,
    exponents, NaN, Infinity, integers of any size) and any string (lone surrogates) through,
    for a document people fill in; the encoding, the syntax and unique names still hold.
    """
    return _loads(data, ascii_names=ascii_names, ijson=ijson, object_only=False)


def loads_object(data: bytes, *, ascii_names: bool = False) -> dict[str, Any]:
    """`loads` (I-JSON) of a document whose top level must be an object (RFC 7493 §4.1).

    That is checked before the strings are: a top level that is no object is NOT_OBJECT even
    when it holds a lone surrogate.
    """
    return cast(
        "dict[str, Any]", _loads(data, ascii_names=ascii_names, ijson=True, object_only=True)
    )


def _loads(data: bytes, *, ascii_names: bool, ijson: bool, object_only: bool) -> object:
    def members(pairs: list[tuple[str, object]]) -> dict[str, object]:
        result = dict(pairs)
        if len(result) != len(pairs):
            raise StrictJSONError(DUPLICATE_NAME)
        if ascii_names and not all(name.isascii() for name in result):
            raise StrictJSONError(NON_ASCII_NAME)
        return result

    try:
        value = json.loads(
            data.decode("utf-8"),  # a byte order mark decodes to U+FEFF, which json refuses
            object_pairs_hook=members,
            parse_float=_refuse_number if ijson else None,
            parse_int=_safe_int if ijson else None,
            parse_constant=_refuse_number if ijson else None,
        )
        if object_only and not isinstance(value, dict):
            raise StrictJSONError(NOT_OBJECT)
        if ijson:
            canonical(value)  # a lone surrogate cannot be encoded: refused here
    except StrictJSONError:
        raise
    except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeError are ValueErrors
        raise StrictJSONError(NOT_JSON) from exc  # no detail from the parser: it may quote data
    return value


def canonical(value: object) -> bytes:
    """The one encoding of `value`: RFC 8785 (JCS) for what `loads` accepts with ASCII names.

    With integers only and ASCII member names, Python's sorted compact output with raw UTF-8 is
    exactly RFC 8785: the same escapes (\\" \\\\ \\b \\f \\n \\r \\t, other controls as \\u00xx in
    lower case) and the same member order (code points and UTF-16 units agree on ASCII). It
    checks nothing (see check_value): a lone surrogate raises UnicodeEncodeError, a ValueError.
    """
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def check_value(value: object, *, ascii_names: bool = False) -> None:
    """Refuse, before encoding, a value that `loads` would refuse or read back differently.

    StrictJSONError for an integer beyond ±(2^53 - 1), a lone surrogate or a member name that is
    no string (or, with ascii_names, no ASCII string); TypeError for what JSON does not hold
    here: anything but None, bool, int, str, list and dict (a float among them).
    """
    if value is None or isinstance(value, bool):
        return
    if isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            raise StrictJSONError(UNSAFE_INTEGER)
    elif isinstance(value, str):
        _check_string(value)
    elif isinstance(value, list):
        for item in value:
            check_value(item, ascii_names=ascii_names)
    elif isinstance(value, dict):
        for name, item in value.items():
            _check_name(name, ascii_names=ascii_names)
            check_value(item, ascii_names=ascii_names)
    else:
        raise TypeError(f"strict JSON holds no {type(value).__name__}")


def _check_name(name: object, *, ascii_names: bool) -> None:
    if not isinstance(name, str):
        raise StrictJSONError(NOT_STRING_NAME)
    if ascii_names and not name.isascii():
        raise StrictJSONError(NON_ASCII_NAME)
    _check_string(name)


def _check_string(text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # its message would quote the string
        raise StrictJSONError(LONE_SURROGATE) from None


def _refuse_number(_text: str) -> NoReturn:
    raise StrictJSONError(NOT_INTEGER)


def _safe_int(text: str) -> int:
    value = int(text)  # ValueError beyond Python's digit limit: not JSON, as for the parser
    if abs(value) > MAX_SAFE_INTEGER:
        raise StrictJSONError(UNSAFE_INTEGER)
    return value

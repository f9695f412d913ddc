"""The strict JSON reader and canonical writer that key files, records and manifests share."""

from __future__ import annotations

import pytest

from hub.crypto import strictjson
from hub.crypto.strictjson import StrictJSONError

SAFE = strictjson.MAX_SAFE_INTEGER


def _reason(data: bytes, **options: bool) -> str:
    with pytest.raises(StrictJSONError) as caught:
        strictjson.loads(data, **options)
    return caught.value.reason


def test_valid_json_parses():
    """A document within every rule reads as Python's json would read it."""
    assert strictjson.loads(b'{"a":[1,-2,true,null,"\\u00e5"],"b":{}}') == {
        "a": [1, -2, True, None, "å"],
        "b": {},
    }


@pytest.mark.parametrize(
    "data",
    [b'{"a":1,"a":1}', b'{"a":{"b":1,"b":2}}', b'[{"x":1,"x":2}]', b'{"\xc3\xa5":1,"\xc3\xa5":2}'],
)
def test_duplicate_member_names_are_refused(data: bytes):
    """A member name that repeats in any object is refused, however deep and whatever its value."""
    assert _reason(data) == strictjson.DUPLICATE_NAME


def test_duplicate_names_are_refused_even_when_numbers_are_free():
    """Unique names hold for the lenient document mode too."""
    assert _reason(b'{"a":1.5,"a":2.5}', ijson=False) == strictjson.DUPLICATE_NAME


@pytest.mark.parametrize(
    "number", [b"1.0", b"1e3", b"1E-2", b"-0.5", b"NaN", b"Infinity", b"-Infinity"]
)
def test_fractions_exponents_nan_and_infinity_are_refused(number: bytes):
    """Only integers are numbers in I-JSON as read here: no fraction, exponent, NaN or Infinity."""
    assert _reason(b'{"n":' + number + b"}") == strictjson.NOT_INTEGER


def test_integers_at_the_safe_limit_are_read_exactly():
    """±(2^53 - 1) are the largest integers accepted, and they read back exactly."""
    assert strictjson.loads(f"[{SAFE},{-SAFE}]".encode()) == [SAFE, -SAFE]


@pytest.mark.parametrize("number", [SAFE + 1, -(SAFE + 1), 10**30])
def test_integers_beyond_the_safe_limit_are_refused(number: int):
    """An integer a double cannot hold exactly is refused, not rounded."""
    assert _reason(f'{{"n":{number}}}'.encode()) == strictjson.UNSAFE_INTEGER


def test_numbers_are_free_when_ijson_is_off():
    """ijson=False reads fractions, NaN and large integers as Python does (a form people fill in)."""
    value = strictjson.loads(b'{"f":1.5,"n":NaN,"i":12345678901234567890}', ijson=False)
    assert isinstance(value, dict)
    assert value["f"] == 1.5
    assert value["n"] != value["n"]
    assert value["i"] == 12345678901234567890


@pytest.mark.parametrize(
    "data",
    [b"\xff", b'{"a":"\xc3"}', b'{"a":"\xed\xa0\x80"}', b"\xef\xbb\xbf{}", b"\xff\xfe{\x00}\x00"],
    ids=["invalid-byte", "truncated-sequence", "encoded-surrogate", "byte-order-mark", "utf-16"],
)
def test_bytes_that_are_not_utf8_json_are_refused(data: bytes):
    """Invalid UTF-8, a byte order mark or another encoding is no JSON here."""
    assert _reason(data) == strictjson.NOT_JSON
    assert _reason(data, ijson=False) == strictjson.NOT_JSON


@pytest.mark.parametrize("data", [b"", b"{", b"{}x", b"{'a':1}", b'{"a":01}', b"[1,]"])
def test_malformed_json_is_refused(data: bytes):
    """Text that is not JSON at all is refused with the one generic reason."""
    assert _reason(data) == strictjson.NOT_JSON


@pytest.mark.parametrize("data", [b'{"a":"\\ud800"}', b'["\\udc00"]', b'{"\\ud800":1}'])
def test_lone_surrogate_escapes_are_refused(data: bytes):
    """A lone surrogate written as a \\u escape is no Unicode text, so it is no strict JSON."""
    assert _reason(data) == strictjson.NOT_JSON


def test_paired_surrogate_escapes_are_one_character():
    """A surrogate pair written as two \\u escapes reads as the one character it encodes."""
    assert strictjson.loads(b'"\\ud83d\\ude00"') == "\U0001f600"


def test_deep_nesting_is_refused_as_not_json():
    """Nesting too deep for the parser is the same error, not a RecursionError."""
    assert _reason(b"[" * 100_000 + b"]" * 100_000) == strictjson.NOT_JSON


def test_non_ascii_names_are_refused_only_when_asked():
    """ascii_names refuses a non-ASCII member name; without it the name is read."""
    data = '{"å":1}'.encode()
    assert strictjson.loads(data) == {"å": 1}
    assert _reason(data, ascii_names=True) == strictjson.NON_ASCII_NAME
    assert strictjson.loads('{"a":"å"}'.encode(), ascii_names=True) == {"a": "å"}


def test_loads_object_refuses_another_top_level():
    """loads_object accepts only an object at the top, checked before the strings are."""
    assert strictjson.loads_object(b'{"a":1}') == {"a": 1}
    for data in (b"[]", b"1", b'"x"', b"null", b'["\\ud800"]'):
        with pytest.raises(StrictJSONError) as caught:
            strictjson.loads_object(data)
        assert caught.value.reason == strictjson.NOT_OBJECT


def test_error_message_never_quotes_the_input():
    """The message is the reason alone: no byte of a secret document reaches a log."""
    secret = "hemligt-värde"
    for data in (
        f'{{"{secret}":1,"{secret}":2}}'.encode(),
        f'{{"{secret}":1.5}}'.encode(),
        f'{{"a":"{secret}"'.encode(),
        f'"{secret}\\ud800"'.encode(),
        b'"\xff' + secret.encode() + b'"',
    ):
        with pytest.raises(StrictJSONError) as caught:
            strictjson.loads(data, ascii_names=True)
        assert secret not in str(caught.value)
        assert str(caught.value) == caught.value.reason


def test_error_is_a_value_error():
    """Callers that catch ValueError for bad input still catch every refusal."""
    assert issubclass(StrictJSONError, ValueError)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"b": 1, "a": [True, None, -5]}, b'{"a":[true,null,-5],"b":1}'),
        ({"z": {"y": "", "x": {}}, "a": []}, b'{"a":[],"z":{"x":{},"y":""}}'),
        ("\u00e5\U0001f600", '"\u00e5\U0001f600"'.encode()),
        ('"\\\b\f\n\r\t\x01\x1f\x7f/', b'"\\"\\\\\\b\\f\\n\\r\\t\\u0001\\u001f\x7f/"'),
        (SAFE, b"9007199254740991"),
    ],
    ids=["sorted-compact", "nested-sorting", "raw-utf8", "rfc8785-escapes", "largest-integer"],
)
def test_canonical_encoding_examples(value: object, expected: bytes):
    """The canonical form sorts members, drops whitespace, writes raw UTF-8 and RFC 8785 escapes."""
    assert strictjson.canonical(value) == expected


def test_canonical_form_reads_back_to_the_same_value():
    """Parsing the canonical bytes gives the value back, and encoding that gives the same bytes."""
    value = {"kind": "note", "n": -SAFE, "list": [{"b": "å", "a": None}]}
    encoded = strictjson.canonical(value)
    assert strictjson.loads(encoded, ascii_names=True) == value
    assert strictjson.canonical(strictjson.loads(encoded)) == encoded


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ({"n": SAFE + 1}, strictjson.UNSAFE_INTEGER),
        ([-(SAFE + 1)], strictjson.UNSAFE_INTEGER),
        ({"a": "\ud800"}, strictjson.LONE_SURROGATE),
        ({"å": 1}, strictjson.NON_ASCII_NAME),
        ({1: 1}, strictjson.NOT_STRING_NAME),
    ],
)
def test_check_value_refuses_what_a_reader_would_refuse(value: object, reason: str):
    """check_value refuses, before signing, a value that strict loads would refuse."""
    with pytest.raises(StrictJSONError) as caught:
        strictjson.check_value(value, ascii_names=True)
    assert caught.value.reason == reason


@pytest.mark.parametrize("value", [1.5, float("nan"), (1, 2), b"x", {"a": {1, 2}}])
def test_check_value_refuses_types_json_does_not_hold(value: object):
    """A float, tuple, bytes or set is a TypeError: strict JSON has no such value."""
    with pytest.raises(TypeError):
        strictjson.check_value(value)


def test_check_value_accepts_what_loads_reads():
    """Every value strict loads returns passes check_value unchanged."""
    value = strictjson.loads(b'{"a":[1,true,null,"x",{"b":-9007199254740991}]}')
    strictjson.check_value(value, ascii_names=True)
    strictjson.check_value({"å": 1})

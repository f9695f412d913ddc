"""The primitive layer: the few facts the rest of the design leans on."""

from hub.crypto import primitives as p


def test_hashlib_sha256_equals_libsodium_sha256():
    """The envelope digest computed incrementally equals libsodium's one-shot SHA-256."""
    data = bytes(range(256)) * 1000
    h = p.sha256()
    h.update(data[:1234])
    h.update(data[1234:])
    assert h.digest() == p.sha256_oneshot_libsodium(data)


def test_stream_with_chosen_header_decrypts_with_pull():
    """A stream pushed from a caller-chosen header is read back by a normal pull."""
    key, header = bytes(range(32)), bytes(24)
    enc = p.StreamEncryptor(key, header)
    out = bytearray(100)
    n = enc.push_into(out, b"hej", p.STREAM_TAG_FINAL)
    dec = p.StreamDecryptor(key, header)
    plain = bytearray(100)
    m, tag = dec.pull_into(plain, bytes(out[:n]))
    assert bytes(plain[:m]) == b"hej"
    assert tag == p.STREAM_TAG_FINAL


def test_low_order_x25519_public_key_is_refused():
    """A zero public key (low order) never yields a shared secret."""
    try:
        p.x25519_shared(bytes(range(32)), bytes(32))
    except p.AuthenticationFailed:
        return
    raise AssertionError("low-order key accepted")

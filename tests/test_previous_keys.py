"""The earlier keys a stolen-machine restore keeps in the key folder's tidigare/
(hub/localagent/previous_keys.py): opened with the passphrase that opened the current key; one
that does not open is left out and never keeps the inbox locked."""

from __future__ import annotations

import logging

from hub.crypto import keyfile
from hub.crypto.keys import PrivateIdentity
from hub.localagent.previous_keys import previous_key_path, read_previous_keys

PASSPHRASE = "korrekt häst batteri häftstift"
FAST = {"opslimit": 1, "memlimit": 8192}


def test_the_earlier_keys_that_open_are_read_and_one_that_does_not_is_left_out(tmp_path, caplog):
    assert read_previous_keys(tmp_path, PASSPHRASE) == ()  # no tidigare/: none
    opens, other = PrivateIdentity.generate(), PrivateIdentity.generate()
    for key, passphrase in ((opens, PASSPHRASE), (other, "en annan lösenfras")):
        path = previous_key_path(tmp_path, key.key_id)
        path.parent.mkdir(exist_ok=True)
        keyfile.write_keyfile(path, key, passphrase, **FAST)
    with caplog.at_level(logging.WARNING, logger="hub.localagent"):
        found = read_previous_keys(tmp_path, PASSPHRASE)
    assert [k.key_id for k in found] == [opens.key_id]
    assert "keyfile_wrong_passphrase" in caplog.text
    assert PASSPHRASE not in caplog.text

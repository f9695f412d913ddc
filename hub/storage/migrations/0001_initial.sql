-- The hub's first schema. Ids that are bytes are BLOBs, JSON is TEXT, times are integer Unix
-- seconds. Nothing here holds the plaintext of a case: envelopes are blobs on disk, rows carry
-- ids, kinds, sizes, times and municipality ids only.

CREATE TABLE networks (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    admin_public BLOB NOT NULL,
    settings     TEXT NOT NULL,            -- JSON object
    created_at   INTEGER NOT NULL
);

CREATE TABLE municipalities (
    network_id    TEXT NOT NULL REFERENCES networks (id),
    id            TEXT NOT NULL,
    name          TEXT NOT NULL,
    population    INTEGER NOT NULL,
    manager_email TEXT NOT NULL,
    template      TEXT NOT NULL,           -- JSON object: contact persons only
    PRIMARY KEY (network_id, id)
);

CREATE TABLE directory_records (
    network_id TEXT NOT NULL REFERENCES networks (id),
    serial     INTEGER NOT NULL,
    kind       TEXT NOT NULL CHECK (kind IN ('directory-entry', 'revocation')),
    key_id     BLOB NOT NULL,
    wire       TEXT NOT NULL,              -- JSON: the record exactly as signed
    PRIMARY KEY (network_id, serial)
);

CREATE TABLE invites (
    code_hash       BLOB PRIMARY KEY,
    network_id      TEXT NOT NULL REFERENCES networks (id),
    municipality_id TEXT NOT NULL,
    person          TEXT NOT NULL,
    role            TEXT NOT NULL,
    expires_at      INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    used_at         INTEGER                -- set once by take_invite; a used code never works again
);

CREATE TABLE enrolments (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    network_id      TEXT NOT NULL REFERENCES networks (id),
    municipality_id TEXT NOT NULL,
    person          TEXT NOT NULL,
    role            TEXT NOT NULL,
    public_identity TEXT NOT NULL,         -- JSON: PublicIdentity.to_json()
    key_id          BLOB NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected')),
    created_at      INTEGER NOT NULL
);
CREATE INDEX enrolments_by_status ON enrolments (network_id, status, id);

CREATE TABLE challenges (
    nonce      BLOB PRIMARY KEY,
    key_id     BLOB NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX challenges_by_expiry ON challenges (expires_at);

CREATE TABLE sessions (
    token_hash      BLOB PRIMARY KEY,      -- only the hash: a stolen database gives no token
    network_id      TEXT NOT NULL REFERENCES networks (id),
    key_id          BLOB NOT NULL,
    municipality_id TEXT NOT NULL,
    role            TEXT NOT NULL,
    expires_at      INTEGER NOT NULL
);
CREATE INDEX sessions_by_expiry ON sessions (expires_at);

-- seq is the listing cursor; AUTOINCREMENT so a seq is never handed out twice.
CREATE TABLE envelopes (
    seq                      INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id               BLOB NOT NULL UNIQUE,
    network_id               TEXT NOT NULL REFERENCES networks (id),
    case_id                  BLOB NOT NULL,
    kind                     INTEGER NOT NULL,
    sender_key_id            BLOB NOT NULL,
    sender_municipality      TEXT NOT NULL,
    recipient_municipalities TEXT NOT NULL,  -- JSON array of municipality ids, as given
    recipient_key_ids        TEXT NOT NULL,  -- JSON array of hex key ids, in header order
    size                     INTEGER NOT NULL,
    digest                   BLOB NOT NULL,
    created_at               INTEGER NOT NULL,
    received_at              INTEGER NOT NULL
);
CREATE INDEX envelopes_sent ON envelopes (network_id, sender_municipality, seq);

-- One row per receiving municipality (never the sender's own): the inbox listing's index.
CREATE TABLE envelope_recipients (
    network_id      TEXT NOT NULL,
    municipality_id TEXT NOT NULL,
    seq             INTEGER NOT NULL REFERENCES envelopes (seq) ON DELETE CASCADE,
    PRIMARY KEY (network_id, municipality_id, seq)
) WITHOUT ROWID;

CREATE TABLE receipts (
    id              INTEGER PRIMARY KEY,   -- arrival order
    message_id      BLOB NOT NULL REFERENCES envelopes (message_id),
    signer_key_id   BLOB NOT NULL,
    municipality_id TEXT NOT NULL,
    event           TEXT NOT NULL,
    time            INTEGER NOT NULL,
    wire            TEXT NOT NULL,         -- JSON: the receipt exactly as signed
    received_at     INTEGER NOT NULL,
    UNIQUE (message_id, signer_key_id, event)
);

-- Append-only and hash-chained (hub/storage/audit.py). The triggers stop the hub's own code
-- from changing history; someone with the file can drop them, which the chain then shows.
CREATE TABLE audit (
    seq       INTEGER PRIMARY KEY,
    at        INTEGER NOT NULL,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    subject   TEXT NOT NULL,               -- canonical JSON: ids and kinds only
    prev_hash BLOB NOT NULL,
    hash      BLOB NOT NULL
);
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;

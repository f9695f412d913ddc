-- Deadlines and notices (hub/protocol/notices.py, docs/notices.md). No case content: ids,
-- kinds, times, municipality ids and the e-mail addresses notices go to.

-- The alarms of every running deadline clock, replaced with the case's row in the same
-- transaction. The scheduler sleeps until the smallest fire_at: the index makes that one step.
CREATE TABLE deadline_alarms (
    case_id             BLOB NOT NULL,
    network_id          TEXT NOT NULL,
    sender_municipality TEXT NOT NULL,
    municipality        TEXT NOT NULL,     -- the asked municipality: the request's clock
    kind                TEXT NOT NULL,     -- hub.protocol.deadlines.DueKind
    stage               INTEGER NOT NULL,  -- hub.protocol.notices.Stage
    fire_at             INTEGER NOT NULL,
    due_at              INTEGER NOT NULL,
    PRIMARY KEY (case_id, municipality, kind, stage)
) WITHOUT ROWID;
CREATE INDEX deadline_alarms_by_time ON deadline_alarms (fire_at);

-- An alarm fires once, ever: its key is kept here when it fires (a few rows per case).
CREATE TABLE fired_alarms (
    key      TEXT PRIMARY KEY,
    fired_at INTEGER NOT NULL
) WITHOUT ROWID;

-- Where a municipality's contact persons get their notices; set by the county administrator.
CREATE TABLE contact_addresses (
    network_id      TEXT NOT NULL,
    municipality_id TEXT NOT NULL,
    person          TEXT NOT NULL,
    email           TEXT NOT NULL,
    PRIMARY KEY (network_id, municipality_id, person)
);

-- The outbox: one row per notice and address, written in the transaction that caused it.
-- key is the idempotency key: what caused the notice, and the address.
CREATE TABLE notices (
    id              INTEGER PRIMARY KEY,
    key             TEXT NOT NULL UNIQUE,
    cause           TEXT NOT NULL,         -- what cancels it: an alarm's clock, a delivery
    network_id      TEXT NOT NULL,
    municipality_id TEXT NOT NULL,
    audience        TEXT NOT NULL,         -- hub.protocol.notices.Audience
    address         TEXT NOT NULL,
    topic           TEXT NOT NULL,         -- hub.protocol.notices.Topic
    created_at      INTEGER NOT NULL,
    status          TEXT NOT NULL
        CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'unknown', 'cancelled')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    batch           TEXT,                  -- the e-mail it went in (its Message-ID)
    last_error      TEXT,                  -- the SMTP server's answer; never content
    finished_at     INTEGER
);
CREATE INDEX notices_due ON notices (status, next_attempt_at);
CREATE INDEX notices_by_cause ON notices (cause, status);

-- Cases: the lifecycle's state, as the pure module hub/protocol/lifecycle.py keeps it (states,
-- events, times, decline reason codes, moving dates). No case content: that lives in envelopes.

CREATE TABLE cases (
    case_id             BLOB PRIMARY KEY,
    network_id          TEXT NOT NULL REFERENCES networks (id),
    sender_municipality TEXT NOT NULL,
    data                TEXT NOT NULL,     -- JSON: hub.protocol.case_codec
    version             INTEGER NOT NULL,  -- optimistic concurrency: each update adds one
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL
);

CREATE INDEX cases_by_sender ON cases (network_id, sender_municipality);

-- One row per asked municipality: what listing by municipality and the deadline clock query.
CREATE TABLE case_requests (
    case_id      BLOB NOT NULL REFERENCES cases (case_id),
    municipality TEXT NOT NULL,
    state        TEXT NOT NULL,
    entered_at   INTEGER NOT NULL,
    PRIMARY KEY (case_id, municipality)
);

CREATE INDEX case_requests_by_municipality ON case_requests (municipality, state);

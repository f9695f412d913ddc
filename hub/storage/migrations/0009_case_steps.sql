-- Signed case steps (hub/crypto/steps.py; docs/protocol.md 5.12): every step a person took in a
-- case, as signed, in the order the hub took them. The hub relays them; agents replay them. A
-- request's chain cannot fork here: of two steps that name the same parent only the first is
-- stored (the first step of a chain names the empty parent, since NULLs would not collide).
CREATE TABLE case_steps (
    seq          INTEGER PRIMARY KEY,
    case_id      BLOB NOT NULL REFERENCES cases (case_id),
    municipality TEXT NOT NULL,  -- the request's, or the case's sender for a step on the case
    parent       BLOB NOT NULL,  -- the previous step's digest; x'' for a chain's first
    digest       BLOB NOT NULL UNIQUE,
    step         TEXT NOT NULL,  -- the signed record, {"record", "signature"}, as received
    received_at  INTEGER NOT NULL,
    UNIQUE (case_id, municipality, parent)
);
CREATE INDEX case_steps_by_case ON case_steps (case_id, seq);

-- PostgreSQL's variant of ../0002_cases.sql.
CREATE TABLE cases (
    case_id             BYTEA PRIMARY KEY,
    network_id          TEXT NOT NULL REFERENCES networks (id),
    sender_municipality TEXT NOT NULL,
    data                TEXT NOT NULL,
    version             BIGINT NOT NULL,
    created_at          BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL
);
CREATE INDEX cases_by_sender ON cases (network_id, sender_municipality);

CREATE TABLE case_requests (
    case_id      BYTEA NOT NULL REFERENCES cases (case_id),
    municipality TEXT NOT NULL,
    state        TEXT NOT NULL,
    entered_at   BIGINT NOT NULL,
    PRIMARY KEY (case_id, municipality)
);
CREATE INDEX case_requests_by_municipality ON case_requests (municipality, state);

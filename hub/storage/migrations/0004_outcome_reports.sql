-- The sending municipality's outcome report (hub/report/outcome.py, docs/api.md "Cases"): held
-- in clear by explicit design, so the coordinator's statistics can count it. Categories only:
-- the target group, moved or not, the receiving municipality's id or a not-moved reason. No
-- free text ever lands here. One report per case; filing again replaces it (the sender may
-- correct it), and each filing is in the audit log.
CREATE TABLE outcome_reports (
    case_id             BLOB PRIMARY KEY REFERENCES cases (case_id),
    network_id          TEXT NOT NULL,
    sender_municipality TEXT NOT NULL,
    report              TEXT NOT NULL,     -- OutcomeReport.to_json(), canonical JSON
    filed_at            INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX outcome_reports_by_network ON outcome_reports (network_id, filed_at);

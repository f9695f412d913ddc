-- PostgreSQL's variant of ../0007_enrolment_invites.sql.
ALTER TABLE enrolments ADD COLUMN code_hash BYTEA;
ALTER TABLE enrolments ADD COLUMN proof BYTEA;

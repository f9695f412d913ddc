-- PostgreSQL's variant of ../0005_envelope_bodies.sql: small envelopes with their row, and
-- every larger one in chunks in the database too (no files: one backup and one replication
-- cover everything, and every instance reaches every envelope).
CREATE TABLE envelope_bodies (
    seq  BIGINT PRIMARY KEY REFERENCES envelopes (seq) ON DELETE CASCADE,
    body BYTEA NOT NULL
);

-- A larger envelope is streamed into blob_chunks under a fresh blob id, each chunk in a short
-- transaction of its own, while blob_uploads marks it as staging. The envelope row's
-- transaction links it (envelope_blobs) and removes the staging mark: before that commit
-- nothing reaches the chunks. Staging left by a crash is swept (hub/storage/pg_blobs.py).
CREATE TABLE blob_uploads (
    blob_id    BYTEA PRIMARY KEY,
    started_at BIGINT NOT NULL             -- wall-clock seconds: the sweep's age
);
CREATE TABLE blob_chunks (
    blob_id BYTEA NOT NULL,
    n       INTEGER NOT NULL,
    data    BYTEA NOT NULL,
    PRIMARY KEY (blob_id, n)
);
-- Ciphertext does not compress: store the chunks out of line, uncompressed.
ALTER TABLE blob_chunks ALTER COLUMN data SET STORAGE EXTERNAL;
CREATE TABLE envelope_blobs (
    seq     BIGINT PRIMARY KEY REFERENCES envelopes (seq) ON DELETE CASCADE,
    blob_id BYTEA NOT NULL UNIQUE
);
-- An envelope's row removed (retention) takes its chunks with it: envelope_blobs goes by the
-- cascade, and this trigger removes the chunks it named.
CREATE FUNCTION envelope_blob_removed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM blob_chunks WHERE blob_id = OLD.blob_id;
    RETURN OLD;
END
$$;
CREATE TRIGGER envelope_blobs_take_chunks AFTER DELETE ON envelope_blobs
    FOR EACH ROW EXECUTE FUNCTION envelope_blob_removed();

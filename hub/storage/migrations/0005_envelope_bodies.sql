-- Small envelopes (at most hub/server/ingest.py's INLINE_BYTES) are stored in the database, in
-- the transaction of their row, instead of as files under blobs/: a group of uploads then
-- costs one fsync of the WAL (synchronous=FULL) instead of two fsyncs a file (the file and its
-- directory). Ciphertext only, as the files are. Larger envelopes stay files.
CREATE TABLE envelope_bodies (
    seq  INTEGER PRIMARY KEY REFERENCES envelopes (seq) ON DELETE CASCADE,
    body BLOB NOT NULL
);

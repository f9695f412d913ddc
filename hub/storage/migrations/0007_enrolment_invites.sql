-- Issue 12: the administrator's tools compare a pending enrolment with the invite they keep on
-- their own machine: the hub keeps which invite (its code's hash) the key was enrolled under and
-- the key's proof of possession over it, so the binding can be checked without the hub's word.
-- Enrolments made before this version have neither.
ALTER TABLE enrolments ADD COLUMN code_hash BLOB;
ALTER TABLE enrolments ADD COLUMN proof BLOB;

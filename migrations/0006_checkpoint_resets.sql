-- 0005_checkpoint_resets: counts the operator's `checkpoint reset`s of each
-- checkpoint.  A scan remembers the count it started with and moves the
-- checkpoint only if it is unchanged when the scan ends (compare-and-set in
-- the transaction that writes it), so a scan that was running during a
-- reset cannot write its own checkpoint over the operator's.
ALTER TABLE checkpoints ADD COLUMN resets INTEGER NOT NULL DEFAULT 0;

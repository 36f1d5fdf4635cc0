-- ins_lake__dead_letter: rejected records (the contract's, and events without an FX rate) into
-- the lake's dead letter.
INSERT INTO snk_lake__dead_letter
SELECT payload, reason, field, detail, received_at
FROM int_stream__dead_letters

-- int_stream__outcomes: every record with its outcome, for the accounting.
-- grain: one row per record (stage = its outcome: dead_letter, late, duplicate, forgotten,
--   control or on_time; an event without an FX rate at its time is a dead_letter)
-- event time: accounting_time (the event time for on-time records, the watermark met for the
--   others), so every record falls into a per-minute window that is still open
-- upstream: int_stream__records
-- Every record has exactly one outcome, so records_in = valid + dead_letter + duplicates +
-- late + forgotten + control holds in every minute. The same identity is counted live, as
-- Flink counters, by the clean stream (dev.ecomflow.stream.CountOutcomes).
CREATE TEMPORARY VIEW int_stream__outcomes AS
SELECT accounting_time, outcome AS stage, reason
FROM int_stream__records

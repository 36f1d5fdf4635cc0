-- src_reference__fx_rates: exchange rates to USD, a versioned table for event-time lookups.
-- grain: one row per (currency, valid_from); a rate holds until the currency's next row
-- file: CSV `currency,rate_to_usd,valid_from` with valid_from in UTC as 'yyyy-MM-dd HH:mm:ss';
--   lines starting with # are comments. A local file locally, an S3 object on AWS.
-- The file is read once at start; the source then finishes and stops holding the watermark back.
CREATE TABLE src_reference__fx_rates (
    currency STRING,
    rate_to_usd DECIMAL(18, 8),
    valid_from STRING,
    valid_from_time AS TO_TIMESTAMP_LTZ(UNIX_TIMESTAMP(valid_from, 'yyyy-MM-dd HH:mm:ss') * 1000, 3),
    PRIMARY KEY (currency) NOT ENFORCED,
    WATERMARK FOR valid_from_time AS valid_from_time
) WITH (
${FX_RATES_OPTIONS}
)

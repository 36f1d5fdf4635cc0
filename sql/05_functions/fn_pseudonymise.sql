-- pseudonymise(payload STRING, key STRING, spec STRING) -> STRING: the payload with personal
-- fields replaced (ids, IP addresses and e-mails by a keyed hash, postal codes cut to their
-- region, secrets stripped from URL query strings); NULL when not a JSON object. key is
-- Privacy.hash.key, spec is PrivacyRules.spec() (flink_jobs/privacy_rules.py); the exact rules
-- are ecomflow/privacy.py's. Java, in the uber-jar (src/main/java/dev/ecomflow/udf/Pseudonymise.java).
CREATE TEMPORARY SYSTEM FUNCTION IF NOT EXISTS pseudonymise
AS 'dev.ecomflow.udf.Pseudonymise' LANGUAGE JAVA

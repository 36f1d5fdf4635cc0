"""Python references for the job's Java functions; no Python function runs in the job.

Per record, the job runs JVM code only (the clean stream's head, `dev.ecomflow.stream`, and
Flink SQL): a Python function on that path would cost a worker round trip per record. What is
here is the plain-Python twin of what the head does, which tests hold the Java code to:

- ``contract_check.verdict``: the job's verdict on one raw record (the event contract,
  ``flink_jobs.contract``, as the producer SDK and the collector apply it);
- ``user_agent.classify``: device class, browser and OS of a user agent (the ua-parser
  library; the job uses uap-java over the same uap-core rules).

A Python UDF is still welcome where it runs per window or per key, not per record.
"""

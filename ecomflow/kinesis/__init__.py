"""Kinesis, on the client side: limits, partition keys, records, pacing, the PutRecords core
and the client; read back for checks. The Producer SDK (ecomflow/ingest/producer.py) and
replay are built on it."""

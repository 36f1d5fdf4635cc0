"""The local stack (kinesis-mock, moto S3, PostgreSQL on loopback) and the compose configuration."""

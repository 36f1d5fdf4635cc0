"""Benchmarks: throughput, latency and cost of the pipeline (`ecomflow bench`)."""

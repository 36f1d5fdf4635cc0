"""The cost arithmetic (figures come from a measured run; here only the rules are checked)."""

from __future__ import annotations

import pytest

from benchmarks.cost import HOURS_PER_MONTH, PRICES, estimate


def test_kpus_and_shards_round_up() -> None:
    e = estimate(10_000, events_per_s_per_core=4_000, avg_event_bytes=500)
    assert e.kpus == 3                 # 10,000 / 4,000 -> 2.5 -> 3
    assert e.shards == 10              # 1,000 records/s per shard
    assert estimate(100, 4_000, 500).kpus == 1 and estimate(100, 4_000, 500).shards == 1


def test_bytes_can_bind_before_records() -> None:
    assert estimate(1_000, 50_000, avg_event_bytes=3_000).shards == 3  # 3 MB/s over 1 MB/s


def test_monthly_bill_is_the_sum_of_its_parts() -> None:
    e = estimate(1_000, 2_000, 500)
    msf = ((1 + PRICES["msf_orchestration_kpus"]) * PRICES["msf_kpu_hour"] * HOURS_PER_MONTH
           + PRICES["msf_storage_gb_per_kpu"] * PRICES["msf_storage_gb_month"])
    puts = 1_000 * HOURS_PER_MONTH * 3600
    kinesis = PRICES["kds_shard_hour"] * HOURS_PER_MONTH + puts / 1e6 * PRICES[
        "kds_put_units_per_million"]
    assert e.msf_usd_month == pytest.approx(msf, abs=0.01)
    assert e.kinesis_usd_month == pytest.approx(kinesis, abs=0.01)
    assert e.total_usd_month == pytest.approx(msf + kinesis, abs=0.02)

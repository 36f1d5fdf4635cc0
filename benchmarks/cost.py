"""Cost on paper: KPUs, shards and a monthly bill from a measured events/s per core.

Public on-demand prices, us-east-1, as listed on AWS's pricing pages in 2025 (recorded here
from memory of those pages on 2026-11-29, without network access to re-check them: verify
before quoting). S3, Redshift and data transfer are left out: they depend on retention and
query load, not on the stream rate.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

PRICES = {
    "as_of": "2025 public price lists, us-east-1 (not re-checked on 2026-11-29)",
    "msf_kpu_hour": 0.11,           # Managed Service for Apache Flink, per KPU-hour
    "msf_orchestration_kpus": 1,    # one extra KPU per application
    "msf_storage_gb_month": 0.10,   # running application storage, 50 GB per KPU
    "msf_storage_gb_per_kpu": 50,
    "kds_shard_hour": 0.015,        # Kinesis Data Streams, provisioned shard-hour
    "kds_put_units_per_million": 0.014,  # PUT payload units (25 KB each)
}
HOURS_PER_MONTH = 730
SHARD_RECORDS_PER_S = 1000
SHARD_BYTES_PER_S = 1_000_000


@dataclass(frozen=True)
class Estimate:
    events_per_s: int
    kpus: int
    shards: int
    msf_usd_month: float
    kinesis_usd_month: float
    total_usd_month: float
    usd_per_million_events: float


def estimate(events_per_s: int, events_per_s_per_core: float, avg_event_bytes: float
             ) -> Estimate:
    kpus = max(1, math.ceil(events_per_s / events_per_s_per_core))
    shards = max(1, math.ceil(events_per_s / SHARD_RECORDS_PER_S),
                 math.ceil(events_per_s * avg_event_bytes / SHARD_BYTES_PER_S))
    msf = ((kpus + PRICES["msf_orchestration_kpus"]) * PRICES["msf_kpu_hour"] * HOURS_PER_MONTH
           + kpus * PRICES["msf_storage_gb_per_kpu"] * PRICES["msf_storage_gb_month"])
    puts_per_month = events_per_s * HOURS_PER_MONTH * 3600
    kinesis = (shards * PRICES["kds_shard_hour"] * HOURS_PER_MONTH
               + puts_per_month / 1e6 * PRICES["kds_put_units_per_million"])
    total = msf + kinesis
    return Estimate(events_per_s, kpus, shards, round(msf, 2), round(kinesis, 2),
                    round(total, 2), round(total / (puts_per_month / 1e6), 4))


def estimates(events_per_s_per_core: float, avg_event_bytes: float,
              rates: tuple[int, ...] = (100, 1000, 10_000)) -> list[dict]:
    return [asdict(estimate(rate, events_per_s_per_core, avg_event_bytes)) for rate in rates]

"""A real browser on `ecomflow dashboard` (tests/support/watch_dashboard.mjs, Debian's
Chromium through playwright-core): what the page showed, second by second, while a test ran."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ecomflow import paths

WATCHER = Path(__file__).with_name("watch_dashboard.mjs")


@dataclass
class PageWatch:
    """The samples the browser took (filled when the `watching` block ends)."""

    samples: list[dict[str, Any]] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    @property
    def last(self) -> dict[str, Any]:
        return self.samples[-1]


@contextmanager
def watching(url: str, folder: Path, screenshot: Path | None = None) -> Iterator[PageWatch]:
    """Open `url` in Chromium for the block's duration; then one more refresh is awaited and
    the samples are read."""
    node = shutil.which("node")
    assert node, "Node.js is missing (scripts/dev installs it)"
    assert (paths.REPO_ROOT / "clients" / "js" / "node_modules" / "playwright-core").is_dir(), \
        "clients/js/node_modules is missing: run `npm ci` in clients/js (scripts/dev does)"
    out = folder / "dashboard-samples.json"
    process = subprocess.Popen(
        [node, str(WATCHER), url, str(out), *([str(screenshot)] if screenshot else [])],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    watch = PageWatch()
    try:
        yield watch
    finally:
        out.with_name(out.name + ".stop").touch()
        try:
            stdout, stderr = process.communicate(timeout=90)
        except subprocess.TimeoutExpired:
            process.kill()
            stdout, stderr = process.communicate()
    assert process.returncode == 0, f"watch_dashboard.mjs failed:\n{stdout}\n{stderr[-3000:]}"
    result = json.loads(out.read_text())
    watch.samples, watch.failed = result["samples"], result["failed"]


def assert_page_shows_the_warehouse(page: PageWatch, dsn: str) -> None:
    """The page ended on the warehouse's own figures, and changed on its own while the job
    loaded them (the samples start before the first row arrives)."""
    import psycopg2

    assert page.failed == [], page.failed
    assert not page.last["error"], page.last["error"]
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute("SELECT COALESCE(SUM(records_in), 0), COALESCE(SUM(valid), 0), "
                    "COALESCE(SUM(dead_letter), 0), COALESCE(SUM(duplicates), 0), "
                    "COALESCE(SUM(late), 0) FROM pipeline_health")
        totals = dict(zip(("records_in", "valid", "dead_letter", "duplicates", "late"),
                          (int(v) for v in cur.fetchone()), strict=True))
        cur.execute("SELECT COUNT(DISTINCT reason) FROM dead_letter_counts_minute")
        reasons = int(cur.fetchone()[0])
        cur.execute("SELECT COUNT(*) FROM funnel_minute")
        funnel_minutes = int(cur.fetchone()[0])
    assert totals["records_in"] > 0, "the run loaded nothing to show"
    shown = {term: page.last["kpis"][term] for term in totals}
    assert shown == {term: f"{value:,}" for term, value in totals.items()}
    assert page.last["balance"] == "· balanced"
    drawn = page.last["drawn"]
    assert drawn["chart-dead-letters"]["points"] == str(reasons) and \
        drawn["chart-dead-letters"]["plotted"]
    # Three steps and the conversion rate, one point per minute each.
    assert drawn["chart-funnel-minute"]["points"] == str(4 * funnel_minutes)
    # It updated by itself: the figure went from what an empty warehouse shows to the total.
    seen = [sample["kpis"]["records_in"] for sample in page.samples]
    assert seen[0] != seen[-1] and page.last["updates"] > 1, seen

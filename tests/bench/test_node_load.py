"""The load benchmark's own arithmetic (the benchmark itself is run by hand: bench/README.md)."""

from __future__ import annotations

import argparse

import pytest

from bench.node_load import Recorder, percentile, think_range


def test_percentile_is_nearest_rank() -> None:
    ms = [float(i) for i in range(1, 101)]  # 1..100
    assert percentile(ms, 50) == 50
    assert percentile(ms, 99) == 99
    assert percentile(ms, 100) == 100
    assert percentile([7.0], 99) == 7


def test_recorder_counts_only_requests_started_in_the_window() -> None:
    rec = Recorder(start=10.0, end=20.0)
    rec.add("filing.create", 9.9, 0.5, None)  # warm-up
    rec.add("filing.create", 10.0, 0.010, None)
    rec.add("filing.create", 19.9, 0.030, None)  # ends after the window: still counted
    rec.add("filing.create", 15.0, 0.020, "500 boom")
    rec.add("filing.create", 20.0, 0.010, None)  # after
    [row] = rec.table(seconds=10)
    assert row["count"] == 3
    assert row["errors"] == 1
    assert row["rps"] == pytest.approx(0.3)
    assert row["p50_ms"] == pytest.approx(10)
    assert row["max_ms"] == pytest.approx(30)
    assert rec.error_samples["filing.create"] == ["500 boom"]


def test_think_range() -> None:
    assert think_range("50") == (0.0, 50.0)
    assert think_range("1000-5000") == (1000.0, 5000.0)
    with pytest.raises(argparse.ArgumentTypeError):
        think_range("50-10")

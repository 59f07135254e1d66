"""The load report's server view: histogram quantiles as PromQL computes them, over a window of two scrapes."""

from __future__ import annotations

from bench.server_metrics import quantiles, window


def _bucket(le: str, value: float, command: str = "ping") -> tuple[tuple[str, frozenset[tuple[str, str]]], float]:
    return ("delete_command_duration_seconds_bucket", frozenset({("le", le), ("command", command)})), value


def test_quantiles_interpolate_inside_the_bucket_and_the_window_drops_what_came_before() -> None:
    """100 observations: 50 under 1 ms, 100 under 5 ms -> p50 = 1 ms, p99 = 1 + 4 x 49/50 ms (linear)."""
    before = dict([_bucket("0.001", 10), _bucket("0.005", 10), _bucket("+Inf", 10)])
    after = dict([_bucket("0.001", 60), _bucket("0.005", 110), _bucket("+Inf", 110)])
    view = quantiles(window(before, after), "delete_command_duration_seconds", "command")
    assert view == {"ping": {"p50": 1.0, "p99": 4.92, "count": 100}}


def test_observations_past_the_last_bound_report_that_bound_and_empty_series_are_left_out() -> None:
    """As histogram_quantile: a rank in the +Inf bucket gives the highest finite bound; no count, no row."""
    samples = dict([_bucket("0.001", 0), _bucket("0.005", 1), _bucket("+Inf", 10),
                    _bucket("0.001", 0, "idle"), _bucket("0.005", 0, "idle"), _bucket("+Inf", 0, "idle")])
    view = quantiles(samples, "delete_command_duration_seconds", "command")
    assert view == {"ping": {"p50": 5.0, "p99": 5.0, "count": 10}}

"""The load benchmark's server CPU per command (``bench/load_figures.py``): pure figures, no run."""

from __future__ import annotations

from bench import load_figures as figures


def test_cpu_per_command_divides_both_nodes_cpu_in_the_window_by_the_commands_answered() -> None:
    """Only the node processes count (not the generator, PostgreSQL or Redis), each from its window's start."""
    before = {"node_a": {10: 5.0}, "node_b": {11: 7.0}, "bench": {1: 1.0}, "machine": {0: 100.0}}
    after = {"node_a": {10: 6.5}, "node_b": {11: 8.0}, "bench": {1: 9.0}, "machine": {0: 200.0}}
    figure = figures.cpu_per_command(before, after, ["node_a", "node_b"], 1000)
    assert figure == {"node_cpu_s": {"node_a": 1.5, "node_b": 1.0}, "commands": 1000, "ms": 2.5}
    line = figures.cpu_per_command_line(figure)
    assert line.startswith("server CPU per command: 2.50 ms (target \u2264 1.4 ms: missed)")
    met = figures.cpu_per_command_line(figures.cpu_per_command(before, after, ["node_a"], 2000))
    assert "0.75 ms (target \u2264 1.4 ms: met)" in met


def test_cpu_per_command_without_commands_has_no_figure_and_the_target_is_not_judged() -> None:
    """A window in which no command was answered gives no figure, never a division by zero or a verdict."""
    figure = figures.cpu_per_command({"node_a": {10: 1.0}}, {"node_a": {10: 2.0}}, ["node_a"], 0)
    assert figure["ms"] is None
    assert "server CPU per command: - ms (target \u2264 1.4 ms: -)" in figures.cpu_per_command_line(figure)


def test_a_node_restarted_in_the_window_counts_only_its_process_seen_at_both_ends() -> None:
    """A process that was not there at the window's start (a restarted node) adds nothing rather than its
    whole lifetime's CPU."""
    figure = figures.cpu_per_command({"node_a": {10: 4.0}}, {"node_a": {10: 5.0, 12: 30.0}}, ["node_a"], 100)
    assert figure["node_cpu_s"] == {"node_a": 1.0} and figure["ms"] == 10.0

"""The live chart's data path, through its Python state: what reaches the browser, how much.

The browser draws (tests/test_browser.py checks that it does, mid-run); here we check the
kernel side: the pump hands the chart only new events, the chart sends only new points,
memory stays bounded on long runs with the newest points exact, a view that joins late
gets everything, and a finished run lands in the synced snapshot.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

from widgets.live.live_chart import LiveChart, SeriesBuffer
from widgets.live.pump import RunPump
from widgets.live.training_chart import ChartFeed, epoch_markers, overlay_chart, training_chart
from widgets.panels.curves_panel import LossCurvesPanel


def recording(chart: LiveChart) -> list[dict[str, Any]]:
    """Messages the chart sends to the browser, in order."""
    sent: list[dict[str, Any]] = []
    chart.send = lambda content, buffers=None: sent.append(json.loads(json.dumps(content)))
    return sent


def step(i: int, loss: float | str = 1.0) -> dict[str, Any]:
    return {"type": "step", "step": i, "epoch": i / 10, "loss": loss, "lr": 1e-3,
            "grad_norm": 0.5, "time": float(i)}  # fmt: skip


def test_each_step_sends_only_its_own_points() -> None:
    chart = training_chart(max_points=2000)
    sent = recording(chart)
    feed = ChartFeed(chart)
    feed.feed([{"type": "setup", "total_steps": 30, "steps_per_epoch": 10, "time": 0.0}])
    for i in range(1, 31):
        feed.feed([step(i, 1.0 / i)])
    appends = [m for m in sent if m["type"] == "append"]
    assert appends[0]["x_max"] == 30 and [m["x"] for m in appends[0]["markers"]] == [10, 20]
    for i, msg in enumerate(appends[1:], start=1):
        assert msg["seq"] == appends[0]["seq"] + i  # the browser checks for gaps
        assert msg["points"]["loss"] == [[i], [1.0 / i]]  # one point, not the series so far
        assert "replace" not in msg
    assert chart.points("loss") == 30 and chart.points_sent == 30 * 3  # loss, lr, grad norm
    assert max(len(json.dumps(m)) for m in appends[1:]) < 200  # bytes per step


def test_ten_thousand_steps_stay_bounded_and_keep_the_newest_exact() -> None:
    chart = training_chart(max_points=2000)
    sent = recording(chart)
    feed = ChartFeed(chart)
    for i in range(1, 10_001):
        feed.feed([step(i, float(i))])
    buf = chart.buffer("loss")
    assert len(buf) <= 2000 and buf.count == 10_000 and buf.compactions > 0
    assert buf.xs[-1000:] == [float(i) for i in range(9001, 10_001)]  # recent: exact
    assert buf.ys == buf.xs  # y = x survives averaging: old points are faithful means
    assert buf.xs == sorted(buf.xs)
    replaced = [m for m in sent if "replace" in m]
    assert replaced and all(len(m["replace"]["loss"][0]) <= 2000 for m in replaced)
    # what the browser holds after applying every message = what the kernel holds
    mirror: dict[str, list[float]] = {"x": [], "y": []}
    for m in sent:
        if "loss" in m.get("replace", {}):
            mirror["x"], mirror["y"] = list(m["replace"]["loss"][0]), list(m["replace"]["loss"][1])
        elif "loss" in m.get("points", {}):
            mirror["x"] += m["points"]["loss"][0]
            mirror["y"] += m["points"]["loss"][1]
    assert mirror["x"] == buf.xs and mirror["y"] == buf.ys


def test_series_buffer_bound_holds_for_any_tail() -> None:
    for max_points, tail in [(4, 1), (10, 5), (100, 99), (2000, 1000)]:
        buf = SeriesBuffer(max_points, tail)
        for i in range(5000):
            buf.add(i, 1.0)
            assert len(buf) <= max_points
        assert buf.xs[-1] == 4999.0


def test_a_view_that_joins_late_gets_the_whole_series() -> None:
    chart = training_chart()
    sent = recording(chart)
    feed = ChartFeed(chart)
    feed.feed([step(i) for i in range(1, 11)])
    chart._on_front_end(chart, {"type": "hello", "seq": 0}, [])
    reset = sent[-1]
    assert reset["type"] == "reset" and reset["seq"] == sent[-2]["seq"]
    assert reset["data"]["loss"][0] == list(range(1, 11))


def test_non_finite_losses_and_restarts() -> None:
    chart = training_chart()
    feed = ChartFeed(chart)
    feed.feed([step(1), step(2, "nan"), step(3)])
    assert chart.buffer("loss").xs == [1.0, 3.0]  # the error event explains the NaN
    feed.feed([{"type": "retry", "time": 4.0}, step(1)])  # out of memory: from step 0 again
    assert chart.buffer("loss").xs == [1.0] and chart.points("loss") == 1


def test_epoch_markers_only_inside_the_run() -> None:
    assert [m["x"] for m in epoch_markers({"total_steps": 30, "steps_per_epoch": 10})] == [10, 20]
    assert epoch_markers({"total_steps": 10, "steps_per_epoch": 10}) == []
    many = [m["x"] for m in epoch_markers({"total_steps": 240, "steps_per_epoch": 8})]
    assert many == [24 * k for k in range(1, 10)]  # 29 boundaries: every 3rd, ≤ 10 lines


class FakeHandle:
    """Enough of a RunHandle for the pump: a growing history and a status."""

    def __init__(self) -> None:
        self.history: list[dict[str, Any]] = []
        self.status = "running"
        self.done = False
        self.summary: dict[str, Any] | None = None
        self.config = None


def test_the_pump_hands_the_panel_only_new_events_and_flushes_at_the_end() -> None:
    handle = FakeHandle()
    handle.history.append({"type": "setup", "total_steps": 40, "steps_per_epoch": 20, "time": 0})
    handle.history += [step(i) for i in range(1, 6)]  # before the panel follows: replayed
    pump = RunPump(handle, [], interval=0.02).start()  # type: ignore[arg-type]
    time.sleep(0.1)
    panel = LossCurvesPanel()
    sent = recording(panel.chart)
    panel.follow(pump)
    writers: set[str] = set()
    panel.chart.observe(lambda _: writers.add(threading.current_thread().name))
    for i in range(6, 41):
        handle.history.append(step(i))
        time.sleep(0.005)
    deadline = time.monotonic() + 10
    while panel.chart.points("loss") < 40 and time.monotonic() < deadline:
        time.sleep(0.02)
    handle.history.append({"type": "end", "status": "completed", "summary": {}, "time": 41.0})
    handle.status, handle.done = "completed", True
    pump.thread.join(5)
    assert not pump.alive and pump.errors == []
    assert panel.curve_points() == 40
    loss_points = [x for m in sent for x in m.get("points", {}).get("loss", [[]])[0]]
    assert loss_points == list(range(1, 41))  # each step sent once, in order
    assert len([m for m in sent if m["type"] == "append"]) > 2  # in several ticks, live
    assert panel.chart.data["loss"][0] == list(range(1, 41))  # flushed at the end
    assert writers == {"workbench-pump"}, writers  # one writer, and it did write


def test_overlay_puts_each_run_in_its_own_colour() -> None:
    runs = {
        name: [step(i, lr * i) for i in range(1, 21)]
        + [{"type": "eval", "step": 20, "val_loss": 0.5, "val_macro_f1": 0.7, "time": 21.0}]
        for name, lr in [("a", 1.0), ("b", 2.0)]
    }
    chart = overlay_chart(runs)
    colors = {s["label"]: s["color"] for s in chart.series}
    assert colors["a train"] != colors["b train"] and colors["a val"] == colors["a train"]
    assert chart.data["r1_loss"][1][:2] == [2.0, 4.0] and chart.data["r0_metric"] == [[20], [0.7]]
    assert chart.x_max == 20

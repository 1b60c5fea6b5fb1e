"""Experiments for lessons: run variants compared in one table, lesson configs, descriptions."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import toy_frame

from workbench import TrainConfig
from workbench.config import ConfigError
from workbench.errors import RunError
from workbench.experiments import (
    auto_eval_every,
    comparison_table,
    describe_config,
    lesson_config,
    memory_estimate,
    planned_steps,
    run_variants,
    variant_label,
)


def test_run_variants_trains_each_and_the_table_shows_what_differs(
    tiny_config: TrainConfig, tmp_path: Path
) -> None:
    base = tiny_config.replace(out=None, epochs=1.0, save_checkpoints=False)
    started: list[str] = []
    runs = run_variants(
        base,
        {"full": {}, "head only": {"method": "head-only"}},
        data=toy_frame(12),
        on_start=lambda label, cfg: started.append(f"{label}:{cfg.model.method}"),
    )
    assert started == ["full:full", "head only:head-only"]
    assert list(runs) == ["full", "head only"]
    assert all(r.status == "completed" for r in runs.values())
    rows = comparison_table(runs)
    assert [r["run"] for r in rows] == ["full", "head only"]
    assert [r["method"] for r in rows] == ["full", "head-only"]  # the setting that differs
    assert "lr" not in rows[0]  # ... and only those
    assert rows[1]["trainable_parameters"] < rows[0]["trainable_parameters"]
    assert all(0 <= r["test_macro_f1"] <= 1 for r in rows)
    assert memory_estimate(runs["full"]) is None  # a local folder: no catalog shape
    # Each run keeps its label (variant.json) and its class counts per split (the baseline).
    assert [variant_label(r.path) for r in runs.values()] == ["full", "head only"]
    balance = runs["full"].summary["balance"]
    assert set(balance) == {"train", "val", "test"} and sum(balance["val"].values()) > 0
    # The notebook view: overlay PNG + escaped table; labels are the caller's.
    from widgets.panels.compare import compare

    view = compare({"<b>full</b>": runs["full"], "head only": runs["head only"].path})
    assert view._repr_png_().startswith(b"\x89PNG")
    page = view._repr_html_()
    assert "&lt;b&gt;full&lt;/b&gt;" in page and "<b>full</b>" not in page
    assert [r["run"] for r in view.rows] == ["<b>full</b>", "head only"]
    with pytest.raises(ConfigError, match="lr must be in"):
        run_variants(base, {"bad": {"lr": 5.0}}, data=toy_frame(12))


def test_a_failing_variant_names_itself(tiny_config: TrainConfig) -> None:
    base = tiny_config.replace(out=None, epochs=1.0, text_column="nope")
    with pytest.raises(RunError, match="variant 'broken' failed.*nope"):
        run_variants(base, {"broken": {}}, data=toy_frame(12))


def test_lesson_config_gives_every_curve_about_six_validation_points() -> None:
    small = lesson_config()
    assert (small.data.max_train_samples, small.data.max_eval_samples) == (384, 200)
    assert planned_steps(small) == 48 and small.optim.eval_every == 8
    assert lesson_config(eval_every=0).optim.eval_every == 0  # the caller's choice wins
    assert lesson_config(batch_size=8).optim.eval_every == 16
    line = describe_config(lesson_config(method="lora", lr=4e-3))
    assert "lora at lr 0.004" in line and "48 steps" in line and "every 8 steps" in line
    assert "(the method's default)" in describe_config(small) and "\n" not in line
    assert auto_eval_every(small.replace(epochs=0.1)) == 1


def test_comparison_table_shows_settings_tried_blank_where_a_method_has_none() -> None:
    from workbench.runs import Run

    base = TrainConfig()
    runs = {
        "full": Run(Path("a"), base.replace(method="full", out="a"), {"test_macro_f1": 0.7}),
        "lora r=2": Run(Path("b"), base.replace(method="lora", lora_r=2, out="b"), {}),
        "lora r=16": Run(Path("c"), base.replace(method="lora", lora_r=16, out="c"), {}),
    }
    rows = {row["run"]: row for row in comparison_table(runs)}
    assert "out" not in rows["full"], "where a run was written is not a setting it tried"
    assert rows["full"]["lora_r"] == "—" and rows["full"]["method"] == "full"
    assert (rows["lora r=2"]["lora_r"], rows["lora r=16"]["lora_r"]) == (2, 16)

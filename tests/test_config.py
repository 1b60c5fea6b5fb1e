"""The config dataclasses: one declaration per setting, validated with fix-it messages."""

from __future__ import annotations

import pytest

from workbench.config import ConfigError, TrainConfig, all_fields
from workbench.methods import METHODS


def test_every_setting_has_help_and_a_valid_default() -> None:
    cfg = TrainConfig()
    for _, f, _ in all_fields():
        assert f.metadata.get("help"), f"{f.name} has no help text"
    assert cfg.to_dict()["optim"]["seed"] == 42


@pytest.mark.parametrize(
    ("field", "value", "needle"),
    [
        ("lr", 5.0, "lr must be in (0.0, 1.0]"),
        ("lr", 0.0, "lr must be in (0.0, 1.0]"),
        ("batch_size", 0, "batch_size must be in [1"),
        ("method", "prompt-tuning", "method must be one of full, head-only"),
        ("dropout", 1.5, "dropout must be in [0.0, 0.9]"),
        ("epochs", "three", "epochs must be a number"),
        ("strip_urls", "yes", "strip_urls must be true or false"),
        ("lr", float("nan"), "lr must be a finite number"),
    ],
)
def test_out_of_range_values_name_the_setting_and_the_range(field, value, needle) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError) as info:
        TrainConfig().replace(**{field: value})
    assert needle in str(info.value)


def test_yaml_round_trip_reruns_exactly(tmp_path) -> None:  # type: ignore[no-untyped-def]
    cfg = TrainConfig().replace(method="lora", lr=3e-4, lora_r=4, dropout=0.2)
    path = tmp_path / "config.yaml"
    cfg.save(path)
    assert TrainConfig.load(path) == cfg


def test_unknown_keys_and_misplaced_sections_are_rejected() -> None:
    with pytest.raises(ConfigError, match="unknown setting 'learning_rate'"):
        TrainConfig.from_dict({"learning_rate": 1e-3})
    with pytest.raises(ConfigError, match="belongs in section 'optim'"):
        TrainConfig.from_dict({"model": {"lr": 1e-3}})


def test_flat_and_nested_dicts_agree() -> None:
    flat = TrainConfig.from_dict({"lr": 1e-3, "method": "bitfit"})
    nested = TrainConfig.from_dict({"optim": {"lr": 1e-3}, "model": {"method": "bitfit"}})
    assert flat == nested


@pytest.mark.parametrize("method", list(METHODS))
def test_each_method_resolves_its_own_default_learning_rate(method: str) -> None:
    cfg = TrainConfig().replace(method=method).resolved()
    assert cfg.optim.lr == METHODS[method].default_lr
    # parameter-efficient methods and probes need a far higher rate than a full fine-tune
    if method in ("head-only", "bitfit", "lora", "ia3"):
        assert cfg.optim.lr >= 10 * METHODS["full"].default_lr


def test_fractions_must_leave_training_data() -> None:
    with pytest.raises(ConfigError, match="leave data to train on"):
        TrainConfig().replace(val_fraction=0.5, test_fraction=0.45)

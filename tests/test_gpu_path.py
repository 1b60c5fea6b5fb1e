"""The GPU path of the engine — precision, attention kernel, fused AdamW, torch.compile,
peak GPU memory — checked on the CPU: settings validate, resolve as they would on a GPU
(CUDA's presence and capability faked), and fp32 CPU training is unchanged by them.

The one test that needs a real GPU carries the ``gpu`` marker and skips without CUDA.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest
import torch

from workbench.config import ConfigError, TrainConfig
from workbench.training import session

RUN_NUMBER = itertools.count()


def fake_cuda(monkeypatch: pytest.MonkeyPatch, bf16: bool) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda including_emulation=True: bf16)


def test_new_settings_validate_with_a_fix_it_message() -> None:
    cfg = TrainConfig().replace(precision="bf16", attention="eager", compile=True)
    assert (cfg.optim.precision, cfg.optim.attention, cfg.optim.compile) == ("bf16", "eager", True)
    with pytest.raises(ConfigError, match="attention must be one of auto, sdpa, eager"):
        TrainConfig().replace(attention="flash")
    with pytest.raises(ConfigError, match="precision must be one of auto, fp32, bf16, fp16"):
        TrainConfig().replace(precision="int8")
    with pytest.raises(ConfigError, match="compile must be true or false"):
        TrainConfig().replace(compile="yes")


def test_auto_precision_is_bf16_on_a_capable_gpu_fp16_on_an_old_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake_cuda(monkeypatch, bf16=True)
    assert session.resolve_precision("auto", "auto") == "bf16"
    assert session.resolve_precision("cuda", "auto") == "bf16"
    assert session.resolve_precision("cpu", "auto") == "no"  # a GPU is there, CPU was asked
    assert session.resolve_precision("cuda", "fp32") == "no"
    fake_cuda(monkeypatch, bf16=False)  # e.g. a T4 or V100
    assert session.resolve_precision("auto", "auto") == "fp16"


def test_auto_precision_is_fp32_on_cpu_and_fp16_needs_a_gpu(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert session.resolve_precision("auto", "auto") == "no"
    assert session.resolve_precision("cpu", "bf16") == "bf16"  # CPU autocast, if asked for
    with pytest.raises(ConfigError, match="fp16 needs a CUDA GPU"):
        session.resolve_precision("auto", "fp16")


def test_adamw_is_fused_for_parameters_bound_for_a_gpu(tiny_bert_dir: str) -> None:
    from transformers import AutoModelForSequenceClassification

    model = AutoModelForSequenceClassification.from_pretrained(tiny_bert_dir)
    cfg = TrainConfig().replace(lr=1e-3)
    on_gpu = session.build_optimizer(model, cfg, torch.device("cuda", 0))
    assert on_gpu.defaults["fused"] is True
    on_cpu = session.build_optimizer(model, cfg, torch.device("cpu"))
    assert bool(on_cpu.defaults["fused"]) == ("cpu" in session.FUSED_ADAMW_DEVICES)
    # the same parameter groups either way: decay on matrices, none on biases/LayerNorm
    assert [g["weight_decay"] for g in on_gpu.param_groups] == [0.01, 0.0]
    assert [len(g["params"]) for g in on_gpu.param_groups] == [
        len(g["params"]) for g in on_cpu.param_groups
    ]


def run_steps(cfg: TrainConfig, data: Any, **changes: Any) -> tuple[dict[str, Any], list[float]]:
    import workbench

    out = f"{cfg.run.runs_dir}/run-{next(RUN_NUMBER)}"  # a fresh run directory each time
    handle = workbench.train(cfg.replace(epochs=0.5, out=out, **changes), data=data, block=True)
    assert handle.error is None, handle.error
    setup = next(e for e in handle.history if e["type"] == "setup")
    losses = [e["loss"] for e in handle.history if e["type"] == "step"]
    return setup, losses


def test_fp32_cpu_training_is_unchanged_by_auto_settings(
    tiny_config: TrainConfig, toy_data: Any
) -> None:
    setup, auto = run_steps(tiny_config, toy_data)
    assert setup["mixed_precision"] == "no"
    assert setup["attention"] == "sdpa"  # transformers' default for BERT
    assert setup["compiled"] is False
    _, explicit = run_steps(tiny_config, toy_data, precision="fp32", attention="sdpa")
    assert auto == explicit  # bit for bit: auto on CPU is plain fp32 SDPA


def test_attention_setting_reaches_the_model(tiny_config: TrainConfig, toy_data: Any) -> None:
    setup, eager = run_steps(tiny_config, toy_data, attention="eager")
    assert setup["attention"] == "eager"
    _, sdpa = run_steps(tiny_config, toy_data, attention="sdpa")
    # same maths, different kernels: equal up to float rounding, not bit for bit
    assert eager == pytest.approx(sdpa, rel=1e-4)


def test_step_events_carry_peak_gpu_memory_only_on_cuda(monkeypatch: pytest.MonkeyPatch) -> None:
    from workbench.training import memory

    assert set(memory.step_memory("cpu")) == {"memory_mb"}
    assert memory.peak_gpu_memory_mb("cpu") is None
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "memory_allocated", lambda device=None: 3 * 2**20)
    monkeypatch.setattr(torch.cuda, "max_memory_allocated", lambda device=None: 5 * 2**20)
    assert memory.step_memory("cuda:0") == {"memory_mb": 3.0, "peak_memory_mb": 5.0}
    assert memory.peak_gpu_memory_mb("cuda:0") == 5.0


@pytest.mark.slow
def test_compiled_model_trains_like_the_eager_one(tiny_config: TrainConfig, toy_data: Any) -> None:
    # No dropout: compiled code draws its dropout masks from its own RNG stream, which
    # would make the losses differ by the masks rather than by the compiled maths.
    no_dropout = {"dropout": 0.0, "attention_dropout": 0.0, "classifier_dropout": 0.0}
    setup, compiled = run_steps(tiny_config, toy_data, compile=True, **no_dropout)
    assert setup["compiled"] is True
    _, plain = run_steps(tiny_config, toy_data, **no_dropout)
    assert compiled == pytest.approx(plain, rel=1e-3)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_gpu_run_uses_bf16_fused_adamw_and_reports_peak_memory(
    tiny_config: TrainConfig, toy_data: Any
) -> None:
    import workbench

    handle = workbench.train(tiny_config.replace(device="cuda"), data=toy_data, block=True)
    assert handle.error is None, handle.error
    setup = next(e for e in handle.history if e["type"] == "setup")
    bf16 = torch.cuda.is_bf16_supported(including_emulation=False)
    assert setup["mixed_precision"] == ("bf16" if bf16 else "fp16")
    assert handle.session is not None
    inner = getattr(handle.session.optimizer, "optimizer", handle.session.optimizer)
    assert inner.defaults["fused"] is True
    steps = [e for e in handle.history if e["type"] == "step"]
    assert all(e["peak_memory_mb"] >= e["memory_mb"] > 0 for e in steps)
    assert handle.summary is not None and handle.summary["peak_gpu_memory_mb"] > 0

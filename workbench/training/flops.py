"""How much arithmetic a training step does, and what share of the hardware's peak that is.

Model FLOPs utilization (MFU) = useful training FLOPs per second / the device's peak dense
FLOP/s. "Useful" is defined here, once, so every benchmark arm is measured the same way:

**What is counted (per real, non-pad token).**

* Every non-embedding parameter acts as one multiply-add per token in the forward pass:
  **2 FLOPs per parameter per token** (the ``2·N`` of Kaplan et al. 2020). Embedding
  tables (word, position, token type) are lookups, not matmuls, and are left out; biases
  and LayerNorm weights are counted as if they were matmul weights (under 0.5 % of ``N``).
* Backward, for a parameter that has a *trainable* parameter at or before it in forward
  order, costs **2 more** (the gradient with respect to its input, which must flow back
  to the trainable one) and, if the parameter itself trains, **2 more** (the gradient with
  respect to the weight). So full fine-tuning is ``6·N`` per token; LoRA and IA3 (frozen
  base weights in every layer, adapters trainable) are ``4·N_frozen + 6·N_adapter``;
  BitFit (biases train everywhere) is ``≈ 4·N``; head-only is ``2·N_encoder + 6·N_head``
  (nothing below the head trains, so backward stops at the head); freezing the bottom k
  layers makes those layers ``2·N`` and the rest ``6·N``. Forward order is taken to be
  the parameters' registration order, which is the order of the layers in the encoders
  supported here.
* Attention scores and the weighted sum (``QKᵀ`` and ``A·V``) have no parameters: for one
  example of ``n`` real tokens they cost ``4·n²·d`` FLOPs per layer in the forward pass
  (``d`` = hidden size), and twice that again in backward when the gradient flows through
  the layer: **``12·n²·d`` per layer** when training it, ``4·n²·d`` when it is frozen with
  nothing trainable below it. ``n`` is the example's *real* length, so padding — or the
  cross-example attention a packed batch would compute without a block mask — is never
  counted as useful work.
* Not counted: softmax, GELU, LayerNorm, dropout, the loss, the optimizer update,
  gradient clipping, and recomputation (there is none in these runs).

Tokens are real tokens only, so a run that wastes compute on padding shows a lower MFU.

**Peak FLOP/s** comes from :data:`DEVICE_PEAKS`: NVIDIA's datasheet numbers for dense
(no 2:4 sparsity) tensor-core math in bf16/fp16, and plain fp32 (no TF32: torch keeps
``float32_matmul_precision="highest"`` unless told otherwise). A device not in the table
gets no MFU — a made-up peak would make the number meaningless — and neither does a CPU.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

# (name fragment, {precision: peak TFLOP/s dense}). First match wins, so the specific
# variants (H100 PCIe, H100 NVL) come before the generic "H100" (SXM).
DEVICE_PEAKS: tuple[tuple[str, dict[str, float]], ...] = (
    ("H100 PCIe", {"bf16": 756.0, "fp16": 756.0, "fp32": 51.0}),
    ("H100 NVL", {"bf16": 835.0, "fp16": 835.0, "fp32": 60.0}),
    ("H100", {"bf16": 989.0, "fp16": 989.0, "fp32": 67.0}),  # SXM5
    ("H200", {"bf16": 989.0, "fp16": 989.0, "fp32": 67.0}),  # GH200 too: same compute die
    ("A100", {"bf16": 312.0, "fp16": 312.0, "fp32": 19.5}),
    ("L40S", {"bf16": 362.0, "fp16": 362.0, "fp32": 91.6}),
    ("L4", {"bf16": 121.0, "fp16": 121.0, "fp32": 30.3}),
    ("A10", {"bf16": 125.0, "fp16": 125.0, "fp32": 31.2}),  # A10 and A10G
    ("V100", {"fp16": 125.0, "fp32": 15.7}),  # no bf16 tensor cores
    ("T4", {"fp16": 65.0, "fp32": 8.1}),
)

EMBEDDING = re.compile(r"(^|\.)(word|position|token_type)_embeddings\.|(^|\.)embed_tokens\.")
# peft keeps a frozen copy of a layer it trains (``modules_to_save``); only one of them runs.
SHADOWED = re.compile(r"\.original_module\.")
LAYER_INDEX = re.compile(r"\.(?:layer|layers|h|block|blocks)\.(\d+)\.")


@dataclass(frozen=True)
class FlopsModel:
    """The parameter counts the FLOPs convention needs, taken from one model.

    ``forward`` = non-embedding parameters; ``input_grad`` = those the gradient flows back
    through; ``weight_grad`` = those that train. ``attention_layers_trained`` counts layers
    whose attention sits above a trainable parameter (gradient flows through it).
    """

    forward: int
    input_grad: int
    weight_grad: int
    layers: int
    attention_layers_trained: int
    hidden: int

    @property
    def per_token(self) -> int:
        """Parameter FLOPs per real token of one training step (the ``6·N`` part)."""
        return 2 * (self.forward + self.input_grad + self.weight_grad)

    def attention(self, length: int) -> int:
        """Attention-score FLOPs of one training step on one example of ``length`` tokens."""
        frozen = self.layers - self.attention_layers_trained
        per_layer = 4 * length * length * self.hidden
        return per_layer * (3 * self.attention_layers_trained + frozen)

    def step(self, lengths: Iterable[int]) -> int:
        """Useful FLOPs of one training step on examples of these real lengths."""
        sizes = list(lengths)
        return self.per_token * sum(sizes) + sum(self.attention(n) for n in sizes)


def flops_model(model: Any, layers: int | None = None, hidden: int | None = None) -> FlopsModel:
    """Read the counts off ``model`` (a transformers model, possibly wrapped by peft).

    ``layers``/``hidden`` default to the model config's ``num_hidden_layers`` /
    ``hidden_size``.
    """
    config: Any = getattr(model, "config", None)
    layers = layers if layers is not None else int(config.num_hidden_layers)
    hidden = hidden if hidden is not None else int(config.hidden_size)
    forward = input_grad = weight_grad = 0
    seen_trainable = False
    layers_with_grad: set[int] = set()
    for name, p in model.named_parameters():
        trains = bool(p.requires_grad)
        seen_trainable = seen_trainable or trains
        if EMBEDDING.search(name) or SHADOWED.search(name):
            continue
        n = p.numel()
        forward += n
        if seen_trainable:
            input_grad += n
            found = LAYER_INDEX.search(name)
            if found:
                layers_with_grad.add(int(found.group(1)))
        if trains:
            weight_grad += n
    return FlopsModel(forward, input_grad, weight_grad, layers, len(layers_with_grad), hidden)


def peak_flops(device_name: str, precision: str) -> float | None:
    """Dense peak FLOP/s of a CUDA device by its name, or None when not in the table.

    ``precision`` is ``bf16``, ``fp16`` or ``fp32`` (what the matmuls run in).
    """
    for fragment, peaks in DEVICE_PEAKS:
        if fragment.lower() in device_name.lower():
            tflops = peaks.get(precision)
            return None if tflops is None else tflops * 1e12
    return None


def mfu(flops: float, seconds: float, peak: float | None) -> float | None:
    """Model FLOPs utilization: ``flops / seconds / peak``; None without a known peak."""
    if peak is None or seconds <= 0:
        return None
    return flops / seconds / peak


def device_peak(device: Any, precision: str) -> float | None:
    """Peak of a torch device: None for a CPU (not reported) or an unknown GPU."""
    import torch

    if str(device).split(":")[0] != "cuda" or not torch.cuda.is_available():
        return None
    return peak_flops(torch.cuda.get_device_name(device), precision)


def step_flops(model: FlopsModel, lengths_per_step: Sequence[Sequence[int]]) -> list[int]:
    """Useful FLOPs of each step, from the real lengths of the examples in each batch."""
    return [model.step(lengths) for lengths in lengths_per_step]

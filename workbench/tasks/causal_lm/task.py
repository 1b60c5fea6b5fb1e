"""Causal-LM instruction tuning: learn to generate the response to a prompt.

Data are prompt → response pairs (:mod:`workbench.tasks.causal_lm.data`), rendered with the
model's chat template when it has one. The loss is next-token cross-entropy on the
response tokens only (:mod:`workbench.tasks.causal_lm.batching`). Evaluation reports held-out
loss, perplexity ``exp(loss)``, and exact-match accuracy: the share of examples whose
whole response (end token included) is the model's greedy prediction at every position.
With teacher forcing that is one forward pass, and it equals "greedy decoding reproduces
the reference exactly", so it is measured on every validation round at no extra cost.

At the end of a run the task writes ``generations.json``: greedy answers to fixed held-out
prompts before fine-tuning (adapter disabled, or the pretrained weights for a full
fine-tune) and after, side by side; and exports the adapter and the merged model.
"""

from __future__ import annotations

import contextlib
import json
import math
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import torch
import torch.nn.functional as F

from workbench.cache import cached, folder_stamp
from workbench.methods import get_method
from workbench.models import load_tokenizer, resolve_model
from workbench.tasks.base import DataView, Task, check_catalog_task
from workbench.tasks.causal_lm.batching import (
    LMCollator,
    answer_mask,
    encode_pairs,
    end_token_id,
    keeps_logits,
    pack,
    scored_logits,
)
from workbench.tasks.causal_lm.data import InstructData, Pairs, derive_pairs, read_pairs

if TYPE_CHECKING:
    from workbench.config import TrainConfig
    from workbench.regularization import Regularizer
    from workbench.training.session import Session

#: Held-out prompts whose answers are compared before vs after fine-tuning (the first ones of
#: the test split): enough that the before/after exact match is not decided by one or two.
GENERATION_PROMPTS = 40


class CausalLM(Task):
    name = "causal-lm"
    summary = "Instruction tuning: a causal LM learns to generate the response to a prompt."
    methods = ("full", "freeze", "lora", "ia3")
    eval_metrics = ("val_loss", "val_perplexity", "val_accuracy")
    data_slot: ClassVar[str] = "data-causal-lm"
    generates: ClassVar[bool] = True
    card_pipeline_tag: ClassVar[str] = "text-generation"

    def card_usage(self, adapter: bool, labels: list[str]) -> list[str]:
        if adapter:
            return [
                "from peft import AutoPeftModelForCausalLM",
                "from transformers import AutoTokenizer",
                "",
                'model = AutoPeftModelForCausalLM.from_pretrained("adapter")',
                'tokenizer = AutoTokenizer.from_pretrained("adapter")',
            ]
        return [
            "from transformers import pipeline",
            "",
            "# from the run directory: model/ is this folder",
            'generate = pipeline("text-generation", model="model")',
            'messages = [{"role": "user", "content": "Classify the sentiment: I love this"}]',
            "print(generate(messages, max_new_tokens=8)[0]['generated_text'])",
        ]

    def explain_hint(self, run_path: Path) -> str:
        return (
            f"this view explains classifiers; for this {self.name} run use "
            f"`workbench explain --run {run_path} --prompt TEXT`, or train a "
            "text-classification run (Model tab: task)"
        )

    def data_fields(self, dataset: Any) -> set[str]:
        """A derived built-in (``tweets-sentiment-instruct``) is prepared like its
        classification source, with the source's own (auto-detected) columns; a pair file
        reads only ``drop_duplicates`` and the split settings."""
        from workbench.data.sources import builtin_dataset
        from workbench.tasks.causal_lm.views import PAIR_FIELDS

        if dataset is not None and getattr(builtin_dataset(dataset), "derived_from", None):
            return super().data_fields(dataset) - {"text_column", "label_column"}
        return set(PAIR_FIELDS)

    def data_view(self, data: InstructData) -> DataView:
        from workbench.tasks.causal_lm.views import pairs_view

        return pairs_view(data)

    def trainable_parameters(self, cfg: TrainConfig, num_labels: int) -> tuple[int, int]:
        """The pretrained LM, cached like a training run's, with the method applied."""
        from workbench.methods import count_parameters
        from workbench.regularization import build_regularizers

        regs = build_regularizers(cfg)
        lm = cached(
            "model-lm",
            self.model_key(cfg, regs),
            lambda: self.load_pretrained(cfg, regs),
            copy_out=True,
        )
        return count_parameters(get_method(cfg.model.method).apply(lm, cfg.model))

    def validate(self, cfg: TrainConfig) -> None:
        from workbench.config import ConfigError

        super().validate(cfg)
        check_catalog_task(cfg, self.name)
        if getattr(cfg.run, "pinned_texts", ()):
            raise ConfigError(
                "pinned_texts are explained by the classifier's attribution and do not apply "
                "to causal-lm; leave them empty (explain answers with workbench explain --prompt)"
            )

    def prepare_data(self, cfg: TrainConfig, source: Any = None) -> InstructData:
        from workbench.data.sources import builtin_dataset

        builtin = builtin_dataset(cfg.data.dataset) if source is None else None
        base = getattr(builtin, "derived_from", None)
        if builtin is not None and base:
            return derive_pairs(cfg.data, cfg.optim.seed, base, builtin.template)  # type: ignore[attr-defined]
        return read_pairs(cfg.data, cfg.optim.seed, source)

    def load_model(
        self, cfg: TrainConfig, data: InstructData, regularizers: list[Regularizer]
    ) -> tuple[torch.nn.Module, Any]:
        source = resolve_model(cfg.model.model)
        tokenizer = load_tokenizer(source, cfg.model.trust_remote_code)
        if tokenizer.pad_token_id is None:  # padding is masked out; any id will do
            tokenizer.pad_token = tokenizer.eos_token or tokenizer.sep_token
        model = cached(
            "model-lm",
            self.model_key(cfg, regularizers),
            lambda: self.load_pretrained(cfg, regularizers),
            copy_out=True,
        )
        model = get_method(cfg.model.method).apply(model, cfg.model)
        return model, tokenizer

    def model_key(self, cfg: TrainConfig, regularizers: list[Regularizer]) -> Any:
        """What changes the pristine weights; a local folder's file stamps too, so weights
        re-exported under the same path miss the cache instead of loading stale."""
        source = resolve_model(cfg.model.model)
        return (
            cfg.model.model,
            folder_stamp(source.path) if source.local else (),
            cfg.model.trust_remote_code,
            tuple(r.name for r in regularizers),
            cfg.regularization.dropout,
            cfg.regularization.attention_dropout,
        )

    def load_pretrained(self, cfg: TrainConfig, regularizers: list[Regularizer]) -> Any:
        """The pretrained causal LM, with regularizer overrides (dropout) in its config."""
        from transformers import AutoConfig

        from workbench.models.loading import load_causal_lm, materialize

        source = materialize(resolve_model(cfg.model.model))
        base = AutoConfig.from_pretrained(
            source.path,
            local_files_only=source.local,
            trust_remote_code=cfg.model.trust_remote_code,
        )
        overrides: dict[str, Any] = {}
        for reg in regularizers:
            overrides.update(reg.model_overrides(cfg, base))
        return load_causal_lm(source, cfg.model.trust_remote_code, overrides)

    def encode(self, tokenizer: Any, data: InstructData, cfg: TrainConfig) -> dict[str, Any]:
        n = cfg.model.max_length
        out = {s: encode_pairs(tokenizer, getattr(data, s), n) for s in ("train", "val", "test")}
        if cfg.model.packing:  # training rows only: evaluation stays one example per row
            out["train"] = pack(out["train"], n)
        return out

    def collator(self, tokenizer: Any) -> Any:
        pad = tokenizer.pad_token_id
        return LMCollator(pad if pad is not None else end_token_id(tokenizer))

    def forward(self, model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> Any:
        # No KV cache while training; with a cache transformers would not detect packing.
        # Logits only where a response token is predicted (see lm_batching.answer_mask).
        options: dict[str, Any] = {"use_cache": False}
        if keeps_logits(model):
            options["logits_to_keep"] = answer_mask(batch["labels"])
        if "position_ids" in batch:  # packed rows: the mask comes from the position ids
            ids, positions = batch["input_ids"], batch["position_ids"]
            return model(input_ids=ids, position_ids=positions, **options)
        return model(
            input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], **options
        )

    def loss(self, outputs: Any, batch: dict[str, torch.Tensor], **options: Any) -> torch.Tensor:
        # Position t predicts token t+1; the mean over response tokens only.
        logits, target, _ = scored_logits(outputs.logits, batch["labels"])  # (kept, vocab) fp32
        return F.cross_entropy(
            logits, target, label_smoothing=float(options.get("label_smoothing", 0.0))
        )

    def examples_in(self, batch: dict[str, torch.Tensor]) -> int:
        """A packed row holds several examples: each starts where its positions restart."""
        if "position_ids" not in batch:
            return super().examples_in(batch)
        starts = (batch["position_ids"] == 0) & batch["attention_mask"].bool()
        return int(starts.sum())

    def load_exported(self, folder: Path) -> tuple[torch.nn.Module, Any] | None:
        from workbench.tasks.causal_lm.runs import load_merged

        return load_merged(folder)

    def load_with_adapter(self, run_dir: Path, cfg: TrainConfig) -> tuple[Any, Any] | None:
        from workbench.tasks.causal_lm.runs import load_with_adapter

        return load_with_adapter(run_dir, cfg)

    def evaluate(self, s: Session, loader: Any) -> dict[str, Any]:
        return lm_metrics(s.model, loader, s.accelerator, self, _split_of(s, loader))

    def finish(self, s: Session, run_dir: Path, summary: dict[str, Any], log: Any) -> None:
        from workbench.models.loading import quiet_transformers
        from workbench.tasks.export import export_model

        log.emit("status", status="running", message="testing the best checkpoint")
        test = self.evaluate(s, s.test_loader)
        summary.update(
            test_loss=test["loss"],
            test_perplexity=test["perplexity"],
            test_accuracy=test["accuracy"],
            test_per_class=test.get("per_class"),
            task=self.name,
        )
        if s.data.labels:  # a derived classification: how often each answer is right
            summary["answer_balance"] = {
                split: dict(Counter(getattr(s.data, split).responses)) for split in ("val", "test")
            }
        log.emit("status", status="running", message="generating answers before vs after")
        rows = self.generation_table(s)
        summary["generations_after_exact_match"] = _share(rows, "after_match")
        summary["generations_before_exact_match"] = _share(rows, "before_match")
        if s.accelerator.is_main_process:
            (run_dir / "generations.json").write_text(
                json.dumps(rows, indent=1, ensure_ascii=False), encoding="utf-8"
            )
            write_lm_predictions(run_dir / "test_predictions.jsonl", s.data.test, test["exact"])
            with quiet_transformers():
                export_model(s, run_dir)

    def generation_table(self, s: Session, n: int = GENERATION_PROMPTS) -> list[dict[str, Any]]:
        """Greedy answers to the first ``n`` test prompts, before and after fine-tuning."""
        from workbench.tasks.causal_lm.generation import (
            base_model_of,
            comparison_rows,
            generate_answers,
        )

        test: Pairs = s.data.test
        prompts, refs = test.prompts[:n], test.responses[:n]
        longest = max(
            (len(s.tokenizer(r, add_special_tokens=False)["input_ids"]) for r in refs), default=8
        )
        budget = min(64, longest + 8)
        model = s.accelerator.unwrap_model(s.model)
        after = generate_answers(model, s.tokenizer, prompts, budget)
        if get_method(s.config.model.method).uses_peft:
            with base_model_of(model) as base:
                before = generate_answers(base, s.tokenizer, prompts, budget)
        else:  # the pretrained weights, from the model cache (or disk)
            regs = s.regularizers
            pretrained = cached(
                "model-lm",
                self.model_key(s.config, regs),
                lambda: self.load_pretrained(s.config, regs),
            )
            pretrained.to(next(model.parameters()).device)
            before = generate_answers(pretrained, s.tokenizer, prompts, budget)
        return comparison_rows(prompts, refs, before, after)


def write_lm_predictions(path: Path, test: Pairs, exact: list[int]) -> None:
    """One line per test example: prompt (user text), reference answer, exact match."""
    with open(path, "w", encoding="utf-8") as f:
        for prompt, reference, hit in zip(test.texts, test.responses, exact, strict=True):
            row = {"prompt": prompt, "reference": reference, "exact_match": bool(hit)}
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


def _per_row(values: torch.Tensor, rows: torch.Tensor, n: int) -> torch.Tensor:
    """Sums of flattened per-position ``values`` for each of the batch's ``n`` rows."""
    return torch.zeros(n, dtype=values.dtype, device=values.device).index_add_(0, rows, values)


def _share(rows: list[dict[str, Any]], key: str) -> float | None:
    return sum(bool(r[key]) for r in rows) / len(rows) if rows else None


def _split_of(s: Session, loader: Any) -> Pairs:
    return s.data.test if loader is s.test_loader else s.data.val


@torch.no_grad()
def lm_metrics(
    model: torch.nn.Module,
    loader: Any,
    accelerator: Any,
    task: Task,
    pairs: Pairs | None = None,
) -> dict[str, Any]:
    """Token-level loss, perplexity and exact-match accuracy over ``loader``.

    With answer classes (a derived classification dataset) also exact-match per class.
    """
    was_training = model.training
    model.eval()
    nll: list[torch.Tensor] = []
    tokens: list[torch.Tensor] = []
    match: list[torch.Tensor] = []
    index: list[torch.Tensor] = []
    # Without an Accelerator (evaluating an exported model): no autocast, nothing to gather.
    autocast = accelerator.autocast if accelerator is not None else contextlib.nullcontext
    try:
        for batch in loader:
            if accelerator is None:
                device = next(model.parameters()).device
                batch = {k: v.to(device) for k, v in batch.items()}
            with autocast():
                out = task.forward(model, batch)
            logits, target, rows = scored_logits(out.logits, batch["labels"])  # (kept, vocab)
            n = batch["labels"].shape[0]
            nll_sum = _per_row(F.cross_entropy(logits, target, reduction="none"), rows, n)
            scored = _per_row(torch.ones_like(target), rows, n)
            wrong = _per_row((logits.argmax(-1) != target).long(), rows, n)
            per = (nll_sum, scored, (wrong == 0).long(), batch["index"])
            if accelerator is not None:  # drops samples duplicated to even out shards
                per = accelerator.gather_for_metrics(per)
            for bucket, value in zip((nll, tokens, match, index), per, strict=True):
                bucket.append(value.cpu())
    finally:
        model.train(was_training)
    order = torch.argsort(torch.cat(index))
    total_nll, total_tokens = torch.cat(nll).sum().item(), torch.cat(tokens).sum().item()
    exact = torch.cat(match)[order]
    loss = total_nll / max(total_tokens, 1)
    metrics: dict[str, Any] = {
        "loss": loss,
        "perplexity": math.exp(min(loss, 50.0)),  # capped: exp overflows on a diverged model
        "accuracy": float(exact.float().mean()) if len(exact) else 0.0,
        "exact": exact.tolist(),
    }
    if pairs is not None and pairs.labels and len(pairs.labels) == len(exact):
        classes = sorted(set(pairs.responses))
        metrics["per_class"] = {
            c: {
                "exact_match": float(
                    exact[[i for i, r in enumerate(pairs.responses) if r == c]].float().mean()
                ),
                "support": sum(r == c for r in pairs.responses),
            }
            for c in classes
        }
    return metrics

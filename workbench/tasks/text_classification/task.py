"""Text classification: a pretrained encoder with a fresh classification head."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F

from workbench.cache import cached, folder_stamp
from workbench.methods import get_method
from workbench.models import load_classifier, load_tokenizer, resolve_model
from workbench.tasks.base import DataView, Task, check_catalog_task, cleaning_rows

if TYPE_CHECKING:
    from workbench.config import TrainConfig
    from workbench.data import PreparedData
    from workbench.regularization import Regularizer
    from workbench.training.session import Session


class TextClassification(Task):
    name = "text-classification"
    summary = "A label per text (sentiment, topic …): encoder + fresh classification head."
    methods = ("full", "head-only", "freeze", "bitfit", "lora", "ia3")
    eval_metrics = ("val_loss", "val_accuracy", "val_macro_f1")
    #: Cache slot of prepared data; the Data panel shares it (widgets/panels/data_panel.py).
    data_slot: ClassVar[str] = "data"
    defaults: ClassVar[dict[str, str]] = {"model": "minilm-l6", "dataset": "tweets-sentiment"}
    explain_view: ClassVar[str] = "text"
    explains_pinned_texts: ClassVar[bool] = True
    tfidf_baseline: ClassVar[bool] = True
    raw_preview: ClassVar[bool] = True
    card_pipeline_tag: ClassVar[str] = "text-classification"

    def card_usage(self, adapter: bool, labels: list[str]) -> list[str]:
        if adapter:
            # adapter/ does not record the classes: without them peft builds the base
            # model's default head, which the saved head does not fit (export check); a
            # base with a head of its own keeps it aside (the adapter brings the run's head)
            return [
                "from peft import AutoPeftModelForSequenceClassification",
                "from transformers import AutoTokenizer",
                "",
                f"labels = {python_literal(labels)}",
                "model = AutoPeftModelForSequenceClassification.from_pretrained(",
                '    "adapter",',
                "    num_labels=len(labels),",
                "    id2label=dict(enumerate(labels)),",
                "    label2id={name: i for i, name in enumerate(labels)},",
                "    ignore_mismatched_sizes=True,  # the base's own head, if any, is replaced",
                ")",
                'tokenizer = AutoTokenizer.from_pretrained("adapter")',
                'logits = model(**tokenizer(["I love this"], return_tensors="pt")).logits',
            ]
        return [
            "from transformers import pipeline",
            "",
            "# from the run directory: model/ is this folder",
            'classify = pipeline("text-classification", model="model")',
            'print(classify("I love this"))',
        ]

    def validate(self, cfg: TrainConfig) -> None:
        super().validate(cfg)
        check_catalog_task(cfg, self.name)

    def data_view(self, data: PreparedData) -> DataView:
        """Cleaning report, split sizes with the columns read, class balance (the raw
        rows come first, from the panel's ``raw_preview``)."""
        sizes = {"train": len(data.train), "val": len(data.val), "test": len(data.test)}
        return DataView(
            cleaning=cleaning_rows(data.cleaning),
            splits={
                **sizes,
                "classes": len(data.labels),
                "text column": data.text_column,
                "label column": data.label_column,
            },
            balance=data.balance,
            labels=list(data.labels),
        )

    def trainable_parameters(self, cfg: TrainConfig, num_labels: int) -> tuple[int, int]:
        from workbench.methods import count_parameters

        source = resolve_model(cfg.model.model)
        labels = [f"class{i}" for i in range(num_labels)]
        model = cached(
            "model-probe",
            (source.path, num_labels, cfg.model.trust_remote_code),
            lambda: load_classifier(source, labels, None, cfg.model.trust_remote_code),
            copy_out=True,
        )
        return count_parameters(get_method(cfg.model.method).apply(model, cfg.model))

    def prepare_data(self, cfg: TrainConfig, source: Any = None) -> PreparedData:
        from workbench.data import prepare_data

        return prepare_data(cfg.data, cfg.optim.seed, source)

    def load_model(
        self, cfg: TrainConfig, data: PreparedData, regularizers: list[Regularizer]
    ) -> tuple[torch.nn.Module, Any]:
        from transformers import AutoConfig

        source = resolve_model(cfg.model.model)
        tokenizer = load_tokenizer(source, cfg.model.trust_remote_code)
        base_config = AutoConfig.from_pretrained(
            source.path,
            local_files_only=source.local,
            trust_remote_code=cfg.model.trust_remote_code,
        )
        overrides: dict[str, Any] = {}
        for reg in regularizers:
            overrides.update(reg.model_overrides(cfg, base_config))
        # Everything that changes the pristine weights (not lr, method or regularization
        # strengths: those act on the copy). The seed picks the new head's initialization.
        key = (
            source.path,
            folder_stamp(source.path) if source.local else (),
            tuple(data.labels),
            tuple(sorted(overrides.items())),
            cfg.model.trust_remote_code,
            cfg.optim.seed,
            cfg.model.pretrained,
        )
        model = cached(
            "model",
            key,
            lambda: load_classifier(
                source, data.labels, overrides, cfg.model.trust_remote_code, cfg.model.pretrained
            ),
            copy_out=True,
        )
        if (
            getattr(model.config, "pad_token_id", None) is None
            and tokenizer.pad_token_id is not None
        ):
            model.config.pad_token_id = tokenizer.pad_token_id
        model = get_method(cfg.model.method).apply(model, cfg.model)
        return model, tokenizer

    def encode(self, tokenizer: Any, data: PreparedData, cfg: TrainConfig) -> dict[str, Any]:
        from workbench.tasks.text_classification.batching import encode

        return {
            name: encode(tokenizer, split.texts, split.labels, cfg.model.max_length)
            for name, split in (("train", data.train), ("val", data.val), ("test", data.test))
        }

    def collator(self, tokenizer: Any) -> Any:
        from workbench.tasks.text_classification.batching import PadCollator

        pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
        return PadCollator(pad_id)

    def loss(self, outputs: Any, batch: dict[str, torch.Tensor], **options: Any) -> torch.Tensor:
        # Cross-entropy in fp32 whatever the autocast dtype: (batch, classes) logits are tiny.
        return F.cross_entropy(outputs.logits.float(), batch["labels"], **options)

    def metrics(
        self, logits: torch.Tensor, labels: torch.Tensor, label_names: list[str]
    ) -> dict[str, Any]:
        return classification_metrics(logits, labels, label_names)

    def evaluate(self, s: Session, loader: Any) -> dict[str, Any]:
        from workbench.tasks.text_classification.evaluation import evaluate

        return evaluate(s.model, loader, s.accelerator, self, s.data.labels)

    def finish(self, s: Session, run_dir: Path, summary: dict[str, Any], log: Any) -> None:
        from workbench.models.loading import quiet_transformers
        from workbench.tasks.export import export_model

        log.emit("status", status="running", message="testing the best checkpoint")
        test = self.evaluate(s, s.test_loader)
        summary.update(
            test_loss=test["loss"],
            test_accuracy=test["accuracy"],
            test_macro_f1=test["macro_f1"],
            test_per_class=test["per_class"],
            confusion_matrix=test["confusion_matrix"],
        )
        if s.accelerator.is_main_process:
            write_predictions(run_dir / "test_predictions.jsonl", s, test["probs"])
            with quiet_transformers():
                export_model(s, run_dir)


def python_literal(values: list[str]) -> str:
    """``values`` as a Python list literal that is safe inside a Markdown code fence and
    inert as HTML: JSON string escapes are Python's too; backticks and ``<>&`` become
    ``\\u0060``, ``\\u003c`` … (the same strings once Python reads them)."""
    text = json.dumps(values)
    for char in "`<>&":
        text = text.replace(char, f"\\u{ord(char):04x}")
    return text


def write_predictions(path: Path, s: Session, probs: Any) -> None:
    """One line per test example: text, true label, prediction and class probabilities."""
    labels = s.data.labels
    with open(path, "w", encoding="utf-8") as f:
        for text, y, row in zip(s.data.test.texts, s.data.test.labels, probs.tolist(), strict=True):
            pred = max(range(len(row)), key=row.__getitem__)
            f.write(
                json.dumps(
                    {
                        "text": text,
                        "label": labels[y],
                        "predicted": labels[pred],
                        "confidence": row[pred],
                        "probs": row,
                    }
                )
                + "\n"
            )


def classification_metrics(
    logits: torch.Tensor, labels: torch.Tensor, label_names: list[str]
) -> dict[str, Any]:
    """Loss, accuracy, macro-F1, per-class precision/recall/F1 and the confusion matrix."""
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

    logits = logits.float()
    y = labels.cpu().numpy()
    pred = logits.argmax(-1).cpu().numpy()
    classes = list(range(len(label_names)))
    p, r, f1, support = precision_recall_fscore_support(y, pred, labels=classes, zero_division=0)
    return {
        "loss": float(F.cross_entropy(logits, labels).item()),
        "accuracy": float((pred == y).mean()) if len(y) else 0.0,
        "macro_f1": float(np.mean(f1)),
        "per_class": {
            name: {
                "precision": float(p[i]),
                "recall": float(r[i]),
                "f1": float(f1[i]),
                "support": int(support[i]),
            }
            for i, name in enumerate(label_names)
        },
        "confusion_matrix": confusion_matrix(y, pred, labels=classes).tolist(),
    }

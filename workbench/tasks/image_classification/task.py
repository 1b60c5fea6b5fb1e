"""Image classification: a pretrained CNN with a fresh classification head.

The engine asks this class everything image-specific: how images are read and split
(:mod:`.data`), turned into batches (:mod:`.transforms`), which model is loaded and how
it is adapted (:mod:`.model`), what is measured (:mod:`.evaluation`), what a finished
run leaves (``model/`` in this task's own format, ``test_predictions.jsonl``) and how a
run's model is read back and used (:mod:`.runs`, :mod:`.cli`).
"""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import torch
import torch.nn.functional as F

from workbench.cache import cached, folder_stamp
from workbench.methods import get_method
from workbench.tasks.base import SPLIT_FIELDS, DataView, Task, check_catalog_task, cleaning_rows
from workbench.tasks.image_classification.data import ImageData, prepare_images
from workbench.tasks.image_classification.evaluation import (
    PREDICTIONS_FILE,
    evaluate_images,
    write_predictions,
)
from workbench.tasks.image_classification.model import (
    ImageClassifier,
    ImageModelConfig,
    is_model_folder,
    load_model_folder,
    new_classifier,
    read_config,
    save_model,
)
from workbench.tasks.image_classification.transforms import (
    Augmentation,
    ImageCollator,
    ImageExamples,
    ImageProcessor,
)

if TYPE_CHECKING:
    from workbench.config import TrainConfig
    from workbench.regularization import Regularizer
    from workbench.training.session import Session

#: Training images per class in the Data tab's preview grid.
PREVIEW_PER_CLASS = 4
#: Misclassified test images in the Evaluate tab's grid.
MISTAKES_SHOWN = 24


class ImageClassification(Task):
    name = "image-classification"
    summary = "A label per image: a pretrained CNN (EfficientNet-Lite0) + fresh head."
    methods = ("full", "head-only", "freeze", "bitfit", "lora")
    eval_metrics = ("val_loss", "val_accuracy", "val_macro_f1")
    data_slot: ClassVar[str] = "data-image"
    defaults: ClassVar[dict[str, str]] = {"model": "efficientnet-lite0", "dataset": "fashion-mnist"}
    # A CNN fine-tune wants 10x the transformer rate. Measured (bench/image_baseline.py:
    # fashion-mnist, 1,024 images, 64 px, 32 steps, full; raw outputs
    # bench/results/image-lr*-2026-12-06.json): lr 1e-4 → 0.20 test accuracy, 1e-3 → 0.66,
    # 3e-3 → 0.81; 12,000 images (375 steps) at 1e-3 → 0.91. Short runs take 3e-3 (lesson 8).
    learning_rates: ClassVar[dict[str, float]] = {"full": 1e-3, "freeze": 1e-3}
    explain_view: ClassVar[str] = "image"
    card_pipeline_tag: ClassVar[str] = "image-classification"
    card_library: ClassVar[str] = "pytorch"

    def card_usage(self, adapter: bool, labels: list[str]) -> list[str]:
        return [
            "# this task's own format (EfficientNet-Lite, safetensors + config.json)",
            "from workbench.tasks.image_classification import load_model_folder",
            "import workbench",
            "",
            'model = load_model_folder("model")  # eval mode; model.config.labels',
            'print(workbench.load_run(".").predict(["boot.png"]))  # from the run directory',
        ]

    # -- what the notebook panels show -----------------------------------------------
    def describe_inputs(self, cfg: TrainConfig) -> str:
        return f"{cfg.model.image_size} px images"

    def data_fields(self, dataset: Any) -> set[str]:
        """Images are read, labelled and split; no text cleaning applies. The image and
        label columns name a CSV/Parquet table's columns (a folder or built-in has none)."""
        fields = {"dataset", *SPLIT_FIELDS}
        if dataset is None or str(dataset).lower().endswith((".csv", ".parquet", ".pq")):
            fields |= {"image_column", "label_column"}
        return fields

    def data_view(self, data: ImageData) -> DataView:
        """A grid of the first training images of every class, the summary, what reading
        dropped, the split sizes and the class balance."""
        from workbench.tasks.image_classification import preview
        from workbench.tasks.image_classification.render import grid_png

        per_class = PREVIEW_PER_CLASS
        images, names = preview(data, "train", per_class)
        return DataView(
            note=f"{data.source}: the first {per_class} training images of each class "
            "(a row per class)",
            pictures=[grid_png(images, columns=per_class * 2, size=72, captions=names)]
            if images
            else [],
            summary=data.summary(),
            cleaning=cleaning_rows(data.cleaning),
            splits={
                "train": len(data.train),
                "val": len(data.val),
                "test": len(data.test),
                "classes": len(data.labels),
                "image column": data.image_column,
                "label column": data.label_column,
            },
            balance=data.balance,
            labels=list(data.labels),
        )

    def evaluation_pictures(
        self, run_dir: Path, summary: dict[str, Any]
    ) -> list[tuple[str, bytes]]:
        """The most confidently misclassified test images, captioned with the true class
        above the predicted one."""
        from workbench.tasks.image_classification.evaluation import misclassified
        from workbench.tasks.image_classification.render import grid_png
        from workbench.tasks.image_classification.runs import image_of

        wrong = misclassified(run_dir, limit=MISTAKES_SHOWN)
        if not wrong:
            return []
        images, captions = [], []
        for row in wrong:
            try:
                images.append(image_of(str(row["image"])))
            except Exception:  # an image file moved since the run: skip it, keep the rest
                continue
            captions.append(f"{row['label']}\n{row['predicted']}")
        if not images:
            return []
        title = (
            f"Misclassified test images, most confident first ({len(images)} shown; "
            "under each: the true class, then the predicted one)"
        )
        return [(title, grid_png(images, columns=8, size=72, captions=captions))]

    def trainable_parameters(self, cfg: TrainConfig, num_labels: int) -> tuple[int, int]:
        from workbench.methods import count_parameters

        labels = [f"class{i}" for i in range(num_labels)]
        config = base_config(cfg, labels)
        source, weights = _weights_of(cfg.model.model, cfg.model.pretrained)
        key = (cfg.model.model, tuple(labels), cfg.model.image_size, cfg.model.pretrained)
        pristine = cached(
            "model-image-probe",
            key,
            lambda: _build(config, source, weights, cfg.model.pretrained),
            copy_out=True,
        )
        return count_parameters(get_method(cfg.model.method).apply(pristine, cfg.model))

    def validate(self, cfg: TrainConfig) -> None:
        from workbench.config import ConfigError

        super().validate(cfg)
        check_catalog_task(cfg, self.name)
        if cfg.run.pinned_texts:
            raise ConfigError(
                "pinned_texts are texts and do not apply to image-classification; leave them "
                "empty (explain images with workbench explain --image)"
            )

    # -- data ----------------------------------------------------------------------
    def prepare_data(self, cfg: TrainConfig, source: Any = None) -> ImageData:
        return prepare_images(cfg.data, cfg.optim.seed, source)

    def encode(self, tokenizer: Any, data: ImageData, cfg: TrainConfig) -> dict[str, Any]:
        size = cfg.model.image_size
        return {
            "train": ImageExamples(data.train, size, augment=True),
            "val": ImageExamples(data.val, size),
            "test": ImageExamples(data.test, size),
        }

    def collator(self, tokenizer: Any) -> Any:
        processor: ImageProcessor = tokenizer  # the processor fills the tokenizer's slot
        return ImageCollator(processor.augmentation)

    def input_lengths(self, tokenizer: Any, data: Any) -> list[int] | None:
        return None  # images have no length: the truncation and length checks stay silent

    def preflight_inputs(self, cfg: TrainConfig, data: Any) -> dict[str, Any]:
        return {}

    # -- model ---------------------------------------------------------------------
    def load_model(
        self, cfg: TrainConfig, data: Any, regularizers: list[Regularizer]
    ) -> tuple[torch.nn.Module, ImageProcessor]:
        base = base_config(cfg, list(data.labels))
        overrides: dict[str, Any] = {}
        for reg in regularizers:
            overrides.update(reg.model_overrides(cfg, base))
        source, weights = _weights_of(cfg.model.model, cfg.model.pretrained)
        key = (
            cfg.model.model,
            folder_stamp(source) if source else (),
            tuple(data.labels),
            tuple(sorted(overrides.items())),
            cfg.model.image_size,
            cfg.optim.seed,
            cfg.model.pretrained,
        )
        config = dataclasses.replace(base, **overrides)
        pristine = cached(
            "model-image",
            key,
            lambda: _build(config, source, weights, cfg.model.pretrained),
            copy_out=True,
        )
        model = get_method(cfg.model.method).apply(pristine, cfg.model)
        processor = ImageProcessor(cfg.model.image_size, Augmentation.from_config(cfg))
        return model, processor

    def forward(self, model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> Any:
        return model(batch["pixel_values"])

    def loss(self, outputs: Any, batch: dict[str, torch.Tensor], **options: Any) -> torch.Tensor:
        # fp32 cross-entropy whatever the autocast dtype: (batch, classes) logits are tiny
        return F.cross_entropy(outputs.float(), batch["labels"], **options)

    def examples_in(self, batch: dict[str, torch.Tensor]) -> int:
        return int(batch["labels"].shape[0])

    def tokens_in(self, batch: dict[str, torch.Tensor]) -> int:
        return 0

    # -- evaluation and the end of a run ------------------------------------------------
    def evaluate(self, s: Session, loader: Any) -> dict[str, Any]:
        return evaluate_images(s.model, loader, s.data.labels, s.accelerator)

    def finish(self, s: Session, run_dir: Path, summary: dict[str, Any], log: Any) -> None:
        log.emit("status", status="running", message="testing the best checkpoint")
        test = self.evaluate(s, s.test_loader)
        summary.update(
            test_loss=test["loss"],
            test_accuracy=test["accuracy"],
            test_macro_f1=test["macro_f1"],
            test_per_class=test["per_class"],
            confusion_matrix=test["confusion_matrix"],
            image_size=s.config.model.image_size,
        )
        if s.accelerator.is_main_process:
            write_predictions(run_dir / PREDICTIONS_FILE, s.data.test, s.data.labels, test["probs"])
            export(s, run_dir, {**summary, "data_source": s.data.source})

    # -- finished runs -----------------------------------------------------------------
    def load_exported(self, folder: Path) -> tuple[torch.nn.Module, Any] | None:
        model = load_model_folder(folder).eval()
        return model, ImageProcessor(model.config.image_size)

    def predict(
        self, model: torch.nn.Module, preprocessor: Any, inputs: list[Any], cfg: TrainConfig
    ) -> list[dict[str, Any]] | None:
        from workbench.tasks.image_classification.runs import predict_images

        return predict_images(model, preprocessor, inputs)

    def summary_lines(self, summary: dict[str, Any], run_dir: Path | None) -> list[str]:
        from workbench.tasks.image_classification.cli import summary_lines

        return summary_lines(summary, run_dir)

    commands: ClassVar[tuple[str, ...]] = ("eval", "predict", "explain")

    def run_command(self, command: str, run: Any, args: Any) -> int | None:
        from workbench.tasks.image_classification.cli import COMMANDS

        return COMMANDS[command](run, args) if command in COMMANDS else None


def base_config(cfg: TrainConfig, labels: list[str]) -> ImageModelConfig:
    """The model config a run starts from: the model folder's own, or the catalog model's."""
    source, _ = _weights_of(cfg.model.model, pretrained=False)
    architecture = read_config(source).architecture if source else "efficientnet-lite0"
    return ImageModelConfig(architecture, list(labels), cfg.model.image_size)


def _weights_of(name: str, pretrained: bool) -> tuple[str | None, Path | None]:
    """``(model folder, torch weights file)`` for ``--model name``: a folder written by
    this task (its own weights), or the catalog model (the package's ImageNet weights)."""
    from workbench.errors import ModelError
    from workbench.models.catalog import find_entry, packaged_file
    from workbench.models.loading import resolve_model

    if is_model_folder(Path(name).expanduser()):
        return str(Path(name).expanduser()), None
    entry = find_entry(name)
    if entry is None or entry.task != "image-classification" or not entry.weights:
        raise ModelError(
            f"model {name!r} is not an image model; use efficientnet-lite0, or a model/ folder "
            "exported by an image-classification run"
        )
    resolve_model(name)  # a fix-it error when the package is not installed
    weights = packaged_file(entry.package or "", entry.weights) if pretrained else None
    return None, weights


def _build(
    config: ImageModelConfig, folder: str | None, weights: Path | None, pretrained: bool
) -> ImageClassifier:
    """The pristine model: from a saved folder (head rebuilt for new classes), or the
    backbone with the package's weights, or randomly initialized (``pretrained`` off)."""
    if folder is not None and pretrained:
        return load_model_folder(folder, config)
    return new_classifier(config, weights)


def export(s: Session, run_dir: Path, summary: dict[str, Any]) -> None:
    """``model/``: the fine-tuned model with any LoRA adapters merged in (this task's format,
    with a model card); ``adapter/``: the peft adapter alone, for LoRA runs."""
    from workbench.models.weights import write_dir

    model = s.accelerator.unwrap_model(s.model)
    if get_method(s.config.model.method).uses_peft:
        write_dir(run_dir / "adapter", lambda d: model.save_pretrained(str(d)))
        # merge on a copy: the live model keeps its adapters for explanation and more training
        merged = copy.deepcopy(model).merge_and_unload()
    else:
        merged = model
    # model/README.md, the model card, is written after the coach's diagnosis
    # (workbench.runs.card, for every task)
    write_dir(run_dir / "model", lambda d: save_model(merged, d))

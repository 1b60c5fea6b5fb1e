"""Model loading: pretrained or randomly initialized, the same architecture."""

from __future__ import annotations

import torch
from conftest import toy_frame

from workbench import TrainConfig
from workbench.models.loading import ModelSource, load_classifier

LABELS = ["negative", "neutral", "positive"]


def test_pretrained_false_builds_the_same_architecture_with_fresh_seeded_weights(
    tiny_bert_dir: str,
) -> None:
    source = ModelSource("tiny", tiny_bert_dir, True)
    pretrained = load_classifier(source, LABELS)
    torch.manual_seed(3)
    random_a = load_classifier(source, LABELS, pretrained=False)
    torch.manual_seed(3)
    random_b = load_classifier(source, LABELS, pretrained=False)
    names = [n for n, _ in pretrained.named_parameters()]
    assert names == [n for n, _ in random_a.named_parameters()]  # same architecture
    weights = "bert.encoder.layer.0.attention.self.query.weight"
    p, a, b = (dict(m.named_parameters())[weights] for m in (pretrained, random_a, random_b))
    assert p.shape == a.shape and not torch.equal(p, a)  # not the saved weights
    assert torch.equal(a, b)  # but reproducible under a seed
    assert random_a.config.id2label == dict(enumerate(LABELS))


def test_config_cli_and_training_know_pretrained(tiny_config: TrainConfig) -> None:
    from workbench.cli import build_parser

    cfg = tiny_config.replace(pretrained=False, epochs=1.0)
    assert TrainConfig.from_dict(cfg.to_dict()).model.pretrained is False
    args = build_parser().parse_args(["train", "--no-pretrained"])
    assert args.pretrained is False
    from workbench import train

    summary = train(cfg, data=toy_frame(10)).wait()
    assert summary is not None and summary["status"] == "completed"

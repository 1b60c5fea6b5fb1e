"""The fresh process of the export check: load each artifact as a deployment would, predict.

Run as ``python -m workbench.deploy.worker JOB.json OUT.json`` by
:func:`workbench.deploy.parity.check_export`, never in the training process: a model that
only works because something of the training session is still in memory (a patched module,
a registered class, a cached tokenizer) must fail here. ``JOB.json`` names the artifacts,
the inputs and the run's classes; ``OUT.json`` gets, per artifact, ``loaded``/``error``,
its ``labels`` (its own class order) and ``log_probs`` (one row per input). One artifact
failing to load is recorded and the others still run.
"""

from __future__ import annotations

import json
import math
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any

#: Examples per forward pass.
BATCH = 32
#: The training side cuts texts to this many characters per token of max_length before
#: tokenizing (it never changes the tokens kept, only saves work); done the same here.
CHARS_PER_TOKEN = 200

Output = tuple[list[str], list[list[float]]]


def main(argv: Sequence[str]) -> int:
    job_file, out_file = argv
    job = json.loads(Path(job_file).read_text(encoding="utf-8"))
    results = {name: _attempt(name, Path(path), job) for name, path in job["artifacts"].items()}
    Path(out_file).write_text(json.dumps(results), encoding="utf-8")
    return 0


def _attempt(name: str, path: Path, job: dict[str, Any]) -> dict[str, Any]:
    try:
        labels, log_probs = _predict(name, path, job)
    except Exception as err:  # one broken artifact is a result, not the end of the check
        traceback.print_exc(file=sys.stderr)
        first = str(err).strip().splitlines()[0] if str(err).strip() else ""
        return {"loaded": False, "error": f"{type(err).__name__}: {first}"[:500]}
    return {"loaded": True, "labels": labels, "log_probs": log_probs}


def _predict(name: str, path: Path, job: dict[str, Any]) -> Output:
    from workbench.deploy.onnx import quiet_libraries

    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist")
    with quiet_libraries():
        if job["mode"] == "image":
            return _image_model(job)
        texts = [_clip(str(t), job["max_length"]) for t in job["inputs"]]
        if name == "model":
            return _pipeline(path, texts, job["max_length"])
        if name == "adapter":
            return _adapter(path, texts, job["max_length"], job["labels"])
        if name == "onnx":
            return _onnx(path, texts, job["max_length"])
    raise ValueError(f"unknown artifact {name!r}")


def _clip(text: str, max_length: int) -> str:
    limit = max_length * CHARS_PER_TOKEN
    return text if len(text) <= limit else text[:limit]


def _log_softmax(logits: Sequence[float]) -> list[float]:
    """In float64: the comparison is about the artifact, not this function's rounding."""
    top = max(logits)
    total = math.log(sum(math.exp(x - top) for x in logits)) + top
    return [x - total for x in logits]


def _pipeline(folder: Path, texts: list[str], max_length: int) -> Output:
    """``model/`` as the model card serves it: ``pipeline("text-classification")``, asked
    for raw logits of every class (``top_k=None``, ``function_to_apply="none"``)."""
    from transformers import pipeline

    classify = pipeline("text-classification", model=str(folder), device="cpu")
    labels = _labels(classify.model.config)
    # typed as returning one result, but a list of texts gives a list of results
    scored: list[list[dict[str, Any]]] = classify(  # type: ignore[assignment]
        texts,
        top_k=None,
        function_to_apply="none",
        truncation=True,
        max_length=max_length,
        batch_size=BATCH,
    )
    rows = []
    for per_class in scored:  # [{"label": name, "score": logit}, ...], best first
        by_name = {str(d["label"]): float(d["score"]) for d in per_class}
        rows.append(_log_softmax([by_name[label] for label in labels]))
    return labels, rows


def _adapter(folder: Path, texts: list[str], max_length: int, run_labels: list[str]) -> Output:
    """``adapter/`` on its base model, loaded exactly as its model card shows: with the
    run's classes (summary.json ``labels``), which the adapter folder does not record."""
    from peft import AutoPeftModelForSequenceClassification
    from transformers import AutoTokenizer

    model = AutoPeftModelForSequenceClassification.from_pretrained(
        str(folder),
        num_labels=len(run_labels),
        id2label=dict(enumerate(run_labels)),
        label2id={label: i for i, label in enumerate(run_labels)},
        ignore_mismatched_sizes=True,
    )
    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    labels = _labels(model.config)
    return labels, _torch_rows(model.eval(), tokenizer, texts, max_length)


def _labels(config: Any) -> list[str]:
    """Class names in logit order, from a transformers config."""
    return [str(config.id2label[i]) for i in range(config.num_labels)]


def _torch_rows(model: Any, tokenizer: Any, texts: list[str], max_length: int) -> list[list[float]]:
    import torch

    rows: list[list[float]] = []
    with torch.no_grad():
        for start in range(0, len(texts), BATCH):
            enc = tokenizer(
                texts[start : start + BATCH],
                padding=True,
                truncation=True,
                max_length=max_length,
                return_tensors="pt",
            )
            logits = model(**enc).logits.float()  # (batch, classes)
            rows.extend(_log_softmax(r) for r in logits.tolist())
    return rows


def _onnx(folder: Path, texts: list[str], max_length: int) -> Output:
    """``onnx/`` as a server would use it: ONNX Runtime, the tokenizer and config beside it."""
    from transformers import AutoConfig, AutoTokenizer

    from workbench.deploy.onnx import onnx_logits, onnx_session

    session = onnx_session(folder)
    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    labels = _labels(AutoConfig.from_pretrained(str(folder)))  # config.json beside the graph
    rows: list[list[float]] = []
    for start in range(0, len(texts), BATCH):
        logits = onnx_logits(session, tokenizer, texts[start : start + BATCH], max_length)
        rows.extend(_log_softmax(r) for r in logits.astype("float64").tolist())
    return labels, rows


def _image_model(job: dict[str, Any]) -> Output:
    """An image run's ``model/`` through the run loader (its own format, not transformers):
    ``load_run(run).predict`` on the test images named in test_predictions.jsonl."""
    from workbench import load_run

    try:  # the image task's public helper that reads ``dataset#row`` references
        from workbench.tasks.image_classification import image_of
    except ImportError as err:
        raise RuntimeError(f"cannot read the test images: {err}") from None
    images = [image_of(str(ref)) for ref in job["inputs"]]
    predictions = load_run(job["run"]).predict(images)
    labels = [str(x) for x in predictions[0]["probs"]] if predictions else list(job["labels"])
    rows = [
        [math.log(max(float(p["probs"][label]), 1e-30)) for label in labels] for p in predictions
    ]
    return labels, rows


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

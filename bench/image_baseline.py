"""Image task quality bar: does fine-tuning EfficientNet-Lite0 beat the obvious baselines?

On one Fashion-MNIST split (the workbench's own: stratified, seed 42, ``--train`` training
images, ``--eval`` validation and test images each), three arms:

* ``finetuned``: EfficientNet-Lite0 from its ImageNet weights, full fine-tune, one epoch,
  64 px, batch 32 (``workbench.train``, the same engine the UI and CLI use);
* ``random_init``: the same model and budget from random weights (``pretrained`` off);
* ``logistic_regression``: scikit-learn's multinomial logistic regression on the raw
  784 pixels (scaled to [0, 1]), fitted on the same training images.

Raw output: ``bench/results/image-<date>.json`` with the provenance header (date, machine,
load average, git revision; :mod:`provenance`) and, per arm, test accuracy, macro-F1 and
seconds. This is a benchmark, not a test: run it on a quiet machine
(``make bench-image``; about 6 minutes at 12,000 images on 2 idle cores).

    python bench/image_baseline.py                 # 12,000 training images
    python bench/image_baseline.py --train 1000    # a quick look
    python bench/image_baseline.py --train 1536 --epochs 2 --bn-momentum 0.01
        # the package's TensorFlow batch-norm momentum, against the task's 0.1
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from provenance import ROOT, describe, finish, header  # noqa: E402


def fine_tune(args: argparse.Namespace, out: Path, pretrained: bool) -> dict[str, Any]:
    from workbench import TrainConfig, train

    cfg = TrainConfig().replace(
        task="image-classification",
        model="efficientnet-lite0",
        dataset="fashion-mnist",
        method="full",
        pretrained=pretrained,
        image_size=args.image_size,
        batch_size=32,
        epochs=args.epochs,
        lr=args.lr,
        max_train_samples=args.train,
        max_eval_samples=args.eval,
        save_checkpoints=False,
        seed=args.seed,
        out=str(out),
    )
    tick = time.perf_counter()
    handle = train(cfg, block=True)
    wall = time.perf_counter() - tick
    if handle.status != "completed":
        raise SystemExit(f"run failed: {handle.error}")
    s = handle.summary or {}
    steps = [e for e in handle.history if e["type"] == "step"]
    return {
        "test_accuracy": s["test_accuracy"],
        "test_macro_f1": s["test_macro_f1"],
        "seconds": round(wall, 1),
        "train_seconds": round(handle.session.progress.train_seconds, 1)
        if handle.session
        else None,
        "seconds_per_step": round(wall / max(1, len(steps)), 3),
        "steps": s["steps"],
        "lr": s["lr"],
        "samples_per_second": s["train_samples_per_second"],
    }


def logistic_regression(args: argparse.Namespace) -> dict[str, Any]:
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import f1_score

    from workbench import TrainConfig
    from workbench.tasks.image_classification import prepare_images

    cfg = TrainConfig().replace(
        task="image-classification",
        dataset="fashion-mnist",
        max_train_samples=args.train,
        max_eval_samples=args.eval,
        seed=args.seed,
    )
    data = prepare_images(cfg.data, cfg.optim.seed)  # the same split the fine-tunes use

    def pixels(split: Any) -> Any:
        assert split.pixels is not None
        return split.pixels.reshape(len(split), -1).astype(np.float32) / 255.0

    tick = time.perf_counter()
    clf = LogisticRegression(max_iter=args.lr_iterations)
    clf.fit(pixels(data.train), data.train.labels)
    pred = clf.predict(pixels(data.test))
    truth = np.asarray(data.test.labels)
    return {
        "test_accuracy": float((pred == truth).mean()),
        "test_macro_f1": float(f1_score(truth, pred, average="macro")),
        "seconds": round(time.perf_counter() - tick, 1),
        "train_images": len(data.train),
        "test_images": len(data.test),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=int, default=12_000, help="Training images.")
    parser.add_argument("--eval", type=int, default=2_000, help="Validation and test images each.")
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=None, help="Default: the method's default.")
    parser.add_argument("--epochs", type=float, default=1.0)
    parser.add_argument(
        "--bn-momentum",
        type=float,
        help="batch-norm momentum of the fine-tuned models (default: the task's, "
        "workbench.tasks.image_classification.model.BN_MOMENTUM; 0.01 is the package's "
        "TensorFlow default, to measure what the task's choice changes)",
    )
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--lr-iterations", type=int, default=300, help="Logistic regression.")
    parser.add_argument("--arms", default="logistic_regression,finetuned,random_init")
    parser.add_argument("--out", help="Raw output file (default bench/results/image-<date>.json).")
    parser.add_argument(
        "--threads",
        type=int,
        help="torch intra-op threads (default: torch's choice, one per core); on a machine "
        "busy with other work, 1 avoids threads waiting for each other",
    )
    args = parser.parse_args()
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)

    if args.bn_momentum is not None:
        from workbench.tasks.image_classification import model

        model.BN_MOMENTUM = args.bn_momentum  # read when the backbone is built
    started = header(["bench/image_baseline.py"])
    arms: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for arm in args.arms.split(","):
            print(f"== {arm}", flush=True)
            if arm == "logistic_regression":
                arms[arm] = logistic_regression(args)
            else:
                arms[arm] = fine_tune(args, Path(tmp) / arm, pretrained=arm == "finetuned")
            print(json.dumps(arms[arm]), flush=True)
    import torch

    record = {
        **started,
        **finish(started),
        "command": " ".join(["python", *sys.argv]),
        "settings": {
            **vars(args),
            "torch_threads": torch.get_num_threads(),
            "bn_momentum": _bn_momentum(),
        },
        "arms": arms,
    }
    default = ROOT / "bench" / "results" / f"image-{dt.date.today().isoformat()}.json"
    out = Path(args.out) if args.out else default
    out.write_text(json.dumps(record, indent=1), encoding="utf-8")
    print(describe(record))
    for name, arm in arms.items():
        print(f"{name:<22} test accuracy {arm['test_accuracy']:.4f}  {arm['seconds']:>7.1f} s")
    print(f"raw output: {out}")
    return 0


def _bn_momentum() -> float:
    from workbench.tasks.image_classification import model

    return float(model.BN_MOMENTUM)


if __name__ == "__main__":
    raise SystemExit(main())

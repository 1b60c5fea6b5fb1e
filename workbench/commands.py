"""What each ``workbench`` subcommand does (argument parsing lives in :mod:`workbench.cli`)."""

from __future__ import annotations

import argparse
import sys
import traceback
from typing import Any

from workbench.cli import config_from_args, open_run, print_json
from workbench.console import abandon, follow, is_main_process, print_findings
from workbench.errors import USER_ERRORS, UserError


def cmd_models(args: argparse.Namespace) -> int:
    from workbench.models.listing import describe_catalog, format_catalog

    rows = describe_catalog()
    print_json(rows) if args.json else print(format_catalog(rows))
    return 0


def cmd_datasets(args: argparse.Namespace) -> int:
    from workbench.data import list_datasets

    rows = list_datasets()
    if args.json:
        print_json(rows)
        return 0
    for r in rows:
        avail = "available" if r.get("available") else "NOT INSTALLED"
        size = f"{r['rows']:,} rows, {r['classes']} classes" if r.get("rows") else ""
        width = max(20, *(len(row["name"]) for row in rows))
        print(f"{r['name']:<{width}} {avail:<14} {size:<26} {r.get('description', '')}")
    print(
        "Also: any CSV/TSV/JSONL/Parquet file path (--dataset FILE), a pandas DataFrame or "
        "datasets.Dataset from Python; for images a folder with one subfolder per class, or a "
        "CSV/Parquet file of image paths and labels."
    )
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from workbench.runs import train

    handle = train(resume=args.resume) if args.resume else train(config_from_args(args))
    try:
        follow(handle, args.quiet)
        handle.wait()
    except KeyboardInterrupt:  # the second Ctrl-C
        return abandon(handle)
    if handle.error is not None:
        if isinstance(handle.error, USER_ERRORS):
            raise handle.error
        message = handle.summary.get("error") if handle.summary else str(handle.error)
        if not isinstance(handle.error, RuntimeError) or "loss became" not in str(handle.error):
            traceback.print_exception(handle.error, file=sys.stderr)
        print(f"error: run failed: {message}", file=sys.stderr)
        if handle.run_dir:
            print(f"run directory: {handle.run_dir}", file=sys.stderr)
        return 1
    if not is_main_process():
        return 0
    summary = handle.summary or {}
    print(f"run directory: {handle.run_dir}")
    print(f"status: {summary.get('status')}")
    if summary.get("status") == "stopped":
        print(f"resume with: workbench train --resume {handle.run_dir}")
    if summary.get("test_macro_f1") is not None:
        print(
            f"test macro-F1 {summary['test_macro_f1']:.4f}  "
            f"test accuracy {summary['test_accuracy']:.4f}  "
            f"({summary['trainable_parameters']:,} of {summary['total_parameters']:,} "
            f"parameters trained, {summary['train_samples_per_second']} samples/s)"
        )
    if summary.get("test_perplexity") is not None:  # a causal-LM run
        from workbench.commands_causal_lm import print_lm_summary

        print_lm_summary(summary, handle.run_dir)
    for line in _task_of(handle.config).summary_lines(summary, handle.run_dir):
        print(line)
    print_findings(
        summary,
        handle.run_dir / "config.yaml" if handle.run_dir else None,
        fixed_out=handle.config.run.out is not None,
    )
    done = handle.session is not None and summary.get("status") == "completed"
    if args.demo and done and _task_of(handle.config).tfidf_baseline:
        demo_baseline(handle, summary)
    return 0


def _task_of(config: Any) -> Any:
    from workbench.tasks import get_task

    return get_task(config.model.task)


def cmd_check(args: argparse.Namespace) -> int:
    """The coach's pre-flight findings for these settings; exit 2 on an error finding."""
    from workbench.coach import describe, raise_errors
    from workbench.coach.base import planned_steps
    from workbench.training.checkup import check_settings
    from workbench.training.session import prepare_task_data

    config = config_from_args(args).resolved()
    findings, checks = check_settings(config)
    data = prepare_task_data(config)  # cached: check_settings prepared it
    per_epoch, total = planned_steps(config, len(data.train))
    sizes = " · ".join(f"{len(getattr(data, s)):,} {s}" for s in ("train", "val", "test"))
    print(f"plan: {sizes} rows; {per_epoch} steps per epoch, {total} steps in all")
    for finding in findings:
        print("\n".join(describe(finding)))
    if not findings:
        print(f"no findings: nothing to flag for these settings ({checks} checks ran)")
    raise_errors(findings)
    return 0


def demo_baseline(handle: Any, summary: dict[str, Any]) -> None:
    """Print the fine-tune next to TF-IDF + logistic regression on the same split."""
    from workbench.baseline import tfidf_baseline
    from workbench.runs.directory import write_json

    base = tfidf_baseline(handle.session.data, handle.config.optim.seed)
    summary["baseline_tfidf"] = base
    write_json(handle.run_dir / "summary.json", summary)
    print()
    print(f"{'held-out test':<34}{'macro-F1':>10}{'accuracy':>10}")
    print(
        f"{'fine-tuned ' + handle.config.model.model:<34}"
        f"{summary['test_macro_f1']:>10.4f}{summary['test_accuracy']:>10.4f}"
    )
    print(
        f"{'TF-IDF + logistic regression':<34}"
        f"{base['test_macro_f1']:>10.4f}{base['test_accuracy']:>10.4f}"
    )
    print(f"loss curves: {handle.run_dir / 'loss_curves.png'}")


def cmd_eval(args: argparse.Namespace) -> int:
    import torch

    from workbench.data import prepare_data
    from workbench.tasks import classification_metrics

    run = open_run(args.run)
    own = _task_of(run.config).run_command("eval", run, args)
    if own is not None:  # a task with its own evaluation (image-classification)
        return int(own)
    if _task_of(run.config).generates:  # perplexity and answers instead of labels
        from workbench.commands_causal_lm import eval_lm_run

        return eval_lm_run(run, args.json, args.compare_with)
    if args.compare_with:
        raise UserError("--compare-with needs a causal-lm run as --run (the classifier goes there)")
    data = prepare_data(run.config.data, run.config.optim.seed)
    preds = run.predict(data.test.texts)
    labels = run.summary.get("labels") or data.labels
    if list(labels) != list(data.labels):
        unseen = [name for name in data.labels if name not in labels]
        if unseen:
            raise UserError(
                f"the test data of {run.path} has labels the model never trained on: "
                f"{', '.join(map(repr, unseen))}; it knows {', '.join(map(repr, labels))}. "
                "Evaluate on data with those labels only, or train a new run on this data"
            )
        raise UserError(f"the run's labels {labels} differ from its data's {data.labels}")
    probs = torch.tensor([[p["probs"][name] for name in labels] for p in preds])
    metrics = classification_metrics(
        probs.clamp_min(1e-12).log(), torch.tensor(data.test.labels), list(labels)
    )
    if args.json:
        print_json(metrics)
        return 0
    print(f"run {run.path} — test split of {len(data.test)} examples")
    print(f"accuracy {metrics['accuracy']:.4f}  macro-F1 {metrics['macro_f1']:.4f}")
    print(f"{'class':<16}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>9}")
    for name, m in metrics["per_class"].items():
        print(
            f"{name:<16}{m['precision']:>10.4f}{m['recall']:>10.4f}{m['f1']:>10.4f}"
            f"{m['support']:>9}"
        )
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    from pathlib import Path

    if getattr(args, "image", None) or _owns(args.run, "predict"):
        run = open_run(args.run)  # e.g. an image run: its task reads the image files
        own = _task_of(run.config).run_command("predict", run, args)
        if own is None:
            raise UserError(
                f"run {run.path} is a {run.config.model.task} run: it reads texts, not images "
                "(use --text or --file)"
            )
        return int(own)
    texts = list(args.text)
    if args.file:
        path = Path(args.file)
        if not path.is_file():
            raise UserError(f"file not found: {path}")
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except UnicodeDecodeError as err:
            raise UserError(
                f"--file {path} is not UTF-8 text (byte 0x{err.object[err.start]:02x} at offset "
                f"{err.start}); save it as UTF-8, one text per line"
            ) from None
        texts += [line for line in lines if line.strip()]
    if not texts:
        raise UserError("nothing to predict: give --text TEXT (repeatable) or --file FILE")
    run = open_run(args.run)
    if _task_of(run.config).generates:  # an answer per prompt instead of a label
        from workbench.commands_causal_lm import predict_lm_run

        return predict_lm_run(run, texts, args.json)
    preds = run.predict(texts)
    if args.json:
        print_json(preds)
    else:
        for p in preds:
            print(f"{p['label']}\t{p['confidence']:.3f}\t{p['text']}")
    return 0


def cmd_explain(args: argparse.Namespace) -> int:
    from pathlib import Path

    from workbench.attribution import explain, get_attribution_method
    from workbench.attribution.engine import resolve_target
    from workbench.attribution.html import plain_words, save_html

    if args.prompt is not None or _generates(args.run):
        from workbench.commands_causal_lm import explain_lm_run

        return explain_lm_run(args)
    if getattr(args, "image", None) or _owns(args.run, "explain"):
        run = open_run(args.run)  # e.g. an image run: its task explains an image
        own = _task_of(run.config).run_command("explain", run, args)
        if own is None:
            raise UserError(
                f"run {run.path} is a {run.config.model.task} run: explain a text with --text"
            )
        return int(own)
    if args.text is None:
        raise UserError("nothing to explain: give --text TEXT")
    get_attribution_method(args.method)  # fail fast, before loading a model
    if not args.text.strip():
        raise UserError("nothing to explain: --text is empty")
    for flag in ("json", "html", "png"):
        folder = Path(getattr(args, flag) or ".").expanduser().parent
        if not folder.is_dir():
            raise UserError(f"--{flag}: folder {folder} does not exist")
    run = open_run(args.run)
    model, tokenizer = run.load_model()
    labels = [model.config.id2label[i] for i in range(model.config.num_labels)]
    resolve_target(labels, args.target, 0)  # unknown label: error listing the allowed ones
    e = explain(
        model,
        tokenizer,
        args.text,
        method=args.method,
        target=args.target,
        trust=not args.no_trust,
        max_length=run.config.model.max_length,
    )
    best = e.predicted["label"]
    print(
        f"prediction: {best} ({e.probs[best]:.3f})   "
        + "  ".join(f"{name} {p:.3f}" for name, p in e.probs.items())
    )
    print(f"method: {e.method} — {e.explains}")
    print(f"top words ({'signed' if e.signed else 'magnitude'}):")
    for word, score in e.top_words(args.top):
        print(f"  {score:+9.4f}  {word}")
    for line in plain_words(e):
        print(line)
    for note in e.notes:
        print(f"note: {note}")
    for flag, write in (("json", _write_json), ("html", save_html), ("png", _write_png)):
        if getattr(args, flag):
            path = Path(getattr(args, flag)).expanduser()
            write(e, path)
            print(f"{flag}: {path}")
    return 0


def _generates(run_dir: str) -> bool:
    """Whether ``run_dir`` holds a run whose model generates answers (a causal LM: its
    config's task says so)."""
    from workbench.tasks import TASKS

    task = TASKS.get(_run_task(run_dir) or "")
    return task is not None and task.generates


def _owns(run_dir: str, command: str) -> bool:
    """Whether the task of the run in ``run_dir`` has its own ``command`` (``Task.commands``)."""
    from workbench.tasks import TASKS

    task = TASKS.get(_run_task(run_dir) or "")
    return task is not None and command in task.commands


def _run_task(run_dir: str) -> str | None:
    """The task ``run_dir``'s config names, read without validating the config (None when
    there is none: ``load_run`` reports a missing or broken run directory)."""
    from pathlib import Path

    import yaml

    path = Path(run_dir).expanduser() / "config.yaml"
    try:
        config = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        return None
    model = config.get("model") if isinstance(config, dict) else None
    task = model.get("task") if isinstance(model, dict) else None
    return task if isinstance(task, str) else None


def _write_json(e: Any, path: Any) -> None:
    import json

    path.write_text(json.dumps(e.to_dict(), indent=2, ensure_ascii=False), encoding="utf-8")


def _write_png(e: Any, path: Any) -> None:
    from workbench.attribution.plot import save_png

    save_png(e, path)


def cmd_sweep(args: argparse.Namespace) -> int:
    """A hyperparameter search (:mod:`workbench.commands_sweep`)."""
    from workbench.commands_sweep import cmd_sweep as run_sweep

    return run_sweep(args)


def cmd_lab(args: argparse.Namespace) -> int:
    """Start JupyterLab (from this environment) on the starter notebook."""
    import shutil
    import subprocess
    from pathlib import Path

    jupyter = Path(sys.executable).with_name("jupyter")
    exe = str(jupyter) if jupyter.is_file() else shutil.which("jupyter")
    if exe is None:
        raise UserError("jupyter is not installed in this environment; run: pip install jupyterlab")
    notebook = Path(args.notebook)
    cmd = [exe, "lab"] + ([str(notebook)] if notebook.is_file() else [])
    if args.port:
        cmd.append(f"--port={args.port}")
    return subprocess.call(cmd)

"""``workbench eval`` / ``explain`` / ``train`` output for causal-LM runs.

Kept apart so the classification commands stay short; ``eval``, ``predict``, ``explain``
and ``train`` call these for a run whose task generates answers.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from workbench.cli.common import open_run, print_json
from workbench.errors import UserError
from workbench.tasks import get_task


def print_lm_summary(summary: dict[str, Any], run_dir: Any) -> None:
    """Test perplexity, exact match, and the before/after generations of a run."""
    print(
        f"test loss {summary['test_loss']:.4f}  perplexity {summary['test_perplexity']:.2f}  "
        f"exact match {summary['test_accuracy']:.4f}  "
        f"({summary['trainable_parameters']:,} of {summary['total_parameters']:,} "
        "parameters trained)"
    )
    if run_dir is not None:
        print_generations(Path(run_dir))


def print_generations(run_dir: Path, width: int = 34) -> None:
    from workbench.tasks.causal_lm.runs import read_generations

    rows = read_generations(run_dir)
    if not rows:
        return
    print(f"\ngreedy answers to held-out prompts ({run_dir / 'generations.json'}):")
    print(f"{'reference':<12}  {'before fine-tuning':<{width}}  after fine-tuning")
    for r in rows:
        before = _cut(r["before"], width)
        print(f"{_cut(r['reference'], 12):<12}  {before:<{width}}  {_cut(r['after'], width)}")


def _cut(text: str, n: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= n else text[: n - 1] + "…"


def eval_lm_run(run: Any, as_json: bool, compare_with: str | None = None) -> int:
    from workbench.tasks.causal_lm.runs import compare_with_classifier, evaluate_run_lm

    model, tokenizer = run.load_model()
    metrics = evaluate_run_lm(model, tokenizer, run.config)
    if compare_with:
        metrics["classifier_comparison"] = compare_with_classifier(
            run.path, Path(compare_with).expanduser()
        )
    if as_json:
        print_json(metrics)
        return 0
    print(f"run {run.path} — test split of {metrics['examples']} examples")
    print(
        f"loss {metrics['loss']:.4f}  perplexity {metrics['perplexity']:.2f}  "
        f"exact match {metrics['accuracy']:.4f}"
    )
    for name, m in (metrics.get("per_class") or {}).items():
        print(f"  {name:<16} exact match {m['exact_match']:.4f}  (support {m['support']})")
    comparison = metrics.get("classifier_comparison")
    if comparison:
        print(
            f"same test split as the classifier ({comparison['examples']} examples): "
            f"LLM exact match {comparison['llm_exact_match']:.4f}, classifier accuracy "
            f"{comparison['classifier_accuracy']:.4f}; both right "
            f"{comparison['both_right']:.1%}, only the LLM {comparison['only_llm_right']:.1%}, "
            f"only the classifier {comparison['only_classifier_right']:.1%}"
        )
    print_generations(run.path)
    return 0


def explain_lm_run(args: argparse.Namespace) -> int:
    """Attribute a causal-LM run's answer to the prompt's words (base vs fine-tuned)."""
    from workbench.tasks.causal_lm.attribution import (
        LLM_METHODS,
        compare_base_tuned,
        explain_answer,
    )
    from workbench.tasks.causal_lm.attribution_html import save_lm_html

    method = "layer-ig" if args.method in (None, "layer-ig") else args.method
    if method not in LLM_METHODS:
        raise UserError(
            f"--method {method!r} does not fit a causal-LM run; choose one of "
            f"{', '.join(LLM_METHODS)}"
        )
    prompt = args.prompt if args.prompt is not None else args.text
    if prompt is None or not prompt.strip():
        raise UserError("nothing to explain: give --prompt TEXT (and optionally --answer TEXT)")
    for flag in ("json", "html"):
        folder = Path(getattr(args, flag) or ".").expanduser().parent
        if not folder.is_dir():
            raise UserError(f"--{flag}: folder {folder} does not exist")
    run = open_run(args.run)
    if not get_task(run.config.model.task).generates:
        raise UserError(
            f"run {run.path} is a {run.config.model.task} run; use --text, not --prompt"
        )
    model, tokenizer = run.load_model(adapter=True)  # base + adapter: both can be explained
    if hasattr(model, "disable_adapter"):
        explanations = compare_base_tuned(model, tokenizer, prompt, args.answer, method)
    else:
        explanations = [explain_answer(model, tokenizer, prompt, args.answer, method)]
    tuned = explanations[-1]
    print(f"answer: {tuned.answer}")
    print(f"method: {method} (scores: change of the answer's log-probability)")
    for e in explanations:
        print(f"top words, {e.model_label} model:")
        for word, score in e.top_words(args.top):
            print(f"  {score:+9.4f}  {word}")
    if args.html:
        path = Path(args.html).expanduser()
        save_lm_html(explanations, path)
        print(f"html: {path}")
    if args.json:
        path = Path(args.json).expanduser()
        data = [e.to_dict() for e in explanations]
        path.write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding="utf-8")
        print(f"json: {path}")
    return 0


def predict_lm_run(run: Any, texts: list[str], as_json: bool) -> int:
    """Greedy answers of a causal-LM run's fine-tuned model, one per prompt."""
    from workbench.tasks.causal_lm.generation import generate_answers

    model, tokenizer = run.load_model()
    prompts = [[{"role": "user", "content": t}] for t in texts]
    answers = generate_answers(model, tokenizer, prompts, max_new_tokens=48)
    rows = [{"prompt": t, "answer": a} for t, a in zip(texts, answers, strict=True)]
    if as_json:
        print_json(rows)
    else:
        for r in rows:
            print(f"{r['answer']}\t{r['prompt']}")
    return 0

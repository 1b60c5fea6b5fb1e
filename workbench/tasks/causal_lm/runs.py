"""A finished causal-LM run, read back from its directory: model, evaluation, generations.

``model/`` holds the merged model (plain transformers); ``adapter/`` the peft adapter of a
LoRA/IA3 run. With an adapter the fine-tuned model is rebuilt as *pretrained + adapter*, so
the adapter can be switched off again to compare with the base model. A run without
``model/`` (stopped by an older version) is rebuilt from its best, else last, checkpoint by
``Run.load_model`` (:mod:`workbench.runs.restore`), which calls these through the task.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from workbench.config import TrainConfig
from workbench.errors import RunError


def load_merged(folder: Path) -> tuple[Any, Any]:
    """``(model, tokenizer)`` of an exported ``model/`` (adapters merged), in eval mode."""
    from transformers import AutoTokenizer

    from workbench.models.loading import ModelSource, load_causal_lm, quiet_transformers

    with quiet_transformers():
        model = load_causal_lm(ModelSource(str(folder), str(folder), True))
        tokenizer = AutoTokenizer.from_pretrained(str(folder))
    return model.eval(), tokenizer


def load_with_adapter(run_dir: Path, config: TrainConfig) -> tuple[Any, Any] | None:
    """``(PeftModel, tokenizer)``: the pretrained model with the run's ``adapter/``, so the
    adapter can be switched off to compare with the base model; None without an adapter."""
    adapter = run_dir / "adapter"
    if not (adapter / "adapter_config.json").is_file():
        return None
    from peft import PeftModel
    from transformers import AutoTokenizer

    from workbench.models.loading import load_causal_lm, quiet_transformers, resolve_model

    with quiet_transformers():
        base = load_causal_lm(resolve_model(config.model.model), config.model.trust_remote_code)
        model = PeftModel.from_pretrained(base, str(adapter))
        tokenizer = AutoTokenizer.from_pretrained(str(adapter))
    return model.eval(), tokenizer


def evaluate_run_lm(
    model: Any, tokenizer: Any, config: TrainConfig, batch_size: int = 16
) -> dict[str, Any]:
    """Test loss, perplexity and exact-match of a run's model (``Run.load_model()``: the
    exported one), recomputed on the test split its config prepares."""
    from torch.utils.data import DataLoader

    from workbench.tasks.causal_lm.batching import encode_pairs
    from workbench.tasks.causal_lm.task import CausalLM, lm_metrics

    task = CausalLM()
    data = task.prepare_data(config)
    encoded = encode_pairs(tokenizer, data.test, config.model.max_length)
    loader = DataLoader(encoded, batch_size=batch_size, collate_fn=task.collator(tokenizer))
    metrics = lm_metrics(model, loader, None, task, data.test)
    metrics.pop("exact", None)
    metrics["examples"] = len(data.test)
    return metrics


def read_generations(path: Path) -> list[dict[str, Any]]:
    """Rows of ``generations.json`` (before vs after answers), or [] when there is none."""
    file = path / "generations.json"
    if not file.is_file():
        return []
    rows = json.loads(file.read_text(encoding="utf-8"))
    return rows if isinstance(rows, list) else []


def _jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        raise RunError(f"{path} is missing: the run did not finish testing")
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def compare_with_classifier(lm_dir: Path, classifier_dir: Path) -> dict[str, Any]:
    """A fine-tuned LLM and a fine-tuned classifier on the same test split, example by example.

    The LLM's example counts as right when its greedy answer is exactly the label word; the
    classifier's when its predicted class is the label. Both runs must have used the same
    split (``tweets-sentiment-instruct`` and ``tweets-sentiment`` with equal data settings
    and seed): each LLM prompt must end with the classifier's text at the same position.
    """
    lm = _jsonl(lm_dir / "test_predictions.jsonl")
    clf = _jsonl(classifier_dir / "test_predictions.jsonl")
    same = len(lm) == len(clf) and all(
        str(a.get("prompt", "")).endswith(str(b.get("text", "")))
        for a, b in zip(lm, clf, strict=False)
    )
    if not same or not lm:
        raise RunError(
            f"{lm_dir} and {classifier_dir} were not tested on the same split ({len(lm)} vs "
            f"{len(clf)} examples); train both with the same data settings and seed "
            "(tweets-sentiment-instruct and tweets-sentiment)"
        )
    llm_right = [bool(r["exact_match"]) for r in lm]
    clf_right = [r.get("label") == r.get("predicted") for r in clf]
    n = len(lm)
    pairs = list(zip(llm_right, clf_right, strict=True))
    return {
        "examples": n,
        "llm_exact_match": sum(llm_right) / n,
        "classifier_accuracy": sum(clf_right) / n,
        "both_right": sum(a and b for a, b in pairs) / n,
        "only_llm_right": sum(a and not b for a, b in pairs) / n,
        "only_classifier_right": sum(b and not a for a, b in pairs) / n,
    }

"""Model cards: ``model/README.md`` and ``adapter/README.md`` in the Hugging Face format.

A card is YAML metadata between ``---`` lines (``base_model``, ``library_name``,
``pipeline_tag``, ``tags``, ``datasets`` where known, and a ``model-index`` with the test
metrics, as the Hub reads them) and a Markdown body: what the model is, the training
configuration, the data (sizes and what cleaning removed), the evaluation (test metrics and
a per-class table), intended use and limitations (with the coach's findings for the run)
and how to load it. The metadata is written by ``yaml.safe_dump``; every user string in
the body (labels, file names, messages) is escaped for Markdown and HTML, so a label such
as ``<script>`` or ``| x |`` stays text.
"""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

import yaml

#: Markdown characters that start markup mid-line (emphasis, code, links, tables,
#: strike-through); escaped with a backslash in user strings. ``<``/``>``/``&`` are
#: HTML-escaped; the card puts user strings only mid-line, where ``#``, ``-`` or ``1.``
#: start nothing.
_MARKDOWN = re.compile(r"([\\`*_\[\]|~])")
#: Metrics of the ``model-index``: summary key → (Hub metric type, name, arguments).
INDEX_METRICS = {
    "test_accuracy": ("accuracy", "Test accuracy", None),
    "test_macro_f1": ("f1", "Test macro-F1", {"average": "macro"}),
    "test_perplexity": ("perplexity", "Test perplexity", None),
    "test_loss": ("loss", "Test loss", None),
}
SETTINGS = (
    ("model", "method"),
    ("model", "lora_r"),
    ("model", "lora_alpha"),
    ("model", "max_length"),
    ("model", "image_size"),
    ("model", "pretrained"),
    ("optim", "lr"),
    ("optim", "epochs"),
    ("optim", "batch_size"),
    ("optim", "scheduler"),
    ("optim", "warmup_fraction"),
    ("optim", "weight_decay"),
    ("optim", "seed"),
    ("regularization", "label_smoothing"),
    ("regularization", "l2sp"),
)


def md(value: Any) -> str:
    """``value`` as inert Markdown text: HTML-escaped, markup characters backslashed, one
    line."""
    text = html.escape(str(value), quote=False).replace("\n", " ").replace("\r", " ")
    return _MARKDOWN.sub(r"\\\1", text)


def code(value: Any) -> str:
    """``value`` as an inline code span (shown as typed: no escapes inside; backticks and
    line breaks, which would end it, replaced)."""
    text = str(value).replace("`", "'").replace("\n", " ").replace("\r", " ")
    return f"`{text}`"


def model_card(
    config: Any,
    summary: dict[str, Any],
    *,
    task: Any,
    base_model: str | None,
    data: dict[str, Any],
    adapter: bool = False,
) -> str:
    """The card of a finished run's exported model (``adapter``: of its peft adapter).

    ``data``: ``source``, ``dataset`` (a name the Hub may know, else None), split ``sizes``
    and the ``cleaning`` steps (``step``, ``removed``) of the prepared data.
    """
    meta: dict[str, Any] = {}
    if base_model:
        meta["base_model"] = base_model
    meta["library_name"] = "peft" if adapter else task.card_library
    meta["pipeline_tag"] = task.card_pipeline_tag
    meta["tags"] = ["finetune-workbench", task.name, str(config.model.method)]
    if data.get("dataset"):
        meta["datasets"] = [str(data["dataset"])]
    metrics = [
        {"type": kind, "value": round(float(summary[key]), 4), "name": name}
        | ({"args": args} if args else {})
        for key, (kind, name, args) in INDEX_METRICS.items()
        if isinstance(summary.get(key), (int, float))
    ]
    if metrics:
        meta["model-index"] = [
            {
                "name": str(summary.get("run_name") or config.model.model),
                "results": [
                    {
                        "task": {"type": task.card_pipeline_tag},
                        "dataset": {
                            "name": str(data.get("dataset") or data.get("source") or "custom"),
                            "type": str(data.get("dataset") or "custom"),
                            "split": "test",
                        },
                        "metrics": metrics,
                    }
                ],
            }
        ]
    front = yaml.safe_dump(meta, sort_keys=False, allow_unicode=True)
    return f"---\n{front}---\n\n" + "\n".join(
        _body(config, summary, task, base_model, data, adapter)
    )


def _body(
    config: Any,
    summary: dict[str, Any],
    task: Any,
    base_model: str | None,
    data: dict[str, Any],
    adapter: bool,
) -> list[str]:
    base = base_model or config.model.model
    what = "A peft adapter" if adapter else "A model"
    lines = [
        f"# {md(Path(str(config.model.model)).name)} fine-tuned for {md(task.name)}",
        "",
        f"{what} fine-tuned from {code(base)} with "
        "Finetune Workbench "
        f"({md(config.model.method)}, status {md(summary.get('status', '?'))}, "
        f"{summary.get('steps', '?')} steps).",
        "",
        "## Training configuration",
        "",
        "| setting | value |",
        "|---|---|",
    ]
    for section, name in SETTINGS:
        if _applies(config, section, name, task.name):
            lines.append(f"| {name} | {md(getattr(getattr(config, section), name))} |")
    lines += ["", "## Data", "", f"Source: {md(data.get('source', '?'))}.", ""]
    sizes = data.get("sizes") or {}
    if sizes:
        lines.append(
            "Examples per split: " + ", ".join(f"{md(k)} {v:,}" for k, v in sizes.items()) + "."
        )
    removed = [s for s in data.get("cleaning") or [] if s.get("removed")]
    if removed:
        lines.append(
            "Cleaning removed: "
            + "; ".join(f"{md(s['step'])} {s['removed']:,}" for s in removed)
            + "."
        )
    labels = summary.get("labels") or []
    if labels:
        lines.append(f"Classes: {', '.join(md(x) for x in labels)}.")
    lines += ["", "## Evaluation", "", "On the held-out test split:", ""]
    for key, (_, name, _) in INDEX_METRICS.items():
        if isinstance(summary.get(key), (int, float)):
            lines.append(f"- {name}: {float(summary[key]):.4f}")
    per_class = summary.get("test_per_class") or {}
    columns = sorted({c for scores in per_class.values() for c in scores}, key=_column_order)
    if per_class and columns:
        lines += ["", "| class | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|"]
        for label, scores in per_class.items():
            cells = " | ".join(_cell(scores.get(c)) for c in columns)
            lines.append(f"| {md(label)} | {cells} |")
    lines += [
        "",
        "## Intended use and limitations",
        "",
        f"Made for {md(task.name)} on data like the training data above; scores on other "
        "data (another domain, time or population) can be much lower, and the test split "
        f"holds only {sizes.get('test', '?')} examples. Check it on your own held-out "
        "data before relying on it.",
    ]
    findings = [f for f in summary.get("findings") or [] if f.get("severity") != "info"]
    if findings:
        lines += ["", "The workbench's coach flagged this run:", ""]
        lines += [
            f"- **{md(f.get('severity', ''))}**: {md(f.get('message', ''))}"
            + (f" — fix: {md(f['fix'])}" if f.get("fix") else "")
            for f in findings
        ]
    lines += [
        "",
        "## How to use",
        "",
        "```python",
        *task.card_usage(adapter, [str(x) for x in labels]),
        "```",
        "",
    ]
    return lines


def _applies(config: Any, section: str, name: str, task: str) -> bool:
    """Whether the card lists setting ``name``: set, read by this task (a field's
    ``tasks`` metadata) and by this method (LoRA's own settings only for LoRA)."""
    import dataclasses

    values = getattr(config, section, None)
    if values is None or getattr(values, name, None) is None:
        return False
    meta: Any = {f.name: f.metadata for f in dataclasses.fields(values)}.get(name, {})
    if meta.get("tasks") and task not in meta["tasks"]:
        return False
    return not (name.startswith("lora") and config.model.method != "lora")


def _column_order(name: str) -> tuple[int, str]:
    order = ["precision", "recall", "f1", "exact_match", "support"]
    return (order.index(name) if name in order else len(order), name)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4f}"
    return md(value) if value is not None else "–"


def write_cards(run_dir: Path, config: Any, summary: dict[str, Any], task: Any, data: Any) -> None:
    """Write ``README.md`` into ``model/`` and ``adapter/`` where the run exported them.

    A task that writes its own card (``Task.card_pipeline_tag`` empty) is left alone.
    """
    if not task.card_pipeline_tag:
        return
    facts = data_facts(config, data)
    base = base_model_of(str(config.model.model))
    for folder, adapter in ((run_dir / "model", False), (run_dir / "adapter", True)):
        if folder.is_dir():
            card = model_card(
                config, summary, task=task, base_model=base, data=facts, adapter=adapter
            )
            (folder / "README.md").write_text(card, encoding="utf-8")


def data_facts(config: Any, data: Any) -> dict[str, Any]:
    """Source, Hub-style dataset name (built-ins by name), split sizes and cleaning."""
    from workbench.data.sources import builtin_dataset

    name = str(config.data.dataset)
    sizes = {s: len(getattr(data, s)) for s in ("train", "val", "test") if hasattr(data, s)}
    return {
        "source": getattr(data, "source", name),
        "dataset": name if builtin_dataset(name) is not None else None,
        "sizes": sizes,
        "cleaning": list(getattr(data, "cleaning", []) or []),
    }


def base_model_of(name: str) -> str | None:
    """The Hub id of the base model: a catalog model's, or a given ``owner/name`` id that is
    not a local folder; None for a local folder (the card's text names it)."""
    from workbench.models.catalog import find_entry

    entry = find_entry(name)
    if entry is not None:
        return entry.hub_id
    if re.fullmatch(r"[\w.-]+/[\w.-]+", name) and not Path(name).expanduser().exists():
        return name
    return None

"""Which task a model or a dataset implies, so nobody has to type ``--task causal-lm``.

Fine-tuning SmolLM2 on instruction pairs can only mean instruction tuning; a chat
``messages`` column can only feed a causal LM. When the model or the dataset says so
unambiguously, the config takes that task (the CLI and the widget say so in one line);
when the two disagree, that is an error naming both and how to fix it.

What counts as a signal, cheapest first and never loading a model or reading a file whole:

==========================================  ====================================
source                                      implies
==========================================  ====================================
catalog model (``workbench models``)        its ``task`` (SmolLM2: causal-lm)
local folder, ``config.json`` architectures  ``…ForCausalLM`` / ``…LMHeadModel``:
                                            causal-lm; ``…ForSequenceClassification``:
                                            text-classification; a bare encoder
                                            (``BertModel``): nothing
model folder, ``config.json`` ``task``      that task (image models the workbench exported)
built-in dataset                            the task it is made for
data file: header row, first JSON record    a ``messages`` column or a prompt/response
or Parquet schema                           pair (:data:`PROMPT_COLUMNS`): causal-lm;
                                            an image-path column: image-classification
a folder of class folders of images         image-classification
==========================================  ====================================

A plain text/label file implies nothing: ``text-classification`` stays the default
because it is the default, not because the file asked for it.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

from workbench.config import ConfigError

#: How many bytes of a data file a peek reads at most (one header row, one JSON record).
PEEK_BYTES = 1 << 20

CAUSAL_SUFFIXES = ("ForCausalLM", "LMHeadModel")
CLASSIFIER_SUFFIXES = ("ForSequenceClassification",)


@dataclass(frozen=True)
class Implied:
    """A task and why: ``Implied("causal-lm", "model 'smollm2-135m-instruct' (a causal LM)")``.

    ``firm`` is True when the task's own validation insists on it (a catalog model or a
    built-in dataset made for one task); False for a hint read from a folder's config
    (a causal LM *can* be fine-tuned as a classifier with a new head).
    """

    task: str
    reason: str
    firm: bool = True


def implied_task(model: object, dataset: object) -> Implied | None:
    """The task ``model`` and ``dataset`` imply together, or ``None`` when neither does.

    Raises
    ------
    ConfigError
        When the model implies one task and the dataset another; the message names both
        and how to fix it.
    """
    by_model, by_data = model_implies(model), dataset_implies(dataset)
    if by_model is None or by_data is None:
        return by_model or by_data
    if by_model.task != by_data.task:
        raise _conflict(by_model, by_data)
    both = f"{by_model.reason} and {by_data.reason}"
    return Implied(by_model.task, both, by_model.firm or by_data.firm)


def local_path(text: str) -> Path:
    """``text`` as a path with ``~`` expanded; as written when it cannot be expanded
    (``~name`` of a user this machine does not know raises in ``expanduser``)."""
    try:
        return Path(text).expanduser()
    except (RuntimeError, ValueError, OSError):
        return Path(text)


def model_implies(model: object) -> Implied | None:
    """The task a catalog name or a local model folder implies (no weights are loaded)."""
    from workbench.models.catalog import find_entry

    if not isinstance(model, str) or not model.strip():
        return None
    entry = find_entry(model)
    if entry is not None:
        return Implied(entry.task, f"model {model!r} ({_kind(entry.task)})")
    own = _stated_task(local_path(model) / "config.json")
    if own is not None:  # a model folder exported by one of the workbench's own tasks
        return Implied(own, f"model {model!r} ({_kind(own)} exported by the workbench)")
    architectures = _architectures(local_path(model) / "config.json")
    for name in architectures:
        task = _task_of_architecture(name)
        if task is not None:
            return Implied(task, f"model {model!r} ({name}, {_kind(task)})", firm=False)
    return None


def dataset_implies(dataset: object) -> Implied | None:
    """The task a built-in dataset is made for, or that a data file's columns call for."""
    from workbench.data.sources import dataset_task

    if not isinstance(dataset, str) or not dataset.strip():
        return None
    made_for = dataset_task(dataset)
    if made_for is not None:
        return Implied(made_for, f"dataset {dataset!r} (made for task {made_for})")
    path = local_path(dataset)
    if _is_image_folder(path):
        return Implied("image-classification", f"dataset {dataset!r} (a folder of image folders)")
    columns = peek_columns(path)
    image = _image_column(columns or [])
    if image is not None:
        return Implied("image-classification", f"dataset {dataset!r} (an image column {image!r})")
    found = _instruct_columns(columns or [])
    if found is None:
        return None
    return Implied("causal-lm", f"dataset {dataset!r} ({found})")


def _is_image_folder(path: Path) -> bool:
    """A folder whose subfolders hold image files (looks at a few files only)."""
    from workbench.tasks.image_classification.data import IMAGE_EXTENSIONS

    try:
        if not path.is_dir():
            return False
        for sub in path.iterdir():
            if sub.is_dir():
                for i, file in enumerate(sub.iterdir()):
                    if file.suffix.lower() in IMAGE_EXTENSIONS:
                        return True
                    if i > 20:
                        break
    except OSError:
        return False
    return False


def _image_column(columns: list[str]) -> str | None:
    from workbench.tasks.image_classification.data import IMAGE_NAMES

    names = {c.strip().lower(): c for c in columns}
    found: str | None = next((names[n] for n in IMAGE_NAMES if n in names), None)
    return found


def _conflict(by_model: Implied, by_data: Implied) -> ConfigError:
    """The error for a model and a dataset that imply different tasks."""
    from workbench.data.sources import builtin_names
    from workbench.models.catalog import CATALOG

    models = [e.name for e in CATALOG if e.task == by_data.task]
    datasets = [*builtin_names(by_model.task), _FILE_HINT.get(by_model.task, "a data file")]
    anyway = (
        f", or set task {by_data.task} yourself to fine-tune this model for it"
        if not by_model.firm
        else ""
    )
    return ConfigError(
        f"{by_model.reason} calls for task {by_model.task}, {by_data.reason} for "
        f"{by_data.task}; pick a dataset for {by_model.task} "
        f"({', '.join(datasets)}) or a model for "
        f"{by_data.task} ({', '.join([*models, 'a hub id or local folder'])}){anyway}"
    )


_FILE_HINT = {
    "causal-lm": "a file with a chat 'messages' column or instruction/output columns",
    "text-classification": "a file with text and label columns",
    "image-classification": "a folder with one subfolder of images per class",
}


def peek_columns(path: Path) -> list[str] | None:
    """Column names of a data file from its first line, first JSON record or Parquet
    schema; ``None`` when the file is missing, unreadable or of another kind."""
    suffix = path.suffix.lower()
    try:
        if not path.is_file():
            return None
        if suffix in (".csv", ".tsv", ".txt"):
            return _header_row(path, suffix)
        if suffix in (".jsonl", ".ndjson", ".json"):
            return _first_record_keys(path)
        if suffix in (".parquet", ".pq"):
            import pyarrow.parquet as pq

            return [str(n) for n in pq.read_schema(path).names]  # the footer only
    except (OSError, UnicodeDecodeError, ValueError):  # pyarrow's errors are ValueErrors
        return None
    return None


def _header_row(path: Path, suffix: str) -> list[str]:
    from workbench.data.sources.delimited import sniff_delimiter

    with path.open(encoding="utf-8-sig") as f:
        line = f.readline(PEEK_BYTES)
    return next(csv.reader([line], delimiter=sniff_delimiter(line, suffix)), [])


def _first_record_keys(path: Path) -> list[str] | None:
    """Keys of the first object: a JSON Lines record, an array's first element or a
    document of columns — in all three the keys are the column names."""
    with path.open(encoding="utf-8-sig") as f:
        head = f.read(PEEK_BYTES).lstrip()
    if head.startswith("["):
        head = head[1:].lstrip()
    try:
        record, _ = json.JSONDecoder().raw_decode(head)
    except json.JSONDecodeError:  # the first record is longer than the peek, or not JSON
        return None
    return [str(k) for k in record] if isinstance(record, dict) else None


def _instruct_columns(columns: list[str]) -> str | None:
    """Which instruction-data columns are there (as ``_pairs_from_frame`` matches them)."""
    from workbench.tasks.causal_lm.data import PROMPT_COLUMNS

    names = {c.strip().lower() for c in columns}
    if "messages" in names:
        return "a chat 'messages' column"
    for prompt, _extra, response in PROMPT_COLUMNS:
        if prompt in names and response in names:
            return f"{prompt}/{response} columns"
    return None


def _stated_task(config_json: Path) -> str | None:
    """The ``task`` a model folder's ``config.json`` names (the image task writes one)."""
    try:
        found = json.loads(config_json.read_text(encoding="utf-8")).get("task")
    except (OSError, ValueError, AttributeError):
        return None
    return found if isinstance(found, str) and found in _KNOWN_TASKS else None


_KNOWN_TASKS = ("text-classification", "causal-lm", "image-classification")


def _architectures(config_json: Path) -> list[str]:
    try:
        found = json.loads(config_json.read_text(encoding="utf-8")).get("architectures")
    except (OSError, ValueError, AttributeError):  # missing, not JSON, not an object
        return []
    return [str(a) for a in found] if isinstance(found, list) else []


def _task_of_architecture(name: str) -> str | None:
    if name.endswith(CAUSAL_SUFFIXES) and not name.endswith("WithLMHeadModel"):  # old T5
        return "causal-lm"
    if name.endswith(CLASSIFIER_SUFFIXES):
        return "text-classification"
    return None  # a bare encoder (BertModel) or another head: no guess


def _kind(task: str) -> str:
    return {
        "causal-lm": "a causal LM",
        "text-classification": "a text classifier",
        "image-classification": "an image classifier",
    }.get(task, f"a {task} model")

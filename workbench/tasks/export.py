"""Export a trained transformers model the way the Hugging Face ecosystem loads it.

``model/``: plain transformers with any adapters merged in; ``adapter/``: the peft adapter
alone (LoRA/IA3 runs). Tasks whose model is a transformers model call :func:`export_model`
from their ``finish``; a task with its own format (images) writes its own folders.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench.methods import get_method
from workbench.models.weights import write_dir

if TYPE_CHECKING:
    from workbench.training.session import Session


def export_model(s: Session, run_dir: Path) -> None:
    """``model/``: plain transformers (adapters merged); ``adapter/``: the peft adapter alone."""
    model = s.accelerator.unwrap_model(s.model)
    # Each folder is written aside and renamed into place (write_dir): a Ctrl-C or kill
    # during the export leaves no half-written model/ that would look loadable.
    if get_method(s.config.model.method).uses_peft:
        write_dir(run_dir / "adapter", lambda d: _save(model, s.tokenizer, d))
        # merge on a copy: the live model keeps its adapters for explanation and more training
        merged = copy.deepcopy(model).merge_and_unload()
    else:
        merged = model
    write_dir(run_dir / "model", lambda d: _save(merged, s.tokenizer, d))


def _save(model: Any, tokenizer: Any, folder: Path) -> None:
    model.save_pretrained(folder, safe_serialization=True)
    tokenizer.save_pretrained(folder)

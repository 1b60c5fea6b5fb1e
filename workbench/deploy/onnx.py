"""Export a text classifier run to ONNX, and run the exported graph with ONNX Runtime.

``export_onnx(run_dir)`` turns the run's ``model/`` (plain transformers; LoRA/IA3 adapters
are already merged into it) into ``<run>/onnx/``::

    onnx/model.onnx        the graph: inputs (batch, sequence) int64, output logits (batch, classes)
    onnx/config.json       the model config (id2label: which logit is which class)
    onnx/tokenizer*.json   the tokenizer, so the folder serves on its own
    onnx/export.json       how it was made, and how far it was from PyTorch on a probe batch

The exporter is ``torch.onnx.export(dynamo=True)`` (torch.export + onnxscript). The older
TorchScript exporter (``dynamo=False``) traces BERT under transformers 5 into a graph that
is only right for the traced shape: on MiniLM it was off by 0.009–0.025 in the logits for
any other batch or sequence length, where the dynamo graph was within 1e-7 (docs/onnx.md
has the measurement). optimum-onnx 0.1.0 would need transformers < 4.58.

The folder is written aside and renamed into place, so a failed or killed export never
leaves a half-written ``onnx/`` that looks usable; an export whose graph disagrees with
PyTorch on the probe batch is not installed at all.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import importlib
import io
import json
import logging
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from workbench.errors import RunError, UserError
from workbench.models.weights import write_dir

ONNX_FOLDER = "onnx"
ONNX_FILE = "model.onnx"
INSTALL_HINT = "pip install 'finetune-workbench[onnx]'"
#: Largest |Δ logit| between ONNX Runtime and PyTorch on the probe batch that still installs
#: the export. fp32 on both sides: the dynamo graph of MiniLM is within ~1e-7; an exporter
#: that baked a shape in is off by 1e-2 and more.
PROBE_TOLERANCE = 1e-3
#: Weights above this go to an external ``model.onnx.data`` file (protobuf caps a file at 2 GiB).
EXTERNAL_DATA_BYTES = 1_800_000_000
#: Texts of several lengths, run as one padded batch: shapes the export did not trace.
PROBE_TEXTS = (
    "ok",
    "This is a longer sentence, so the batch needs padding and the graph a new length.",
    "Not bad at all.",
)


@contextlib.contextmanager
def quiet_libraries() -> Iterator[None]:
    """No load reports, progress bars or exporter chatter from transformers and torch.onnx
    while inside: the CLI prints one line, a notebook cell stays readable."""
    from transformers.utils import logging as hf_logging

    verbosity, bars = hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()
    exporter = logging.getLogger("torch.onnx")  # "torchvision is not installed. Skipping …"
    level = exporter.level
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    exporter.setLevel(logging.ERROR)
    try:
        yield
    finally:
        hf_logging.set_verbosity(verbosity)
        exporter.setLevel(level)
        if bars:
            hf_logging.enable_progress_bar()


def require_onnx(*modules: str) -> None:
    """Raise a fix-it :class:`UserError` when an ONNX package is not installed.

    Defaults to everything the export needs: ``onnx``, ``onnxscript`` (the dynamo exporter
    writes the graph with it) and ``onnxruntime`` (the probe check and serving).
    """
    missing = []
    for name in modules or ("onnx", "onnxscript", "onnxruntime"):
        try:
            importlib.import_module(name)
        except ImportError:
            missing.append(name)
    if missing:
        raise UserError(
            f"ONNX export needs {', '.join(missing)}, which "
            f"{'is' if len(missing) == 1 else 'are'} not installed; "
            f"install it with: {INSTALL_HINT}"
        )


def export_onnx(run_dir: str | Path, *, opset: int | None = None) -> Path:
    """Export the run's ``model/`` to ``<run>/onnx/model.onnx``; returns that path.

    Parameters
    ----------
    run_dir:
        A finished text-classification run (``model/`` present).
    opset:
        ONNX opset to target; None takes the exporter's default (20 with torch 2.13).

    The graph takes ``input_ids``, ``attention_mask`` (and ``token_type_ids`` where the
    tokenizer makes them), each ``(batch, sequence)`` int64 with both axes dynamic, and
    returns fp32 ``logits`` ``(batch, classes)``. An existing ``onnx/`` is replaced.
    """
    from workbench import load_run

    run = load_run(run_dir)
    model_dir = run.path / "model"
    if not (model_dir / "config.json").is_file():
        raise RunError(
            f"run {run.path} has no exported model/ folder (status {run.status}); "
            "only a completed or stopped run can be exported"
        )
    if not _is_sequence_classifier(model_dir):
        raise UserError(
            f"ONNX export covers text-classification runs (a transformers sequence "
            f"classifier in model/); {run.path} is a {run.config.model.task} run, whose "
            "model/ folder is the export to use"
        )
    require_onnx()
    target = run.path / ONNX_FOLDER
    # written aside and swapped in: a failed or killed export keeps the previous onnx/
    write_dir(target, lambda tmp: write_onnx(model_dir, tmp, opset=opset))
    return target / ONNX_FILE


def onnx_exportable(run_dir: str | Path) -> bool:
    """Whether :func:`export_onnx` covers this run: its ``model/`` is a transformers
    sequence classifier (the Evaluate tab's **Export ONNX** is off otherwise)."""
    return _is_sequence_classifier(Path(run_dir) / "model")


def _is_sequence_classifier(model_dir: Path) -> bool:
    """``model/config.json`` names a transformers ``…ForSequenceClassification``."""
    try:
        config = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return False
    names = config.get("architectures") if isinstance(config, dict) else None
    return any(str(n).endswith("ForSequenceClassification") for n in names or [])


def _wrapper(model: Any, names: Sequence[str]) -> Any:
    """``model`` as a module of positional tensors in ``names`` order, returning logits:
    torch.export needs tensors in and a tensor out, not a ModelOutput."""
    import torch

    class LogitsOnly(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, *tensors: torch.Tensor) -> torch.Tensor:
            return self.model(**dict(zip(names, tensors, strict=True))).logits.float()

    return LogitsOnly().eval()


def write_onnx(model_dir: str | Path, out: str | Path, *, opset: int | None = None) -> Path:
    """Export the transformers sequence classifier in ``model_dir`` into the existing
    folder ``out`` (graph, config, tokenizer, ``export.json``); returns the graph's path.

    :func:`export_onnx` calls this on a temp folder for a run; use it directly for any
    classifier folder (the benchmark does, for the packaged MiniLM). Raises
    :class:`RunError` when ONNX Runtime's logits on a probe batch are more than
    :data:`PROBE_TOLERANCE` from PyTorch's.
    """
    require_onnx()
    with quiet_libraries():
        _write_export(Path(model_dir), Path(out), opset)
    return Path(out) / ONNX_FILE


def _write_export(model_dir: Path, out: Path, opset: int | None) -> None:
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForSequenceClassification.from_pretrained(
        model_dir, use_safetensors=True, dtype=torch.float32
    ).eval()
    example = tokenizer(["an example", "a second, longer example text"], padding=True)
    names = [n for n in tokenizer.model_input_names if n in example]
    # batch 2 and several tokens: torch.export specializes axes it sees at size 0 or 1
    args = tuple(torch.tensor(example[n], dtype=torch.long) for n in names)
    batch, sequence = torch.export.Dim("batch"), torch.export.Dim("sequence")
    shapes = ({0: batch, 1: sequence} for _ in names)
    weights = sum(p.numel() * p.element_size() for p in model.parameters())
    with torch.no_grad(), warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        # the exporter prints its stages and warns about axis names it merges: noise here
        warnings.simplefilter("ignore")
        program = torch.onnx.export(
            _wrapper(model, names),
            args,
            dynamo=True,
            input_names=names,
            output_names=["logits"],
            dynamic_shapes=(tuple(shapes),),  # one entry: the *tensors varargs
            opset_version=opset,
            verbose=False,
        )
    assert program is not None  # dynamo=True always returns the program
    program.save(str(out / ONNX_FILE), external_data=weights > EXTERNAL_DATA_BYTES)
    model.config.save_pretrained(out)
    tokenizer.save_pretrained(out)
    diff = _probe(model, tokenizer, out)
    if diff > PROBE_TOLERANCE:
        raise RunError(
            f"the ONNX graph of {model_dir} gives logits {diff:.2g} away from PyTorch on a "
            f"probe batch (allowed {PROBE_TOLERANCE:g}); the export was not kept. Report "
            "this with the model's architecture"
        )
    _write_info(out, names, program, diff)


def _probe(model: Any, tokenizer: Any, folder: Path) -> float:
    """Largest |Δ logit| between ONNX Runtime and PyTorch on :data:`PROBE_TEXTS`."""
    import numpy as np
    import torch

    enc = tokenizer(list(PROBE_TEXTS), padding=True, return_tensors="pt")
    with torch.no_grad():
        expected = model(**enc).logits.float().numpy()
    got = onnx_logits(onnx_session(folder), tokenizer, list(PROBE_TEXTS))
    return float(np.abs(got - expected).max())


def _write_info(out: Path, names: Sequence[str], program: Any, diff: float) -> None:
    import onnx
    import onnxruntime
    import onnxscript
    import torch

    opsets = {o.domain or "ai.onnx": o.version for o in program.model_proto.opset_import}
    info = {
        "exporter": "torch.onnx.export(dynamo=True)",
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "inputs": {n: ["batch", "sequence"] for n in names},
        "outputs": {"logits": ["batch", "classes"]},
        "opset": opsets.get("ai.onnx"),
        "probe_max_abs_logit_diff": diff,
        "probe_tolerance": PROBE_TOLERANCE,
        "versions": {
            "torch": torch.__version__,
            "onnx": onnx.__version__,
            "onnxscript": onnxscript.__version__,
            "onnxruntime": onnxruntime.__version__,
        },
    }
    (out / "export.json").write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")


def onnx_session(folder: str | Path, threads: int | None = None) -> Any:
    """An ONNX Runtime CPU session on ``folder/model.onnx`` (``threads``: intra-op threads,
    None lets ONNX Runtime choose)."""
    require_onnx("onnxruntime")
    import onnxruntime as ort

    options = ort.SessionOptions()
    if threads is not None:
        options.intra_op_num_threads = threads
    path = Path(folder) / ONNX_FILE
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def onnx_logits(
    session: Any, tokenizer: Any, texts: Sequence[str], max_length: int | None = None
) -> Any:
    """Logits ``(len(texts), classes)`` (numpy fp32) of the ONNX graph for ``texts``,
    tokenized as one padded batch (truncated to ``max_length`` tokens when given)."""
    wanted = [i.name for i in session.get_inputs()]
    enc = tokenizer(
        list(texts),
        padding=True,
        truncation=max_length is not None,
        max_length=max_length,
        return_tensors="np",
    )
    feed = {name: enc[name].astype("int64") for name in wanted}
    return session.run(["logits"], feed)[0]

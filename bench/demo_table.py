"""The README's *Results* section, regenerated from a committed ``make demo`` run.

    python bench/demo_table.py [bench/results/demo-2026-12-05]

Reads the run files kept in the folder (``config.yaml``, ``summary.json`` with the TF-IDF
baseline the ``--demo`` flag adds, ``events.jsonl``, and the folder's ``README.md`` for
where and when it ran) and prints the Markdown that goes under ``## Results``: every number
in it comes from those files.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = ROOT / "bench" / "results" / "demo-2026-12-05"


def section(folder: Path) -> str:
    config = yaml.safe_load((folder / "config.yaml").read_text(encoding="utf-8"))
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    events = [json.loads(line) for line in (folder / "events.jsonl").read_text().splitlines()]
    setup = next(e for e in events if e["type"] == "setup")
    evals = [e for e in events if e["type"] == "eval"]
    base = summary["baseline_tfidf"]
    m, o = config["model"], config["optim"]
    rising = " → ".join(f"{e['val_macro_f1']:.3f}" for e in evals)
    best = "last" if summary["best_step"] == evals[-1]["step"] else f"step {summary['best_step']}"
    findings = summary.get("findings")
    coach = "the coach flagged nothing" if findings == [] else f"{len(findings or [])} findings"
    return "\n".join(
        [
            f"`make demo` ({m['model']}, {m['method']} fine-tune, "
            f"{config['data']['dataset']} after cleaning, {setup['train_size']:,} training / "
            f"{setup['val_size']:,} validation / {setup['test_size']:,} test tweets, "
            f"{o['epochs']:g} epochs, batch {o['batch_size']}, "
            f"lr {summary['lr']:g}, CPU):",
            "",
            f"| held-out test ({setup['test_size']:,} tweets) | macro-F1 | accuracy |",
            "|---|---|---|",
            f"| fine-tuned {m['model']} ({m['method']}, {summary['steps']} steps) | "
            f"**{summary['test_macro_f1']:.3f}** | **{summary['test_accuracy']:.3f}** |",
            "| TF-IDF (word 1–2-grams) + logistic regression, same split | "
            f"{base['test_macro_f1']:.3f} | {base['test_accuracy']:.3f} |",
            "",
            f"Validation macro-F1 rose {rising} over the {len(evals)} epochs (best checkpoint = "
            f"{best}); {coach}. Raw output: `{folder.relative_to(ROOT)}/` ({_where(folder)}); "
            f"the run's wall time {summary['wall_seconds'] / 60:.1f} minutes. "
            "`python bench/demo_table.py` regenerates this paragraph and table.",
        ]
    )


def _where(folder: Path) -> str:
    """The first sentence of the folder's README: command, date, revision, machine."""
    note = folder / "README.md"
    if not note.is_file():
        return "no notes"
    text = " ".join(note.read_text(encoding="utf-8").split())
    at = text.find(" on ")
    return text[at + 4 : text.find("(wall")].strip().rstrip(",") if at >= 0 else text[:120]


def main(argv: list[str]) -> None:
    folder = Path(argv[0]).resolve() if argv else DEFAULT
    print(section(folder))


if __name__ == "__main__":
    main(sys.argv[1:])

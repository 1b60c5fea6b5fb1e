"""Does the coach's advice help? Small-data scenarios, defaults vs the coach's suggestions.

    python bench/coach.py [--out bench/results/coach-<date>.json] [--only NAME]

Each scenario is a dataset built here (support tickets of three kinds, easy to tell apart
for a person) and the settings a user would start from. For each: train with those
settings, collect the coach's findings (pre-flight and diagnosis, from ``summary.json``),
apply every suggested change (:func:`workbench.coach.combined_changes`) and train again —
what a user clicking **Apply & re-run** gets — and once more if that run's findings still
suggest changes (a second round). Every run is scored on the same 600 fresh tickets that
no run saw (their own test splits are 12–60 rows: too small to compare runs on, which the
coach also says). Writes the raw
numbers with date, machine, load and git revision, and prints the README table.

Scenarios:

``duplicates``  360 rows but only 115 distinct texts: cleaning keeps 115, 91 train; LoRA
                with its defaults (batch 32, 3 epochs: 9 steps). The case that ended at
                chance with nothing said.
``tiny``        150 distinct tickets, IA3 with its defaults.
``imbalanced``  600 tickets, 80 / 15 / 5 %, a head-only probe picking checkpoints by
                accuracy.
``long``        400 tickets of ~160 tokens whose telling sentence comes last (after a
                quoted earlier message); full fine-tune at the default max_length 128.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
#: Rounds of advice after the first run (each applies what the previous run's findings say).
ROUNDS = 2
sys.path.insert(0, str(ROOT))

from bench.train_start import machine  # noqa: E402 - after the path is set

CLASSES = ("billing", "login", "shipping")
CUES = {
    "billing": [
        "I was charged twice for my {plan} subscription",
        "my invoice for {month} shows the wrong amount",
        "please refund the {plan} payment from {month}",
        "the card on file was billed after I cancelled in {month}",
        "why did my {plan} price go up on the last invoice",
    ],
    "login": [
        "I cannot sign in to my {plan} account since {month}",
        "the password reset link for my account never arrives",
        "two-factor code is rejected every time I log in",
        "my account got locked after I typed the password wrong",
        "sign in page keeps saying invalid username since {month}",
    ],
    "shipping": [
        "my {plan} order from {month} has not arrived yet",
        "the parcel tracking has not moved for a week",
        "the courier delivered my package to the wrong address",
        "the box arrived damaged and items are missing",
        "when will my order placed in {month} be shipped",
    ],
}
PLANS = ("basic", "pro", "family", "business", "student", "premium")
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August")
OPENERS = ("Hi,", "Hello team,", "Hey,", "Good morning,", "Dear support,", "")
CLOSERS = ("Thanks.", "Please help.", "Regards.", "Any update?", "", "Thank you!")
QUOTE = (
    "On an earlier date you wrote: thank you for contacting customer support, your request "
    "has been received and a member of our team will get back to you as soon as possible; "
    "please do not reply to this automated message, and keep your reference number for any "
    "future correspondence about this matter. Our opening hours are Monday to Friday, nine "
    "to five, and on Saturday from ten to two; we are closed on public holidays. You can "
    "also find answers to the most common questions in the help centre, where articles "
    "about accounts, orders, payments, delivery, returns and privacy are updated every week "
    "by our staff, and in the community forum where other customers share their tips. "
    "Reference {ref}. Now my reply:"
)


def ticket(label: str, rng: random.Random, long: bool = False) -> str:
    cue = rng.choice(CUES[label]).format(plan=rng.choice(PLANS), month=rng.choice(MONTHS))
    text = " ".join(p for p in (rng.choice(OPENERS), cue + ".", rng.choice(CLOSERS)) if p)
    return f"{QUOTE.format(ref=rng.randrange(10**6))} {text}" if long else text


def tickets(counts: dict[str, int], seed: int, long: bool = False) -> list[tuple[str, str]]:
    """Distinct ``(text, label)`` rows, ``counts[label]`` of each, shuffled."""
    rng, seen, rows = random.Random(seed), set(), []
    for label, n in counts.items():
        made = 0
        while made < n:
            text = ticket(label, rng, long)
            if text not in seen:
                seen.add(text)
                rows.append((text, label))
                made += 1
    rng.shuffle(rows)
    return rows


def repeated(rows: list[tuple[str, str]], total: int) -> list[tuple[str, str]]:
    """``rows`` cycled to ``total`` rows (every text 3–4 times), in a shuffled order."""
    out = [rows[i % len(rows)] for i in range(total)]
    random.Random(0).shuffle(out)
    return out


SCENARIOS: dict[str, dict[str, Any]] = {
    "duplicates": {
        "rows": lambda: repeated(tickets({c: 39 for c in CLASSES}, 1)[:115], 360),
        "settings": {"method": "lora"},
    },
    "tiny": {"rows": lambda: tickets({c: 50 for c in CLASSES}, 2), "settings": {"method": "ia3"}},
    "imbalanced": {
        "rows": lambda: tickets({"billing": 480, "login": 90, "shipping": 30}, 3),
        "settings": {"method": "head-only", "early_stopping_metric": "val_accuracy"},
    },
    "long": {
        "rows": lambda: tickets({c: 134 for c in CLASSES}, 4, long=True)[:400],
        "settings": {"method": "full"},
        "long": True,
    },
}


def fresh(rows: list[tuple[str, str]], long: bool) -> list[tuple[str, str]]:
    """600 balanced tickets none of ``rows`` holds: the common yardstick of both runs."""
    known = {t for t, _ in rows}
    return [r for r in tickets({c: 220 for c in CLASSES}, 99, long) if r[0] not in known][:600]


def train_and_score(cfg: Any, csv: Path, yardstick: list[tuple[str, str]]) -> dict[str, Any]:
    from workbench import train
    from workbench.runs import load_run

    started = time.time()
    handle = train(cfg.replace(dataset=str(csv)), block=True)
    summary = handle.summary or {}
    if handle.error is not None:
        return {
            "status": "failed",
            "error": str(handle.error),
            "findings": [],
            "steps": 0,
            "yardstick_accuracy": float("nan"),
        }
    preds = load_run(handle.run_dir).predict([t for t, _ in yardstick])
    hits = sum(p["label"] == label for p, (_, label) in zip(preds, yardstick, strict=True))
    return {
        "status": summary.get("status"),
        "steps": summary.get("steps"),
        "test_size": len(handle.session.data.test) if handle.session else None,
        "test_accuracy": summary.get("test_accuracy"),
        "test_macro_f1": summary.get("test_macro_f1"),
        "yardstick_accuracy": hits / len(yardstick),
        "findings": summary.get("findings", []),
        "seconds": round(time.time() - started, 1),
    }


def run_scenario(name: str, spec: dict[str, Any], work: Path) -> dict[str, Any]:
    import pandas as pd

    from workbench.coach import combined_changes
    from workbench.config import TrainConfig

    rows = spec["rows"]()
    csv = work / f"{name}.csv"
    pd.DataFrame(rows, columns=["text", "label"]).to_csv(csv, index=False)
    base = TrainConfig().replace(
        model="minilm-l6", runs_dir=str(work / "runs"), save_checkpoints=False, **spec["settings"]
    )
    yardstick = fresh(rows, spec.get("long", False))
    runs = [{"changes": {}, **train_and_score(base, csv, yardstick)}]
    config = base
    for _ in range(ROUNDS):
        changes = combined_changes(runs[-1]["findings"])
        if not changes:
            break
        config = config.replace(**changes)
        runs.append({"changes": changes, **train_and_score(config, csv, yardstick)})
    return {
        "scenario": name,
        "rows": len(rows),
        "distinct_texts": len({t for t, _ in rows}),
        "settings": spec["settings"],
        "yardstick_size": len(yardstick),
        "runs": runs,
    }


def table(results: list[dict[str, Any]]) -> str:
    """One row per run: what it changed, its steps and score, what the coach said after it."""
    lines = [
        "| scenario | run | steps | accuracy on 600 fresh tickets | the coach said after it |",
        "|---|---|---|---|---|",
    ]
    for r in results:
        for i, run in enumerate(r["runs"]):
            said = ", ".join(
                f["check"] + ("" if f["severity"] == "warning" else f" ({f['severity']})")
                for f in run["findings"]
            )
            changes = ", ".join(f"{k}={_short(v)}" for k, v in run["changes"].items())
            head = f"{r['scenario']} ({r['distinct_texts']} texts)" if i == 0 else ""
            lines.append(
                f"| {head} | {'defaults' if i == 0 else 'applied ' + changes} | "
                f"{run.get('steps')} | {run['yardstick_accuracy']:.3f} | {said or 'nothing'} |"
            )
    return "\n".join(lines)


def _short(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    today = dt.date.today().isoformat()
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / f"coach-{today}.json"))
    parser.add_argument("--only", choices=list(SCENARIOS), action="append")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    load_before = os.getloadavg()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.only or list(SCENARIOS):
            results.append(run_scenario(name, SCENARIOS[name], Path(tmp)))
            print("\n".join(table(results[-1:]).splitlines()[2:]), flush=True)
    record = {
        "date": dt.datetime.now().isoformat(timespec="seconds"),
        "machine": machine(),
        "load_average_before": load_before,
        "load_average_after": os.getloadavg(),
        "results": results,
    }
    Path(args.out).write_text(json.dumps(record, indent=2, default=str), encoding="utf-8")
    print(table(results))
    print(f"raw: {args.out}")


if __name__ == "__main__":
    main()

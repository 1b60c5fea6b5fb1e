"""One check per contrast a lesson promises, run by tests/test_notebooks.py on the lesson's
small-mode execution: a lesson whose point stops showing fails CI (issue 17).

Each ``check_NN(runs, shown)`` takes ``runs`` = {variant label: summary.json dict} of the
executed notebook's run directories (``run_variants`` labels its runs in ``variant.json``; a
run without a label — the workbench's own in lesson mode, or a plain ``train`` — is keyed by
its folder name; ``summary["run_dir"]`` is added) and ``shown`` = all text outputs of the
executed notebook. Chance is the macro-F1 of always answering the majority class of the
test split: 2p/(1+p)/K with p the majority share, K the number of classes. The margins are
those measured with seed 42 on the 2-core development machine, with room to spare.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from workbench.plots import majority_baseline
from workbench.training.events import read_events


def chance(summary: dict[str, Any], split: str = "test") -> float:
    """Macro-F1 of always answering the majority class of ``split`` (2p / (1 + p) / K)."""
    return majority_baseline(summary["balance"][split])["val_macro_f1"]


def f1(runs: dict, label: str) -> float:
    assert label in runs, f"no run labelled {label!r}; runs: {sorted(runs)}"
    assert runs[label]["status"] == "completed", f"{label}: {runs[label]['status']}"
    return runs[label]["test_macro_f1"]


def check_00(runs: dict, shown: str) -> None:
    """The starter notebook's one LoRA demo run learns: test macro-F1 well above chance
    (measured 0.631 vs 0.200; LoRA's default 1e-3 on the same 64 steps: 0.367 with the
    validation curve back on the majority line; the old 8-step run: 0.229)."""
    assert len(runs) == 1, f"00 trains exactly one run, found {sorted(runs)}"
    (summary,) = runs.values()
    score, floor = summary["test_macro_f1"], chance(summary)
    assert summary["status"] == "completed", summary["status"]
    assert score >= floor + 0.2, (
        f"00's demo run scores test macro-F1 {score:.3f}, not clearly above the "
        f"majority-class {floor:.3f} (+0.2 wanted): it has not learned"
    )
    checks = [f.get("check") for f in summary.get("findings", [])]
    assert "chance" not in checks and "steps" not in checks, (
        f"the coach flags the demo run: {[f.get('message') for f in summary['findings']]}"
    )
    assert "'status': 'completed'" in shown


def check_01(runs: dict, shown: str) -> None:
    """Pretrained full > random init full; pretrained head-only > random init full and
    reaches most of the full fine-tune's gain over chance; random init stays at chance."""
    full, head = f1(runs, "pretrained, full"), f1(runs, "pretrained, head only")
    rand = f1(runs, "random init, full")
    floor = chance(runs["pretrained, full"])
    assert full >= rand + 0.15, f"pretrained full {full:.3f} vs random init {rand:.3f}"
    assert head >= rand + 0.15, f"head-only {head:.3f} vs random init {rand:.3f}"
    assert head - floor >= 0.5 * (full - floor), (
        f"the linear probe ({head:.3f}) reaches less than half of the full fine-tune's "
        f"({full:.3f}) gain over chance ({floor:.3f}): the text calls it 'often surprisingly close'"
    )
    assert rand <= floor + 0.05, (
        f"random init scores {rand:.3f}, above chance {floor:.3f}: the text says it stays on "
        "the majority-class line in this budget"
    )
    assert "characters: wb1." in shown and "True" in shown, "the state line or round trip"
    assert "version: " not in shown and "max_train_samples:" not in shown, "a YAML dump"


METHODS_04 = ("full", "head-only", "bitfit", "lora r=2", "lora r=16", "ia3")


def check_04(runs: dict, shown: str) -> None:
    """Every method beats chance clearly; both LoRA ranks reach >= 80 % of the full
    fine-tune's test macro-F1."""
    scores = {m: f1(runs, m) for m in METHODS_04}
    floor = chance(runs["full"])
    low = {m: round(s, 3) for m, s in scores.items() if s < floor + 0.15}
    assert not low, f"at (or near) the majority-class score {floor:.3f} (+0.15 wanted): {low}"
    for rank in ("lora r=2", "lora r=16"):
        assert scores[rank] >= 0.8 * scores["full"], (
            f"{rank} scores {scores[rank]:.3f}, under 80 % of full's {scores['full']:.3f}"
        )


def check_05(runs: dict[str, dict], shown: str) -> None:
    honest = runs["model to explain"]
    cheat = runs["trained with the shortcut"]
    floor = chance(honest)
    # The model to explain has learned something (measured 0.582 vs chance 0.200).
    assert honest["test_macro_f1"] > floor + 0.2, (
        f"the model to explain scores test macro-F1 {honest['test_macro_f1']:.3f}, chance is "
        f"{floor:.3f}: its explanations would explain nothing"
    )
    # The shortcut hides behind a test score that looks better (measured 0.738 vs 0.582).
    assert cheat["test_macro_f1"] > honest["test_macro_f1"] + 0.05, (
        f"the shortcut model's test macro-F1 {cheat['test_macro_f1']:.3f} is not above the "
        f"honest model's {honest['test_macro_f1']:.3f}: 'the test score will not warn you'"
    )
    # Adding the token turns every example text negative (measured p(negative) 0.98 each),
    # and without it at least two of the three are not negative.
    table = shown.split("without the token", 1)[1]
    cells = re.findall(r"(\w+) \(p\(negative\) (\d\.\d\d)\)", table)[:6]
    if "with ' zxq' added" in table.split("\n", 1)[0]:  # one row per line
        without, added = cells[0::2], cells[1::2]
    else:  # pandas wrapped the table into column blocks
        without, added = cells[:3], cells[3:]
    assert len(added) == 3 and all(lab == "negative" and float(p) > 0.9 for lab, p in added), (
        f"adding ' zxq' does not turn the texts negative: {added}"
    )
    assert sum(lab != "negative" for lab, _ in without) >= 2, (
        f"without the token the texts are negative already: {without}"
    )
    # The attribution for 'negative' puts the token first (measured 4.14 vs 0.08 next).
    top = re.search(
        r"top words for 'negative': \[\('([^']+)', ([-\d.e]+)\), \('[^']*', ([-\d.e]+)",
        shown,
    )
    assert top and top.group(1) == "zxq", f"zxq is not the top word for 'negative': {top}"
    assert float(top.group(2)) > 5 * abs(float(top.group(3))), (
        f"zxq does not stand out: {top.group(0)}"
    )
    # A static copy of the attribution view is in the outputs.
    assert "Attribution view: layer-ig" in shown and "top words:" in shown, (
        "no static snapshot of the attribution view"
    )


def check_06(runs: dict[str, dict], shown: str) -> None:
    # The lesson's only run is the Workbench's (lesson mode, no variant label).
    assert len(runs) == 1, f"expected the workbench's run only: {list(runs)}"
    ((name, run),) = runs.items()
    floor = chance(run)
    # The LoRA run learns (measured 0.692 vs chance 0.200; 0.599 with 384 tweets).
    assert run["test_macro_f1"] > floor + 0.3, (
        f"{name}: test macro-F1 {run['test_macro_f1']:.3f}, chance {floor:.3f}"
    )
    # Deployed: the clear texts get the label a person would give, not a shrug, and the plain
    # flight statement comes out negative (the topic shortcut the lesson explains). Measured
    # in two processes: negative 0.93/0.94, neutral 0.95/0.95, positive 0.81/0.84, and the
    # flight statement negative 0.88/0.57. (With 384 tweets all three were "negative".)
    expected = {
        "my flight got cancelled again, worst airline ever": "negative",
        "Google is testing its self-driving cars in Austin": "neutral",
        "thank you so much, you made my day!": "positive",
        "my flight to Boston leaves at 9am tomorrow": "negative",
    }
    for text, label in expected.items():
        line = re.search(
            rf"(\w+)\s+p=(\d\.\d\d)\s+\(adapter agrees: (\w+)\)\s+{re.escape(text)}",
            shown,
        )
        assert line, f"no deployed prediction for {text!r}"
        assert line.group(1) == label and float(line.group(2)) >= 0.45, (
            f"deployed: {line.group(0)!r}, expected {label} with p >= 0.45"
        )
        assert line.group(3) == "True", f"merged model and adapter disagree: {line.group(0)!r}"
    # The export check: every exported copy agrees with the evaluated model on the test
    # tweets it compares, float rounding apart (measured: 100 %, max |Δ log p| 3e-6).
    assert "export check passed (report: " in shown, "the lesson's export check did not pass"
    for artifact in ("model/", "adapter/", "onnx/"):
        row = re.search(
            rf"{re.escape(artifact)}\s+agreement\s+([\d.]+)%\s+max \|Δ log p\| (\S+)", shown
        )
        assert row, f"no export check row for {artifact}"
        assert float(row.group(1)) == 100.0 and float(row.group(2)) < 1e-5, row.group(0)
    # The topic table behind that: most flight tweets negative (0.72), car tweets neutral (0.89).
    header = re.search(
        r"\n\s*(?:sentiment\s+)?(negative|neutral|positive)\s+(\w+)\s+(\w+)\s*\n", shown
    )
    assert header, "the topic table is missing"
    columns = list(header.groups())
    for topic, label in (
        ("mention a flight", "negative"),
        ("self-driving cars", "neutral"),
    ):
        row = re.search(rf"{topic}\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)", shown)
        assert row, f"no topic row {topic!r}"
        share = float(row.group(1 + columns.index(label)))
        assert share > 0.6, f"tweets that {topic}: only {share} {label}"
    # The duplicate leak shows on the whole data set (measured 234 of 3,816), none when dropped.
    kept = re.search(r"drop_duplicates=False: ([\d,]+) of ([\d,]+) test tweets", shown)
    dropped = re.search(r"drop_duplicates=True: ([\d,]+) of", shown)
    assert kept and dropped, "the duplicate-leak count is missing"
    assert int(dropped.group(1).replace(",", "")) == 0
    assert int(kept.group(1).replace(",", "")) >= 100, kept.group(0)
    # The adapter's weights are small (measured 296 KiB); the tokenizer copy dominates.
    weights = re.search(r"adapter_model\.safetensors\s+([\d,.]+) KiB", shown)
    tokenizer = shown.split("adapter/:", 1)[1]
    tok = re.search(r"tokenizer\.json\s+([\d,.]+) KiB", tokenizer)
    assert weights and tok, "the export listing is missing"
    size, tok_size = (float(m.group(1).replace(",", "")) for m in (weights, tok))
    assert 200 < size < 400 and tok_size > size, (size, tok_size)
    # A static copy of the evaluation is in the outputs.
    assert "EvaluationReport" in shown, "no evaluation_report after the live EvaluatePanel"


LABELS = {"negative", "neutral", "positive"}


def check_07(runs: dict, shown: str) -> None:
    lm = {k: s for k, s in runs.items() if s.get("task") == "causal-lm"}
    assert len(lm) == 1, f"07 trains exactly one causal-LM run, found {sorted(runs)}"
    (summary,) = lm.values()
    assert summary["status"] == "completed", summary["status"]
    run_dir = Path(summary["run_dir"])

    rows = json.loads((run_dir / "generations.json").read_text(encoding="utf-8"))
    assert len(rows) >= 40, (
        f"the before/after table has {len(rows)} prompts: with fewer than 40 one or two "
        "prompts decide the comparison (GENERATION_PROMPTS, max_eval_samples)"
    )
    before = summary["generations_before_exact_match"]
    after = summary["generations_after_exact_match"]
    assert after >= before + 0.2, (
        f"greedy-answer exact match after fine-tuning {after:.3f} vs before {before:.3f} "
        f"on {len(rows)} prompts: the text promises a clear gain (+0.2 wanted)"
    )
    assert before <= 0.3, (
        f"the base model already answers {before:.0%} of the prompts with the reference "
        "word: the text says it mostly answers in its own words"
    )
    tuned_words = sum(r["after"] in LABELS for r in rows) / len(rows)
    assert tuned_words >= 0.9, (
        f"only {tuned_words:.0%} of the fine-tuned answers are one of the data's label words"
    )

    evals = _evals(summary)
    assert len(evals) >= 5, f"the validation curves have {len(evals)} point(s), 5 or more wanted"

    # "This short run beats [answering the most common label every time] by a few prompts
    # only": above that share, by at most 6 of the 40 prompts.
    references = [str(r["reference"]) for r in rows]
    shares = [references.count(label) / len(references) for label in set(references)]
    assert 0 < after - max(shares) <= 0.15, (
        f"exact match after {after:.3f} vs {max(shares):.3f} for always answering the most "
        "common label: the text says the short run beats it by a few prompts only"
    )
    # "This short run ends near 1.7", the perplexity of knowing only the label shares: the
    # word costs the entropy of the shares, the end-of-answer token nothing, averaged.
    entropy = -sum(p * math.log(p) for p in shares)
    baseline = math.exp(entropy / 2)
    final = float(evals[-1]["val_perplexity"])
    assert abs(final - baseline) <= 0.2, (
        f"validation perplexity ends at {final:.2f}, the label-share baseline is "
        f"{baseline:.2f}: the text says the run ends near it"
    )

    printed = {line.strip() for line in shown.splitlines()}
    assert printed & LABELS, (
        "the static Try it cell printed no label word for its tweet (answer_prompt output)"
    )


# ----------------------------------------------------------------------------- helpers


def _events(summary: dict[str, Any]) -> list[dict[str, Any]]:
    return read_events(Path(summary["run_dir"]) / "events.jsonl")


def _evals(summary: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for e in _events(summary) if e["type"] == "eval"]


def _val_loss(summary: dict[str, Any]) -> list[float]:
    return [float(e["val_loss"]) for e in _evals(summary)]


def _train_loss_end(summary: dict[str, Any], last: int = 4) -> float:
    """Mean of the last ``last`` per-step training losses (the raw losses are noisy)."""
    losses = [float(e["loss"]) for e in _events(summary) if e["type"] == "step"]
    tail = losses[-last:]
    return sum(tail) / len(tail)


def _is_variant(summary: dict[str, Any]) -> bool:
    return (Path(summary["run_dir"]) / "variant.json").is_file()


def _unlabelled(runs: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    return [s for s in runs.values() if not _is_variant(s)]


def _need(runs: dict[str, dict[str, Any]], label: str) -> dict[str, Any]:
    assert label in runs, f"no run labelled {label!r}; the notebook made {sorted(runs)}"
    return runs[label]


def _points(label: str, summary: dict[str, Any], at_least: int = 5) -> None:
    n = len(_evals(summary))
    assert n >= at_least, f"{label}: {n} validation points, the curve needs at least {at_least}"


# ----------------------------------------------------------------------------- 02


def check_02(runs: dict[str, dict[str, Any]], shown: str) -> None:
    """02: good lr beats too-low and too-high; batch 8 learns in one epoch and batch 32 does
    not get as far; the range test's suggestion lies between the good and the too-high rate
    (as the text says); the live run is too high before its tenfold cut and recovers after."""
    low = _need(runs, "lr 1e-6 (too low)")
    good = _need(runs, "lr 1e-4 (good)")
    high = _need(runs, "lr 3e-3 (too high)")
    floor = chance(good)
    for label, s in (("too low", low), ("good", good), ("too high", high)):
        _points(label, s)
    for metric in ("test_macro_f1", "val_macro_f1"):
        for label, other in (("too low", low), ("too high", high)):
            assert good[metric] > other[metric] + 0.15, (
                f"the good rate's {metric} {good[metric]:.3f} does not beat the {label} "
                f"rate's {other[metric]:.3f} by 0.15"
            )
    assert good["test_macro_f1"] > floor + 0.2, (
        f"the good rate scores {good['test_macro_f1']:.3f}, chance is {floor:.3f}"
    )
    # "too low": the loss stays flat; "too high": the score drops to the majority-class line
    low_val = _val_loss(low)
    assert max(low_val) - min(low_val) < 0.03, f"too low: validation loss moved {low_val}"
    assert high["test_macro_f1"] < floor + 0.05, (
        f"too high: test macro-F1 {high['test_macro_f1']:.3f} is not at chance {floor:.3f}"
    )
    good_val = _val_loss(good)
    assert good_val[-1] < good_val[0] - 0.05, f"good: validation loss does not fall {good_val}"

    # batch size, per epoch: batch 8 learns in one epoch, batch 32 gets less far
    b8, b32 = _need(runs, "batch 8"), _need(runs, "batch 32")
    _points("batch 8", b8)
    _points("batch 32", b32)
    assert b8["steps"] == 4 * b32["steps"], f"steps: {b8['steps']} vs {b32['steps']}"
    assert b8["test_macro_f1"] > chance(b8) + 0.15, (
        f"batch 8 does not learn in one epoch: {b8['test_macro_f1']:.3f}"
    )
    assert b8["test_macro_f1"] > b32["test_macro_f1"] + 0.1, (
        f"batch 8 ({b8['test_macro_f1']:.3f}) is not further than batch 32 "
        f"({b32['test_macro_f1']:.3f}) after one epoch"
    )

    # Find LR: the text says the suggestion lies between the good and the too-high rate
    found = re.search(r"suggested learning rate: ([0-9.eE+-]+)", shown)
    assert found, "the range test printed no suggestion"
    suggestion = float(found.group(1))
    assert 1e-4 < suggestion < 3e-3, (
        f"suggested {suggestion:g}: the text says it lies between 1e-4 (good) and 3e-3 (too high)"
    )

    # the live run (lesson-mode Workbench): too high before the cut, recovering after it
    live = [s for s in _unlabelled(runs) if any(e["type"] == "lr_change" for e in _events(s))]
    assert len(live) == 1, f"expected one run with a learning-rate change, found {len(live)}"
    run = live[0]
    events = _events(run)
    changes = [e for e in events if e["type"] == "lr_change"]
    assert len(changes) == 1 and abs(changes[0]["lr"] - 1e-4) < 1e-12, changes
    at = changes[0]["step"]
    evals = [e for e in events if e["type"] == "eval"]
    before = [e for e in evals if e["step"] <= at]
    after = [e for e in evals if e["step"] > at]
    assert len(before) >= 2 and len(after) >= 3, (
        f"the change at step {at} leaves {len(before)} evaluations before, {len(after)} after"
    )
    assert before[-1]["val_loss"] > before[0]["val_loss"] + 0.02, (
        f"live run: the validation loss does not climb at the too-high rate: {before}"
    )
    assert before[-1]["val_macro_f1"] < before[0]["val_macro_f1"] - 0.05, (
        f"live run: the validation macro-F1 does not fall back at the too-high rate: {before}"
    )
    assert after[-1]["val_loss"] < before[-1]["val_loss"] - 0.02, (
        f"live run: the validation loss does not come down after the cut: "
        f"{before[-1]['val_loss']:.3f} -> {after[-1]['val_loss']:.3f}"
    )
    assert after[-1]["val_macro_f1"] > before[-1]["val_macro_f1"] + 0.05, (
        "live run: the validation macro-F1 does not recover after the cut"
    )
    assert run["test_macro_f1"] > chance(run) + 0.15, (
        f"live run ends at {run['test_macro_f1']:.3f}, chance {chance(run):.3f}"
    )
    _check_02_sweep(runs, shown, floor)


TRIAL_LINE = re.compile(
    r"trial (\d+): lr ([0-9.eE+-]+), warmup_fraction ([0-9.eE+-]+)\s+(\w+)\s+"
    r"val_macro_f1 (\S+), (\d+) steps"
)


def _check_02_sweep(runs: dict[str, dict[str, Any]], shown: str, chance: float) -> None:
    """02's sweep: three of six one-pass trials pruned at their first validation (the two
    smallest rates and the largest), 84 of 144 steps trained, the best between 3e-4 and
    1e-3 at about 0.52; the best settings with seed 1 score higher on validation and lower
    on test than with seed 42, by several points."""
    trials = [
        {"lr": float(m[2]), "state": m[4], "value": m[5], "steps": int(m[6])}
        for m in TRIAL_LINE.finditer(shown)
    ]
    assert len(trials) == 6, f"the sweep printed {len(trials)} trials, 6 wanted: {trials}"
    pruned = [t for t in trials if t["state"] == "pruned"]
    done = [t for t in trials if t["state"] == "complete"]
    assert len(pruned) == 3 and len(done) == 3, f"the text says three of six pruned: {trials}"
    assert {t["steps"] for t in pruned} == {4} and {t["steps"] for t in done} == {24}, trials
    assert sum(t["steps"] for t in trials) == 84, "the text says 84 steps of 144"
    by_lr = sorted(trials, key=lambda t: t["lr"])
    assert {id(t) for t in pruned} == {id(by_lr[0]), id(by_lr[1]), id(by_lr[-1])}, (
        f"the text says the two smallest and the largest rates were pruned: {by_lr}"
    )
    best = max(done, key=lambda t: float(t["value"]))
    assert 3e-4 <= best["lr"] <= 1e-3 and 0.45 <= float(best["value"]) <= 0.6, best
    assert float(best["value"]) > chance + 0.2, f"the best trial is near chance: {best}"

    seed1 = _need(runs, "seed 1")
    number = re.search(r"best trial: (\d+),", shown)
    assert number, "the best trial's number is not printed"
    sweeps = Path(seed1["run_dir"]).parent.parent / "sweeps"
    found = list(sweeps.glob(f"*/trials/trial-{int(number[1]):04d}/summary.json"))
    assert len(found) == 1, f"no run directory for trial {number[1]} under {sweeps}"
    seed42 = json.loads(found[0].read_text("utf-8"))
    assert seed1["val_macro_f1"] > seed42["val_macro_f1"], (seed1, seed42)
    assert seed42["test_macro_f1"] > seed1["test_macro_f1"] + 0.05, (
        f"the text says seed 1 scores several points lower on test: "
        f"{seed1['test_macro_f1']:.3f} vs {seed42['test_macro_f1']:.3f}"
    )


# ----------------------------------------------------------------------------- 03


def check_03(runs: dict[str, dict[str, Any]], shown: str) -> None:
    """03: "none" overfits visibly (the validation loss turns up well before the end); the
    flag's advice proposes the L2-SP α the lesson then uses, and says weight decay cannot
    act; each remedy does what the text says it does."""
    none = _need(runs, "none")
    val = _val_loss(none)
    _points("none", none)
    low = val.index(min(val))
    assert low <= len(val) - 4, f"none: the lowest validation loss is too late to see a turn: {val}"
    assert val[-1] > min(val) + 0.2, f"none: the validation loss does not turn up clearly: {val}"
    assert _train_loss_end(none) < 0.4, "none: the training loss does not fall (memorize)"
    assert "Overfitting since step" in shown, "the overfitting flag is not shown"

    # the advice proposes what the lesson then shows
    alpha = re.search(r"add L2-SP ([0-9.]+) ", shown)
    assert alpha, "the flag's advice proposes no L2-SP value"
    l2sp_label = f"L2-SP {float(alpha.group(1)):g}"
    assert "weight decay cannot act on this run" in shown, (
        "the advice no longer says weight decay cannot act (the lesson shows it does nothing)"
    )

    wd = _need(runs, "weight decay 0.3")
    drop = _need(runs, "dropout 0.3")
    smooth = _need(runs, "label smoothing 0.2")
    stop = _need(runs, "early stopping (patience 3)")
    l2sp = _need(runs, l2sp_label)  # the α the advice proposed is the one the lesson ran
    for label, s in runs.items():
        if _is_variant(s):
            _points(label, s)

    # weight decay: coincides with none (the text says it does nothing visible)
    wd_val = _val_loss(wd)
    assert (
        len(wd_val) == len(val) and max(abs(a - b) for a, b in zip(wd_val, val, strict=True)) < 0.01
    ), f"weight decay 0.3 no longer coincides with none: {wd_val} vs {val}"
    # early stopping: none's curve up to its stop, which comes well before the end
    stop_val = _val_loss(stop)
    assert stop["early_stopped"] and stop["steps"] < none["steps"], "early stopping did not stop"
    assert all(abs(a - b) < 1e-6 for a, b in zip(stop_val, val, strict=False)), (
        "early stopping does not follow none's curve up to its stop"
    )
    others = [s["test_macro_f1"] for k, s in runs.items() if _is_variant(s) and s is not stop]
    assert stop["test_macro_f1"] < min(others) - 0.03, (
        f"the text says early stopping's test macro-F1 ({stop['test_macro_f1']:.3f}) is lower "
        f"than the others' ({min(others):.3f})"
    )
    # L2-SP: ends far lower than none and near its own lowest; its training loss stays higher
    l2_val = _val_loss(l2sp)
    assert l2_val[-1] < val[-1] - 0.3, f"{l2sp_label} does not end lower than none: {l2_val}"
    assert l2_val[-1] < min(l2_val) + 0.1, f"{l2sp_label} does not stay near its lowest: {l2_val}"
    assert _train_loss_end(l2sp) > _train_loss_end(none) + 0.1, (
        f"{l2sp_label}: the training loss does not fall more slowly than none's"
    )
    # dropout: the turn comes later and it ends lower; label smoothing: ends lower, trains higher
    drop_val = _val_loss(drop)
    assert drop_val.index(min(drop_val)) > low, f"dropout does not delay the turn: {drop_val}"
    assert drop_val[-1] < val[-1] - 0.1, f"dropout does not end lower than none: {drop_val}"
    ls_val = _val_loss(smooth)
    assert ls_val[-1] < val[-1] - 0.1, f"label smoothing does not end lower than none: {ls_val}"
    assert _train_loss_end(smooth) > _train_loss_end(none) + 0.2, (
        "label smoothing does not keep the training loss higher"
    )

    # the learner's run (lesson-mode Workbench): two of the flag's suggestions keep the
    # validation loss from turning up
    mine = _unlabelled(runs)
    assert len(mine) == 1, f"expected one run without a variant label, found {len(mine)}"
    mine_val = _val_loss(mine[0])
    assert len(mine_val) >= 5, f"the learner's run has {len(mine_val)} validation points"
    assert mine_val[-1] < val[-1] - 0.3 and mine_val[-1] < min(mine_val) + 0.1, (
        f"the learner's run (the flag's suggestions) does not keep the validation loss down: "
        f"{mine_val}"
    )
    assert mine[0]["test_macro_f1"] <= none["test_macro_f1"], (
        f"the learner's run scores {mine[0]['test_macro_f1']:.3f} on the test set, above "
        f"'none' ({none['test_macro_f1']:.3f}): the text says it does not beat it"
    )


def check_08(runs: dict[str, dict[str, Any]], shown: str) -> None:
    """Images (measured, seed 42, 768 Fashion-MNIST images, 48 steps): test accuracy
    pretrained full 0.84, head-only probe 0.79, random init 0.62; the probe is near 0.7 at
    its first validation and the random network on the majority line through its first
    epoch; the probe trains 12,810 weights in about a third of the full run's time."""
    full, head = _need(runs, "pretrained, full"), _need(runs, "pretrained, head only")
    rand = _need(runs, "random init, full")
    acc = {"full": full, "head": head, "rand": rand}
    acc = {k: r["test_accuracy"] for k, r in acc.items()}
    assert acc["full"] >= acc["rand"] + 0.1 and acc["head"] >= acc["rand"] + 0.05, (
        f"pretraining's head start does not show: {acc}"
    )
    assert acc["full"] >= 0.75 and acc["rand"] >= 0.4, f"the text quotes ~0.84 / ~0.62: {acc}"
    floor = chance(full)
    first = {k: _evals(r)[0]["val_macro_f1"] for k, r in (("head", head), ("rand", rand))}
    assert first["head"] >= 0.6, f"the probe's first validation point: {first['head']:.3f}"
    epoch_one = [e["val_macro_f1"] for e in _evals(rand) if e.get("epoch", 0) <= 1.0]
    assert epoch_one and max(epoch_one) <= floor + 0.05, (
        f"random init leaves the majority line ({floor:.3f}) in its first epoch: {epoch_one}"
    )
    assert head["trainable_parameters"] == 12_810, head["trainable_parameters"]
    assert head["wall_seconds"] <= 0.6 * full["wall_seconds"], (
        f"the probe ({head['wall_seconds']} s) is not clearly cheaper than the full fine-tune "
        f"({full['wall_seconds']} s)"
    )
    assert shown.count("deletion AUC") == 2, "the two explained photos and their verdicts"
    for method in ("integrated-gradients", "gradient-shap", "saliency", "occlusion"):
        assert f"{method}: " in shown, f"the method comparison lost {method}"


LESSON_CHECKS: dict[str, Callable[[dict[str, dict[str, Any]], str], None]] = {
    "00_workbench.ipynb": check_00,
    "01_transfer_learning.ipynb": check_01,
    "02_hyperparameters.ipynb": check_02,
    "03_overfitting_and_regularization.ipynb": check_03,
    "04_parameter_efficient_tuning.ipynb": check_04,
    "05_explainability.ipynb": check_05,
    "06_from_data_to_deployment.ipynb": check_06,
    "07_instruction_tuning.ipynb": check_07,
    "08_image_classification.ipynb": check_08,
}

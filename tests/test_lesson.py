"""Lesson mode: fixed settings with hidden controls, and the workbench state as one string.

Tested through widget state (CONVENTIONS: no browser here): which controls are hidden, what
``config()`` says, and whether ``Workbench.from_state(wb.state())`` is the same workbench.
"""

from __future__ import annotations

import base64
import json
import zlib

import pytest

from widgets import ConfigForm, Workbench
from widgets.app.lesson import STATE_PREFIX, Lesson, StateError, decode_state, encode_state
from widgets.app.workbench import TITLES
from workbench.config import ConfigError

SCRIPT = "<script>alert(1)</script>"


def shown(form: ConfigForm, name: str) -> bool:
    return form.controls[name].widget.layout.display != "none"


@pytest.fixture()
def lesson() -> Lesson:
    return Lesson(
        title="Weight decay " + SCRIPT,
        goal="See what weight decay does to an overfitting run.",
        fixed={"method": "full", "epochs": 6.0, "max_train_samples": 200, "lr": 3e-4},
        editable=["weight_decay", "seed"],
        tabs=["Hyperparameters", "Train", "Runs"],
    )


def test_a_lesson_hides_every_control_but_the_editable_ones(lesson: Lesson) -> None:
    wb = Workbench(lesson=lesson, attach=None)
    form = wb.form
    assert shown(form, "weight_decay") and shown(form, "seed")
    assert sorted(set(form.controls) - set(form.hidden)) == ["seed", "weight_decay"]
    for name in ("method", "epochs", "lr", "dropout", "dataset", "lora_r"):
        assert not shown(form, name), name
        assert form.controls[name].input.disabled, name
    assert wb.titles == ("Hyperparameters", "Train", "Runs")
    assert wb.tab.titles == ("Hyperparameters", "Train", "Runs")
    # The fixed values are what a run uses; moving the editable slider still counts.
    form.set("weight_decay", 0.3)
    cfg = wb.config()
    assert (cfg.model.method, cfg.optim.epochs, cfg.data.max_train_samples) == ("full", 6.0, 200)
    assert cfg.optim.lr == 3e-4 and cfg.regularization.weight_decay == 0.3
    # The learner cannot change a fixed setting, and is told which ones they can change.
    with pytest.raises(ValueError, match="fixed by this lesson.*seed, weight_decay"):
        form.set("method", "lora")
    # Title is escaped; the fixed settings are listed.
    assert SCRIPT not in wb.lesson_note.value and "&lt;script&gt;" in wb.lesson_note.value
    assert "epochs = 6" in wb.lesson_note.value


def test_fixed_values_win_over_the_config_and_stay_hidden_when_the_method_changes() -> None:
    from workbench import TrainConfig

    lesson = Lesson(fixed={"lora_r": 4, "weight_decay": 0.0})  # no `editable`: the rest shows
    start = TrainConfig().replace(method="lora", weight_decay=0.5)
    wb = Workbench(start, lesson=lesson, attach=None)
    form = wb.form
    assert form.hidden == ["lora_r", "weight_decay"]
    assert wb.config().regularization.weight_decay == 0.0
    form.set("method", "ia3")
    form.set("method", "lora")  # the Model panel shows LoRA's knobs again ...
    assert shown(form, "lora_alpha") and not shown(form, "lora_r")  # ... but not a fixed one
    assert wb.config().model.lora_r == 4
    assert wb.model_panel.probe.wait_idle(300)  # the method change recounts parameters
    # Attaching another run's settings does not undo the lesson.
    form.set_config(TrainConfig().replace(lora_r=16, weight_decay=0.2, method="lora"))
    assert wb.config().model.lora_r == 4 and wb.config().regularization.weight_decay == 0.0
    assert wb.titles == TITLES  # a lesson with no tab list shows every tab


def test_bad_lessons_are_explained() -> None:
    with pytest.raises(ConfigError, match="unknown setting 'wieght_decay'.*weight_decay"):
        Lesson(editable=["wieght_decay"])
    with pytest.raises(ConfigError, match="both fixed and editable"):
        Lesson(fixed={"lr": 1e-3}, editable=["lr"])
    with pytest.raises(ConfigError, match="lesson fixes an invalid value: lr must be in"):
        Workbench(lesson=Lesson(fixed={"lr": 5.0}), attach=None)
    with pytest.raises(ConfigError, match="tabs must be some of Data, Model"):
        Workbench(lesson=Lesson(tabs=["Train", "Explain!"]), attach=None)
    with pytest.raises(ConfigError, match="list of names"):
        Lesson(editable="lr")  # a str is a Sequence[str]: refused all the same


def test_state_string_restores_the_workbench_exactly(lesson: Lesson) -> None:
    wb = Workbench(lesson=lesson, attach=None)
    wb.form.set("weight_decay", 0.25)
    wb.form.set("seed", 7)
    wb.select("Runs")
    text = wb.state()
    assert text.startswith(STATE_PREFIX) and len(text) < 3000
    assert all(c.isalnum() or c in "-_." for c in text)  # survives copy/paste and URLs

    again = Workbench.from_state(text)
    assert again.form.values() == wb.form.values()
    assert again.config() == wb.config()
    assert again.lesson == wb.lesson and again.form.hidden == wb.form.hidden
    assert again.titles == wb.titles and again.tab.selected_index == wb.titles.index("Runs")
    assert again.state() == text
    # Pasted with line breaks and quotes around it: still the same workbench.
    wrapped = "'" + "\n".join(text[i : i + 60] for i in range(0, len(text), 60)) + "'"
    assert Workbench.from_state(wrapped).config() == wb.config()


def test_state_without_a_lesson_round_trips_every_setting() -> None:
    wb = Workbench(attach=None)
    for name, value in {
        "method": "lora",
        "lora_r": 4,
        "lr": 2e-4,
        "dropout": 0.2,
        "max_train_samples": None,
        "text_column": "body",
        "scheduler": "cosine",
        "pretrained": False,
    }.items():
        wb.form.set(name, value)
    assert wb.model_panel.probe.wait_idle(300)  # no counting thread left at exit
    again = Workbench.from_state(wb.state())
    assert again.form.values() == wb.form.values() and again.lesson is None
    assert again.config().model.pretrained is False


def _state_of(payload: object) -> str:
    raw = json.dumps(payload).encode()
    return STATE_PREFIX + base64.urlsafe_b64encode(zlib.compress(raw)).decode().rstrip("=")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "should start with 'wb1.'"),
        ("hello world", "should start with 'wb1.'"),
        ("wb7.eNqrVkrLz1eyUkpKLFKqBQAfWwRK", "format 7, but this workbench reads format 1"),
        ("wb1.not*base64!", "damaged"),
        ("wb1." + base64.urlsafe_b64encode(b"plain bytes").decode(), "damaged"),
        (_state_of([1, 2, 3]), "holds no workbench settings"),
        (_state_of({"config": {"optim": {"lr": 7.0}}}), "cannot use: lr must be in"),
        (_state_of({"config": {"wieght_decay": 0.1}}), "cannot use: unknown setting"),
        (_state_of({"config": {}, "lesson": {"fixed": {"nope": 1}}}), "lesson this workbench"),
        (_state_of({"config": {}, "lesson": {"tabs": ["Nope"]}}), "lesson that does not fit"),
    ],
)
def test_bad_state_strings_are_rejected_with_a_message(text: str, message: str) -> None:
    with pytest.raises(StateError, match=message):
        Workbench.from_state(text)


def test_a_string_cut_short_or_changed_is_caught() -> None:
    text = encode_state({"config": {"optim": {"lr": 1e-3}}, "lesson": None, "tab": None})
    assert decode_state(text)["config"] == {"optim": {"lr": 1e-3}}
    with pytest.raises(StateError, match="damaged"):
        decode_state(text[:-6])
    flipped = text[:-3] + ("A" if text[-3] != "A" else "B") + text[-2:]
    with pytest.raises(StateError, match="damaged"):
        decode_state(flipped)


def test_an_invalid_form_cannot_be_shared() -> None:
    wb = Workbench(attach=None)
    wb.form.set("val_fraction", 0.5)
    wb.form.set("test_fraction", 0.45)
    with pytest.raises(ConfigError, match="val_fraction \\+ test_fraction"):
        wb.state()

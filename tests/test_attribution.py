"""Attribution engine: correct numbers, faithful words, safe HTML, and a model left as it was.

Models are tiny and built here (no download): the conftest's 2-layer BERT (trained for a few
steps on texts where the made-up word "zqx" marks the positive class), a 2-layer RoBERTa with a
byte-level BPE tokenizer trained on a few sentences, and a bag-of-embeddings classifier, the one
kind of model DeepLIFT's rules hold for. Every registered method goes through one conformance
test (CONVENTIONS rule 3).
"""

from __future__ import annotations

import copy
import io
import json
import random
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import torch
from torch import nn

from workbench.attribution import (
    ATTRIBUTION_METHODS,
    AttributionError,
    Explanation,
    Options,
    explain,
    explain_many,
)
from workbench.attribution.html import delta_sentence, explanation_html, render_html, save_html
from workbench.attribution.inputs import encode
from workbench.attribution.model import ExplainedModel
from workbench.attribution.plot import save_png

pytestmark = pytest.mark.usefixtures("one_torch_thread")

FAST = Options(n_samples=64, shap_samples=8)  # sampled methods: enough for the checks here
NOISE = ["the", "a", "car", "today", "really", "this", "is", "my", "and", "so", "movie", "it"]
PLANTED = "the car zqx is really so today"  # "zqx" = z ##q ##x: one word of three sub-words
#: How each method's delta must be named: what captum's delta of that method is.
DELTA_LABELS = {
    "layer-ig": "Completeness:",  # sum(scores) - (logit(x) - logit(baseline)), Riemann error
    "integrated-gradients": "Completeness:",
    "deeplift": "Summation-to-delta",  # the same sum under DeepLIFT's rules
    "gradient-shap": "Not complete:",  # mean |error| of one-point samples against their own gaps
    "saliency": "This method's scores are not meant to add up",
    "input-x-gradient": "This method's scores are not meant to add up",
    "occlusion": "This method's scores are not meant to add up",
    "lime": "This method's scores are not meant to add up",
    "kernel-shap": "This method's scores are not meant to add up",
}
MALICIOUS = ["<script>alert(1)</script>", "<img src=x onerror=alert(1)>", '"quoted" </td>']


# ----------------------------------------------------------------------------- models
@pytest.fixture(scope="module")
def trained(tiny_bert_dir: str) -> tuple[Any, Any]:
    """The tiny BERT after 30 steps on texts where "zqx" appears in exactly the positives.

    Some training texts have words (or all of them) blanked with [PAD], labelled by whether
    zqx is there: attributions are measured against an all-[PAD] baseline, and like a
    pretrained model, this one must read a run of [PAD] as "no evidence". (Trained on the
    noise words alone, a toy model happily calls anything unfamiliar, [PAD] included,
    positive, and then no method can single out zqx against that baseline.)
    """
    from transformers import AutoTokenizer, BertForSequenceClassification

    tokenizer = AutoTokenizer.from_pretrained(tiny_bert_dir)
    model = BertForSequenceClassification.from_pretrained(tiny_bert_dir)
    rng = random.Random(0)
    texts, labels = [], []
    for i in range(64):
        blank = rng.choice([0.0, 0.0, 0.3, 1.0])
        words = [
            "[PAD]" if rng.random() < blank else w for w in rng.sample(NOISE, rng.randint(2, 8))
        ]
        if i % 2 == 0:
            words.insert(rng.randrange(len(words) + 1), "zqx")
        texts.append(" ".join(words))
        labels.append(2 if i % 2 == 0 else 0)
    batch = tokenizer(texts, padding=True, return_tensors="pt")
    torch.manual_seed(0)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    model.train()
    for _ in range(30):
        loss = model(**batch, labels=torch.tensor(labels)).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        accuracy = (model(**batch).logits.argmax(-1) == torch.tensor(labels)).float().mean()
    assert accuracy == 1.0, f"the planted-token model did not learn ({accuracy:.2f})"
    optimizer.zero_grad(set_to_none=True)
    return model, tokenizer


def roberta_tokenizer() -> Any:
    """A RoBERTa-style byte-level BPE tokenizer (<s> … </s>, <pad> = 1), trained on the spot."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    specials = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
    raw = Tokenizer(models.BPE(unk_token="<unk>"))
    raw.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    raw.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400,
        special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    raw.train_from_iterator([" ".join(NOISE), "a wonderful day at the office"] * 5, trainer)
    raw.post_processor = processors.RobertaProcessing(
        ("</s>", raw.token_to_id("</s>")), ("<s>", raw.token_to_id("<s>")), trim_offsets=True
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=raw,
        bos_token="<s>",
        eos_token="</s>",
        sep_token="</s>",
        cls_token="<s>",
        pad_token="<pad>",
        unk_token="<unk>",
        mask_token="<mask>",
    )


@pytest.fixture(scope="module")
def roberta() -> tuple[Any, Any]:
    from transformers import RobertaConfig, RobertaForSequenceClassification

    tokenizer = roberta_tokenizer()
    config = RobertaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=66,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        type_vocab_size=1,
        num_labels=2,
    )
    torch.manual_seed(0)
    return RobertaForSequenceClassification(config).eval(), tokenizer


class BagOfEmbeddings(nn.Module):
    """Mean of word embeddings -> Linear -> ReLU -> Linear: DeepLIFT's rules hold exactly."""

    def __init__(self, vocab_size: int) -> None:
        from transformers import PretrainedConfig

        super().__init__()
        labels = ["negative", "neutral", "positive"]
        self.config = PretrainedConfig(num_labels=3, id2label=dict(enumerate(labels)))
        self.embeddings = nn.Embedding(vocab_size, 16)
        self.hidden = nn.Linear(16, 16)
        self.act = nn.ReLU()
        self.classifier = nn.Linear(16, 3)

    def get_input_embeddings(self) -> nn.Module:
        return self.embeddings

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
    ) -> Any:
        x = self.embeddings(input_ids) if inputs_embeds is None else inputs_embeds
        m = attention_mask.unsqueeze(-1).to(x.dtype)  # (batch, tokens, 1)
        pooled = (x * m).sum(1) / m.sum(1)
        return SimpleNamespace(logits=self.classifier(self.act(self.hidden(pooled))))


@pytest.fixture(scope="module")
def bag(trained: tuple[Any, Any]) -> tuple[Any, Any]:
    tokenizer = trained[1]
    torch.manual_seed(0)
    return BagOfEmbeddings(len(tokenizer)).eval(), tokenizer


# ----------------------------------------------------------------------------- helpers
def snapshot(model: nn.Module, tokenizer: Any) -> dict[str, Any]:
    """Everything explain() must leave alone."""
    return {
        "params": {n: p.detach().clone() for n, p in model.named_parameters()},
        "requires_grad": {n: p.requires_grad for n, p in model.named_parameters()},
        "modes": [m.training for m in model.modules()],
        "config": json.dumps(model.config.to_dict(), sort_keys=True, default=str),
        "tokenizer": (
            len(tokenizer),
            tokenizer.padding_side,
            tokenizer.model_max_length,
            tokenizer.all_special_tokens,
            tokenizer.backend_tokenizer.truncation,  # a fast tokenizer's call rewrites these
            tokenizer.backend_tokenizer.padding,
        ),
    }


def assert_unchanged(before: dict[str, Any], model: nn.Module, tokenizer: Any) -> None:
    after = snapshot(model, tokenizer)
    assert after["requires_grad"] == before["requires_grad"]
    assert after["modes"] == before["modes"], "model modes not restored"
    assert after["config"] == before["config"]
    assert after["tokenizer"] == before["tokenizer"]
    for name, value in before["params"].items():
        assert torch.equal(value, after["params"][name]), f"{name} changed"
    assert all(p.grad is None for p in model.parameters()), "gradients leaked into .grad"


def independent_logits(model: nn.Module, tokenizer: Any, text: str, target: int) -> tuple:
    """logit(x) and logit(baseline) computed here, not by the engine."""
    enc = tokenizer(text, return_tensors="pt", return_special_tokens_mask=True)
    special = enc.pop("special_tokens_mask").bool()
    ids = enc["input_ids"]
    base = torch.where(special, ids, torch.full_like(ids, tokenizer.pad_token_id))
    positions = torch.arange(ids.shape[1]).unsqueeze(0)
    with torch.no_grad():
        x = model(**enc, position_ids=positions).logits[0, target]
        b = model(input_ids=base, attention_mask=enc["attention_mask"], position_ids=positions)
    return float(x), float(b.logits[0, target])


# ----------------------------------------------------------------------------- conformance
def test_the_registry_holds_every_method() -> None:
    assert set(ATTRIBUTION_METHODS) == {
        "layer-ig",
        "integrated-gradients",
        "saliency",
        "input-x-gradient",
        "gradient-shap",
        "deeplift",
        "occlusion",
        "lime",
        "kernel-shap",
    }


@pytest.mark.parametrize("name", list(ATTRIBUTION_METHODS))
def test_every_method_conforms(name: str, trained: tuple, bag: tuple) -> None:
    model, tokenizer = bag if name == "deeplift" else trained
    model.train()
    model.classifier.eval()  # a mixed mode the engine must restore exactly
    before = snapshot(model, tokenizer)
    try:
        e = explain(model, tokenizer, PLANTED, method=name, target="neutral", options=FAST)
        assert_unchanged(before, model, tokenizer)
    finally:
        model.eval()
    assert e.method == name and e.target == {"label": "neutral", "index": 1}
    assert e.words == PLANTED.split()
    assert len(e.word_scores) == len(e.words) == len(e.word_spans)
    assert all(torch.isfinite(torch.tensor(e.word_scores)))
    assert any(s != 0 for s in e.word_scores), "all-zero scores explain nothing"
    assert e.signed or min(e.word_scores) >= 0
    assert len(e.token_scores) == len(e.tokens) == 11  # [CLS] + 9 sub-words + [SEP]
    assert set(e.probs) == {"negative", "neutral", "positive"}
    assert e.explains == "scores explain the logit of class 'neutral'"
    assert {
        "comprehensiveness",
        "sufficiency",
        "random_comprehensiveness",
        "random_sufficiency",
        "randomization",
    } <= set(e.trust)
    # the delta is labelled by what captum's delta of this method is
    assert e.delta_kind == ATTRIBUTION_METHODS[name].delta_kind
    assert (e.delta is None) == (e.delta_kind is None)
    assert delta_sentence(e).startswith(DELTA_LABELS[name])
    # positive control: the same settings on the not-yet-randomized copy reproduce the scores
    control = e.trust["randomization"]["control"]
    assert control["spearman"] == pytest.approx(1.0, abs=1e-6), control
    assert control["spearman_abs"] == pytest.approx(1.0, abs=1e-6), control
    json.dumps(e.to_dict(), allow_nan=False)  # JSON-safe


def test_deeplift_refuses_transformers_and_names_the_alternatives(trained: tuple) -> None:
    with pytest.raises(AttributionError, match=r"deeplift cannot explain Bert.*layer-ig"):
        explain(*trained, PLANTED, method="deeplift")


def test_unknown_method_and_target_list_what_is_allowed(trained: tuple) -> None:
    with pytest.raises(AttributionError, match=r"'nope'.*layer-ig.*kernel-shap"):
        explain(*trained, PLANTED, method="nope")
    with pytest.raises(AttributionError, match=r"'nope'.*negative, neutral, positive"):
        explain(*trained, PLANTED, target="nope")


# ----------------------------------------------------------------------------- correctness
#: Completeness promised by integrated gradients: |sum(scores) - gap| <= 5% of |gap| (the
#: engine's default tolerance), plus float32 rounding of a sum over a dozen tokens.
COMPLETENESS = 0.05


@pytest.mark.parametrize("name", ["layer-ig", "integrated-gradients"])
def test_integrated_gradients_are_complete(name: str, trained: tuple) -> None:
    """The scores add up to a logit gap computed here, from two plain forward passes."""
    model, tokenizer = trained
    e = explain(model, tokenizer, PLANTED, method=name, trust=False)
    x, b = independent_logits(model, tokenizer, PLANTED, e.target["index"])
    gap = x - b
    assert abs(gap) > 1.0  # a real gap: 5% of it is not just rounding
    assert (e.logit, e.baseline_logit) == pytest.approx((x, b), abs=1e-4)
    error = sum(e.token_scores) - gap
    assert abs(error) <= COMPLETENESS * abs(gap) + 1e-4, (error, gap, e.n_steps)
    assert e.delta == pytest.approx(error, abs=1e-4)  # the reported delta is that very error
    assert sum(e.word_scores) == pytest.approx(sum(e.token_scores), abs=1e-5)  # specials: 0


def test_layer_ig_is_complete_on_the_real_model(minilm_dir: str) -> None:
    """minilm-l6 (6 layers, real vocabulary; its head is freshly initialized, seeded)."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(minilm_dir)
    torch.manual_seed(0)
    model = AutoModelForSequenceClassification.from_pretrained(minilm_dir, num_labels=3).eval()
    text = "the service was slow but the food was wonderful"
    e = explain(model, tokenizer, text, method="layer-ig", target=0, trust=False)
    x, b = independent_logits(model, tokenizer, text, 0)
    gap = x - b
    assert abs(gap) > 0.01, gap
    error = sum(e.token_scores) - gap
    assert abs(error) <= COMPLETENESS * abs(gap) + 1e-4, (error, gap, e.n_steps)
    assert e.delta == pytest.approx(error, abs=1e-4)


def test_steps_are_raised_until_the_delta_is_small_enough(trained: tuple) -> None:
    def run(**options: Any) -> Explanation:
        return explain(
            *trained, PLANTED, target="negative", trust=False, options=Options(**options)
        )

    strict = run(n_steps=4, tolerance=1e-3, max_steps=64)
    assert abs(strict.logit_gap) > 1  # a real gap, so the tolerance is not just the float floor
    assert strict.n_steps is not None and strict.n_steps > 4
    assert abs(strict.delta) <= 1e-3 * abs(strict.logit_gap) or strict.n_steps == 64
    assert run(n_steps=50, tolerance=0.5).n_steps == 50  # within tolerance at once: no more
    capped = run(n_steps=2, max_steps=2, tolerance=1e-9)
    assert capped.n_steps == 2 and any("did not converge" in n for n in capped.notes)


def test_deeplift_is_complete_where_it_applies(bag: tuple) -> None:
    model, tokenizer = bag
    e = explain(model, tokenizer, PLANTED, method="deeplift", trust=False)
    enc = tokenizer(PLANTED, return_tensors="pt", return_special_tokens_mask=True)
    ids, mask = enc["input_ids"], enc["attention_mask"]
    base = torch.where(enc["special_tokens_mask"].bool(), ids, tokenizer.pad_token_id)
    with torch.no_grad():  # two plain forward passes: text and all-[PAD] baseline
        x, b = (
            float(model(input_ids=i, attention_mask=mask).logits[0, e.target["index"]])
            for i in (ids, base)
        )
    assert sum(e.token_scores) == pytest.approx(x - b, abs=1e-4)
    assert e.delta == pytest.approx(sum(e.token_scores) - (x - b), abs=1e-4)
    assert e.delta_kind == "summation-to-delta"


def test_gradient_shap_reports_its_sampling_error_without_cancelling(
    bag: tuple, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its delta is the mean |error| of captum's per-sample deltas, never their signed mean.

    On the bag-of-embeddings model (ReLU) the per-sample errors have both signs.
    """
    from captum.attr import GradientShap

    seen: list[torch.Tensor] = []
    real = GradientShap.attribute

    def spy(self: Any, *args: Any, **kwargs: Any) -> Any:
        attr, delta = real(self, *args, **kwargs)
        seen.append(delta.detach().clone())
        return attr, delta

    monkeypatch.setattr(GradientShap, "attribute", spy)
    e = explain(*bag, PLANTED, method="gradient-shap", trust=False, options=FAST)
    (deltas,) = seen
    assert deltas.numel() == FAST.shap_samples  # one error per sample, as captum documents
    assert (deltas > 0).any() and (deltas < 0).any()  # signs differ: a signed mean would cancel
    assert e.delta == pytest.approx(float(deltas.abs().mean()), rel=1e-5)
    assert e.delta > abs(float(deltas.mean())) + 1e-3
    sentence = delta_sentence(e)
    assert "Completeness" not in sentence and "Not complete" in sentence
    assert "approximation error" in sentence and f"{e.delta:.4f}" in sentence


def test_gradient_shap_is_reproducible_whatever_numpy_did_before(trained: tuple) -> None:
    """Captum draws baselines and path points from NumPy's global generator."""
    import numpy as np

    runs = []
    for seed in (1, 2):
        np.random.seed(seed)  # another library's sampling in between
        runs.append(explain(*trained, PLANTED, method="gradient-shap", trust=False, options=FAST))
    assert runs[0].word_scores == runs[1].word_scores
    state = np.random.get_state()
    explain(*trained, PLANTED, method="gradient-shap", trust=False, options=FAST)
    assert np.array_equal(np.random.get_state()[1], state[1])  # the caller's stream is left alone


def test_an_old_gradient_shap_delta_is_not_shown_as_completeness(trained: tuple) -> None:
    """Explanations stored before delta_kind (pinned records, JSON) carry a signed mean."""
    e = explain(*trained, PLANTED, method="gradient-shap", trust=False, options=FAST)
    old = replace(e, delta=-0.01, delta_kind=None)
    assert delta_sentence(old).startswith("This method's scores are not meant to add up")
    ig = explain(*trained, PLANTED, trust=False)
    assert delta_sentence(replace(ig, delta_kind=None)).startswith("Completeness:")


def test_bert_baseline_keeps_special_tokens_mask_and_positions(trained: tuple) -> None:
    model, tokenizer = trained
    enc = encode(tokenizer, [PLANTED])
    ids, base = enc.input_ids[0], enc.baseline_ids[0]
    assert tokenizer.convert_ids_to_tokens([base[0], base[-1]]) == ["[CLS]", "[SEP]"]
    assert (base[1:-1] == tokenizer.pad_token_id).all() and (ids[1:-1] != base[1:-1]).all()
    view = ExplainedModel(model, tokenizer)
    view.pin_positions(enc)
    seen = view.observed_positions(enc.baseline_ids, enc)
    assert torch.equal(seen, view.observed_positions(enc.input_ids, enc))
    assert torch.equal(enc.extra["token_type_ids"], torch.zeros_like(ids)[None])


def test_roberta_baseline_keeps_special_tokens_and_the_input_positions(roberta: tuple) -> None:
    model, tokenizer = roberta
    text = "a wonderful day at the office"
    enc = encode(tokenizer, [text])
    base = enc.baseline_ids[0]
    assert tokenizer.convert_ids_to_tokens([base[0], base[-1]]) == ["<s>", "</s>"]
    assert (base[1:-1] == tokenizer.pad_token_id).all()
    view = ExplainedModel(model, tokenizer)
    own = view.observed_positions(enc.baseline_ids, enc)
    real = view.observed_positions(enc.input_ids, enc)
    # RoBERTa numbers positions around <pad>: left alone, the baseline would move.
    assert not torch.equal(own, real)
    view.pin_positions(enc)
    assert torch.equal(view.observed_positions(enc.baseline_ids, enc), real)
    e = explain(model, tokenizer, text, trust=False)
    assert e.words == text.split()
    x = sum(e.token_scores)
    assert x == pytest.approx(e.logit - e.baseline_logit, abs=abs(e.delta) + 1e-4)


def test_sub_word_scores_sum_into_their_word(trained: tuple) -> None:
    text = "zqx unbelievably great!"  # z ##q ##x | un ##bel ##ie ##va ##bly | great | !
    e = explain(*trained, text, method="input-x-gradient", trust=False)
    assert e.words == ["zqx", "unbelievably", "great", "!"]
    tokens = e.tokens[1:-1]
    scores = e.token_scores[1:-1]
    assert tokens[3:8] == ["un", "##bel", "##ie", "##va", "##bly"]
    assert e.word_scores[1] == pytest.approx(sum(scores[3:8]), abs=1e-6)
    assert e.word_scores[0] == pytest.approx(sum(scores[0:3]), abs=1e-6)
    assert [text[a:b] for a, b in e.word_spans] == e.words


def test_occlusion_removes_whole_words(trained: tuple) -> None:
    model, tokenizer = trained
    e = explain(model, tokenizer, PLANTED, method="occlusion", trust=False)
    zqx = e.words.index("zqx")
    without = PLANTED.replace("zqx", "[PAD] [PAD] [PAD]")  # all three sub-words at once
    enc = tokenizer(without, return_tensors="pt")
    with torch.no_grad():
        dropped = float(model(**enc).logits[0, e.target["index"]])
    assert e.word_scores[zqx] == pytest.approx(e.logit - dropped, abs=1e-4)


def test_a_batch_gives_the_same_scores_as_one_at_a_time(trained: tuple) -> None:
    texts = [PLANTED, "my movie", "this is a car and so it is today really"]
    together = explain_many(*trained, texts, trust=False, batch_size=3)
    for text, e in zip(texts, together, strict=True):
        alone = explain(*trained, text, trust=False)
        assert e.words == alone.words and e.n_steps == alone.n_steps
        assert e.word_scores == pytest.approx(alone.word_scores, abs=2e-3)


# ----------------------------------------------------------------------------- trust
def test_the_planted_word_comes_first_and_its_removal_matters(trained: tuple) -> None:
    e = explain(*trained, PLANTED)
    assert e.predicted["label"] == "positive"
    assert e.top_words(1)[0][0] == "zqx"
    t = e.trust
    assert t["k_words"] == 2
    assert t["comprehensiveness"] > 0.5 > t["random_comprehensiveness"] + 0.2
    assert t["sufficiency"] < t["random_sufficiency"]
    rho = t["randomization"]
    assert isinstance(rho["all"], float) and rho["all"] < 0.9, rho  # depends on the weights


def test_randomized_model_correlates_less_than_the_real_one(trained: tuple) -> None:
    text = "zqx the car is my really so today and this movie"
    real = explain(*trained, text, method="occlusion")
    again = explain(*trained, text, method="occlusion", trust=False)
    assert real.word_scores == again.word_scores  # deterministic: ρ with itself is 1
    rand = real.trust["randomization"]
    assert rand["control"] == {"spearman": 1.0, "spearman_abs": 1.0}
    assert isinstance(rand["all"], float) and rand["all"] < 0.9


def test_the_sanity_check_cascades_from_the_head_to_the_embeddings(trained: tuple) -> None:
    """Adebayo et al.'s cascade: each stage adds the next block down, both ρ per stage."""
    model, tokenizer = trained
    e = explain(model, tokenizer, PLANTED)
    rand = e.trust["randomization"]
    stages = rand["stages"]
    assert [s["stage"] for s in stages] == ["head", "layer 2", "layer 1", "embeddings"]
    shares = [s["randomized"] for s in stages]
    assert shares[0] > 0 and all(a < b for a, b in zip(shares, shares[1:], strict=False))
    assert shares[-1] == pytest.approx(1.0)  # the last stage leaves nothing of the model
    head = sum(
        p.numel()
        for n, p in model.named_parameters()
        if n.startswith(("classifier", "bert.pooler"))
    )
    total = sum(p.numel() for p in model.parameters())
    assert shares[0] == pytest.approx(head / total)  # the head is classifier + pooler
    for s in stages:  # a number at every stage, never None
        assert isinstance(s["spearman"], float) and isinstance(s["spearman_abs"], float), s
    assert rand["control"]["spearman"] == pytest.approx(1.0)
    assert (rand["top"], rand["all"]) == (stages[1]["spearman"], stages[-1]["spearman"])
    assert (rand["top_abs"], rand["all_abs"]) == (
        stages[1]["spearman_abs"],
        stages[-1]["spearman_abs"],
    )
    assert rand["attributions"] == 5  # control + head + 2 layers + embeddings
    assert stages[-1]["spearman"] < 0.9 and stages[-1]["spearman_abs"] < 0.9
    coarse = explain(model, tokenizer, PLANTED, options=Options(cascade="coarse"))
    got = coarse.trust["randomization"]
    assert [s["stage"] for s in got["stages"]] == ["head", "layer 2", "all"]
    assert got["attributions"] == 4 and got["stages"][-1]["randomized"] == pytest.approx(1.0)
    with pytest.raises(AttributionError, match="cascade must be 'layers' or 'coarse'"):
        Options(cascade="some")


def test_the_rank_correlation_of_absolute_scores_sees_through_sign_flips(trained: tuple) -> None:
    """A "randomized" model that only flips signs: signed ρ = -1 looks like a pass, |ρ| = 1."""
    from workbench.attribution.base import Attribution, Request
    from workbench.attribution.inputs import merge_to_words
    from workbench.attribution.sanity import _correlate

    model, tokenizer = trained
    enc = encode(tokenizer, [PLANTED])
    tokens = torch.linspace(-1.0, 2.0, enc.input_ids.shape[1])[None]  # distinct, both signs
    real = merge_to_words(tokens[0], enc.word_index[0], enc.n_words(0))

    class Flipped:
        def attribute(self, request: Request) -> Attribution:
            return Attribution(-tokens, [None], [None])

    request = Request(ExplainedModel(model, tokenizer), enc, [0], torch.zeros(1))
    (pair,) = _correlate(Flipped(), request, [real])  # a stub with only .attribute
    assert pair["spearman"] == pytest.approx(-1.0)
    assert pair["spearman_abs"] == pytest.approx(1.0)  # the same words matter, just as much


class OddlyNamedHead(BagOfEmbeddings):
    """A head named nothing like classifier/score/pooler: found as what is left over."""

    def __init__(self, vocab_size: int) -> None:
        super().__init__(vocab_size)
        self.out = self.classifier
        del self.classifier

    def forward(
        self, input_ids: Any = None, attention_mask: Any = None, inputs_embeds: Any = None
    ) -> Any:
        x = self.embeddings(input_ids) if inputs_embeds is None else inputs_embeds
        m = attention_mask.unsqueeze(-1).to(x.dtype)  # (batch, tokens, 1)
        return SimpleNamespace(logits=self.out(self.act(self.hidden((x * m).sum(1) / m.sum(1)))))


def test_the_sanity_check_randomizes_a_head_whatever_its_name(bag: tuple) -> None:
    """Were the head missed, the copy would be the real model and ρ = 1 would look fine."""
    torch.manual_seed(0)
    model = OddlyNamedHead(len(bag[1])).eval()
    e = explain(model, bag[1], PLANTED, method="occlusion")
    stages = e.trust["randomization"]["stages"]
    assert [s["stage"] for s in stages] == ["head", "embeddings"]
    head = sum(p.numel() for m in (model.hidden, model.out) for p in m.parameters())
    total = sum(p.numel() for p in model.parameters())
    assert stages[0]["randomized"] == pytest.approx(head / total)
    assert isinstance(stages[0]["spearman"], float) and stages[0]["spearman"] < 0.95, stages


def test_a_sanity_check_that_randomizes_nothing_raises(
    trained: tuple, monkeypatch: pytest.MonkeyPatch
) -> None:
    from workbench.attribution import sanity

    real = sanity.cascade

    def headless(view: Any, kind: str = "layers") -> Any:
        return [("head", [])] + real(view, kind)[1:]  # a lookup that found no head

    monkeypatch.setattr(sanity, "cascade", headless)
    with pytest.raises(AttributionError, match="no weights to randomize at stage 'head'"):
        explain(*trained, PLANTED)

    def decoy(view: Any, kind: str = "layers") -> Any:  # re-draws weights the model never uses
        stages = real(view, kind)
        return [("head", [nn.Parameter(torch.zeros(3))])] + stages[1:]

    monkeypatch.setattr(sanity, "cascade", decoy)
    with pytest.raises(AttributionError, match="logits did not change"):
        explain(*trained, PLANTED)


# ----------------------------------------------------------------------------- PEFT
@pytest.mark.parametrize("adapter", ["lora", "ia3"])
def test_a_peft_model_is_explained_and_left_alone(adapter: str, trained: tuple) -> None:
    from workbench.config import ModelConfig
    from workbench.methods import get_method

    model, tokenizer = trained
    wrapped = get_method(adapter).apply(copy.deepcopy(model), ModelConfig())
    assert type(wrapped).__name__.startswith("PeftModel")
    wrapped.train()  # as the training loop leaves it
    before = snapshot(wrapped, tokenizer)
    for name in ("layer-ig", "occlusion"):
        e = explain(wrapped, tokenizer, PLANTED, method=name, options=FAST)
        # adapters start as the identity (LoRA's B = 0, IA3's scales = 1): same model as before
        assert e.top_words(1)[0][0] == "zqx"
    assert_unchanged(before, wrapped, tokenizer)


# ----------------------------------------------------------------------------- rendering
def test_html_escapes_texts_labels_and_method_names(trained: tuple, tmp_path: Path) -> None:
    model = copy.deepcopy(trained[0])
    model.config.id2label = dict(enumerate(MALICIOUS))
    text = " ".join(MALICIOUS) + " zqx & 'single'"
    e = explain(model, trained[1], text, method="occlusion", target=MALICIOUS[2], options=FAST)
    e = replace(e, method="<script>m()</script>", notes=["<img src=y onerror=z>"])
    pages = [render_html(e, title="<script>t()</script>"), explanation_html(e)]
    pages.append(save_html([e, e], tmp_path / "x.html").read_text(encoding="utf-8"))
    for page in pages:
        low = page.lower()
        assert "<script" not in low and "<img" not in low
        assert '"quoted" </td>' not in page and "&quot;quoted&quot; &lt;/td&gt;" in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
        assert "http" not in low  # self-contained: nothing fetched
    assert save_png(e, tmp_path / "x.png").read_bytes()[:4] == b"\x89PNG"


def test_html_escapes_whole_malicious_words() -> None:
    """Words as a whitespace tokenizer would cut them, with and without character offsets."""
    text = " ".join(MALICIOUS)
    spans, pos = [], 0
    for word in MALICIOUS:
        start = text.index(word, pos)
        spans.append((start, start + len(word)))
        pos = start + len(word)
    e = Explanation(
        text=text,
        words=list(MALICIOUS),
        word_scores=[1.0, -1.0, 0.5],
        word_spans=spans,
        tokens=list(MALICIOUS),
        token_scores=[1.0, -1.0, 0.5],
        target={"label": MALICIOUS[0], "index": 0},
        predicted={"label": MALICIOUS[1], "index": 1},
        probs={MALICIOUS[0]: 0.2, MALICIOUS[1]: 0.8},
        method=MALICIOUS[1],
        signed=True,
        logit=1.0,
        baseline_logit=0.5,
        notes=[MALICIOUS[2]],
    )
    for variant in (e, replace(e, word_spans=[(-1, -1)] * 3)):
        page = render_html(variant, title=MALICIOUS[0])
        assert "<script" not in page.lower() and "<img" not in page.lower()
        assert '"quoted"' not in page and 'title="&quot;quoted&quot; &lt;/td&gt;: +0.5000"' in page


def test_html_shows_prediction_trust_and_a_legend(trained: tuple) -> None:
    e = explain(*trained, PLANTED)
    page = render_html(e)
    for phrase in (
        "positive",
        "Comprehensiveness",
        "Sufficiency",
        "Sanity check (cascading randomization",
        "control, nothing random 1.00/1.00",
        "head ",
        "embeddings ",
        '<table class="wb-sanity">',
        "Completeness",
        "red: pushes the logit of positive down",
        "zqx",
    ):
        assert phrase in page
    assert "rgba(33,102,172," in page  # the planted word is blue: it pushes "positive" up


def test_explanation_round_trips_through_json(trained: tuple) -> None:
    e = explain(*trained, PLANTED, method="saliency")
    data = json.loads(json.dumps(e.to_dict()))
    assert Explanation(**{k: v for k, v in data.items() if k != "explains"}).words == e.words


# ----------------------------------------------------------------------------- CLI
@pytest.fixture(scope="module")
def run_dir(tiny_bert_dir: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from conftest import toy_frame

    from workbench.config import TrainConfig
    from workbench.runs import train

    root = tmp_path_factory.mktemp("explain-run")
    config = TrainConfig().replace(
        model=tiny_bert_dir,
        dataset="toy",
        epochs=1.0,
        batch_size=16,
        lr=1e-2,
        max_length=32,
        device="cpu",
        out=str(root / "run"),
        runs_dir=str(root / "runs"),
    )
    handle = train(config, data=toy_frame(), block=True)
    assert handle.error is None, handle.error
    return root / "run"


def cli(argv: list[str]) -> tuple[int, str, str]:
    from workbench.cli import main

    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        rc = main(argv)
    return rc, out.getvalue(), err.getvalue()


def test_cli_explain_writes_json_and_html(run_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "e.json"
    rc, stdout, stderr = cli(
        [
            "explain",
            "--run",
            str(run_dir),
            "--text",
            "a great happy day",
            "--json",
            str(out),
            "--html",
            str(tmp_path / "e.html"),
        ]
    )
    assert rc == 0, stderr
    data = json.loads(out.read_text(encoding="utf-8"))
    for key in ("words", "word_scores", "target", "probs", "delta", "n_steps", "trust"):
        assert key in data
    assert {"comprehensiveness", "sufficiency", "randomization"} <= set(data["trust"])
    assert data["words"] == ["a", "great", "happy", "day"]
    assert "scores explain the logit of class" in stdout and "top words" in stdout
    assert (tmp_path / "e.html").is_file()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--method", "nope"], "unknown attribution method 'nope'; choose one of layer-ig"),
        (["--target", "nope"], "unknown target 'nope'; choose one of negative, neutral"),
    ],
)
def test_cli_explain_user_errors_exit_2(run_dir: Path, extra: list[str], message: str) -> None:
    rc, _, stderr = cli(["explain", "--run", str(run_dir), "--text", "hi", *extra])
    assert rc == 2
    assert stderr.count("\n") == 1 and stderr.startswith("error: ") and message in stderr


def test_cli_explain_needs_a_run_directory(tmp_path: Path) -> None:
    rc, _, stderr = cli(["explain", "--run", str(tmp_path), "--text", "hi"])
    assert rc == 2 and "is not a run directory" in stderr

"""Greedy generation from a causal LM: answers for prompts, streaming, before-vs-after tables.

Greedy decoding (always the most likely next token) makes the answers deterministic, so a
table of "before fine-tuning" next to "after fine-tuning" answers shows what training
changed and nothing else.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import torch

from workbench.tasks.causal_lm.batching import end_token_id, prompt_ids
from workbench.tasks.causal_lm.data import Messages


def normalize_answer(text: str) -> str:
    """Lower-case, trimmed, without trailing punctuation: ``" Positive."`` → ``"positive"``."""
    return text.strip().rstrip(".!?").strip().lower()


def _generation_config(tokenizer: Any, max_new_tokens: int) -> Any:
    from transformers import GenerationConfig

    end = end_token_id(tokenizer)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else end
    return GenerationConfig(
        max_new_tokens=max_new_tokens, do_sample=False, eos_token_id=end, pad_token_id=pad
    )


def _device(model: torch.nn.Module) -> torch.device:
    return next(model.parameters()).device


@torch.no_grad()
def generate_answers(
    model: Any,
    tokenizer: Any,
    prompts: Sequence[Messages],
    max_new_tokens: int = 16,
    streamer: Any = None,
) -> list[str]:
    """The model's greedy answer to each prompt (one at a time: no padding effects)."""
    from workbench.models.loading import quiet_transformers

    was_training = model.training
    model.eval()
    config = _generation_config(tokenizer, max_new_tokens)
    out = []
    try:
        with quiet_transformers():
            for ids in prompt_ids(tokenizer, prompts):
                x = torch.tensor([ids], device=_device(model))
                y = model.generate(
                    input_ids=x,
                    attention_mask=torch.ones_like(x),
                    generation_config=config,
                    streamer=streamer,
                )
                out.append(tokenizer.decode(y[0, len(ids) :], skip_special_tokens=True).strip())
    finally:
        model.train(was_training)
    return out


class TextSink:
    """A transformers streamer that calls ``on_text(answer_so_far)`` as tokens arrive.

    The first ``put`` carries the prompt, which is skipped. ``on_text`` runs in the thread
    that generates; a UI must only store the text there and draw it from its own pump.
    """

    def __init__(self, tokenizer: Any, on_text: Callable[[str], None]) -> None:
        self.tokenizer = tokenizer
        self.on_text = on_text
        self.ids: list[int] = []
        self._prompt_seen = False

    def put(self, value: torch.Tensor) -> None:
        if not self._prompt_seen:
            self._prompt_seen = True
            return
        self.ids.extend(int(t) for t in value.reshape(-1).tolist())
        self.on_text(self.tokenizer.decode(self.ids, skip_special_tokens=True))

    def end(self) -> None:
        self.on_text(self.tokenizer.decode(self.ids, skip_special_tokens=True))


#: New tokens the Try it box (and :func:`answer_prompt`) lets a model generate.
TRY_IT_TOKENS = 48


def answer_prompt(
    model: Any, tokenizer: Any, prompt: str, max_new_tokens: int = TRY_IT_TOKENS
) -> str:
    """The greedy answer to one user prompt, all at once: what the Try it box streams.

    A notebook prints it so that a shared copy still shows what the model answers.
    """
    (answer,) = generate_answers(
        model, tokenizer, [[{"role": "user", "content": prompt}]], max_new_tokens
    )
    return answer


def stream_answer(
    model: Any,
    tokenizer: Any,
    prompt: str,
    on_text: Callable[[str], None],
    max_new_tokens: int = TRY_IT_TOKENS,
) -> str:
    """Generate greedily for one user prompt, calling ``on_text`` with the growing answer."""
    messages = [{"role": "user", "content": prompt}]
    (answer,) = generate_answers(
        model, tokenizer, [messages], max_new_tokens, streamer=TextSink(tokenizer, on_text)
    )
    return answer


@contextlib.contextmanager
def base_model_of(model: Any) -> Iterator[Any]:
    """``model`` with its peft adapter switched off (the pretrained model), or unchanged."""
    disable = getattr(model, "disable_adapter", None)
    if disable is None:
        yield model
        return
    with disable():
        yield model


def comparison_rows(
    prompts: Sequence[Messages],
    references: Sequence[str],
    before: Sequence[str],
    after: Sequence[str],
) -> list[dict[str, Any]]:
    """One row per prompt: prompt text, reference, answers before/after, exact matches."""
    rows = []
    for messages, ref, b, a in zip(prompts, references, before, after, strict=True):
        rows.append(
            {
                "prompt": messages[-1]["content"] if messages else "",
                "reference": ref,
                "before": b,
                "after": a,
                "before_match": normalize_answer(b) == normalize_answer(ref),
                "after_match": normalize_answer(a) == normalize_answer(ref),
            }
        )
    return rows

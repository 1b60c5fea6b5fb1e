"""TryItBox: type a prompt, watch the current causal LM answer it token by token.

The answer is generated greedily in a worker thread (the kernel stays free); tokens are
streamed into the output widget at most every ``interval`` seconds (throttled, as the
live curves are), and once more at the end. The worker is the only thread that writes
the output widget while it runs (NOTEBOOK_FACTS.md: one writer per widget).

The model is the run's own: a live or paused run's in-memory model (its weights as they
are now), or a finished run's exported model read from its directory. A run that is still
training must be paused first: generating switches the model to eval mode.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import ipywidgets as w

from widgets.app.registry import resolve
from widgets.render import html
from workbench.tasks import get_task
from workbench.tasks.causal_lm.generation import TRY_IT_TOKENS

NEXT = "Change the prompt or the run, then click Generate again."


class TryItBox(w.VBox):
    """A prompt box, a **Generate** button and the streamed answer."""

    def __init__(
        self, source: Any = None, *, max_new_tokens: int = TRY_IT_TOKENS, interval: float = 0.2
    ):
        self.source = source
        self.max_new_tokens = max_new_tokens
        self.interval = interval
        self.prompt = w.Textarea(
            placeholder="Type a prompt for the model…", layout=w.Layout(width="480px")
        )
        self.button = w.Button(description="Generate")
        self.button.on_click(lambda _: self.generate())
        self.output = w.HTML()
        self.answer = ""  # the last complete answer
        self._thread: threading.Thread | None = None
        self._loaded: tuple[Any, Any, Any] | None = None  # (run_dir, model, tokenizer)
        super().__init__([w.HTML("<b>Try it</b>"), self.prompt, self.button, self.output])

    def show(self, source: Any) -> None:
        self.source = source

    @property
    def busy(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def generate(self, prompt: str | None = None) -> threading.Thread | None:
        """Start generating for ``prompt`` (default: the box's text); returns the worker."""
        text = self.prompt.value if prompt is None else prompt
        if not text.strip():
            self.output.value = html.error("type a prompt in the box above first")
            return None
        if self.busy:
            return None
        self.button.disabled = True
        self.output.value = html.note("loading the model…")
        self._thread = threading.Thread(
            target=self._work, args=(text,), daemon=True, name="workbench-try-it"
        )
        self._thread.start()
        return self._thread

    # -- the worker ------------------------------------------------------------
    def _work(self, prompt: str) -> None:
        from workbench.tasks.causal_lm.generation import stream_answer

        last = 0.0

        def on_text(partial: str) -> None:
            nonlocal last
            now = time.monotonic()
            if now - last >= self.interval:  # throttled: a few updates a second at most
                last = now
                self.output.value = _answer_html(partial, done=False)

        try:
            model, tokenizer = self._model()
            self.answer = stream_answer(model, tokenizer, prompt, on_text, self.max_new_tokens)
            self.output.value = _answer_html(self.answer, done=True)
        except Exception as err:  # shown in the box: the kernel must never see it
            self.output.value = html.error(f"{err}\n{NEXT}")
        finally:
            self.button.disabled = False

    def _model(self) -> tuple[Any, Any]:
        view = resolve(self.source)
        if view.config is not None and not get_task(view.config.model.task).generates:
            raise ValueError(
                "Try it generates text: it needs a causal-lm run; set the task to causal-lm "
                "(Model tab) and click Train"
            )
        handle = view.handle
        session = getattr(handle, "session", None) if handle is not None else None
        if session is not None:
            if view.status == "running":
                raise ValueError("the run is training: pause it (or wait for it to end) first")
            return session.accelerator.unwrap_model(session.model), session.tokenizer
        if view.run_dir is None or view.config is None:
            raise ValueError("no model yet: click Train for a causal-lm run (Train tab) first")
        if self._loaded is None or self._loaded[0] != view.run_dir:
            from workbench.runs import load_run

            model, tokenizer = load_run(view.run_dir).load_model(adapter=True)
            self._loaded = (view.run_dir, model, tokenizer)
        return self._loaded[1], self._loaded[2]


def _answer_html(text: str, done: bool) -> str:
    cursor = "" if done else " ▌"
    escaped = html.cell(text) if text else ""
    return f"<div style='white-space:pre-wrap;font-family:monospace'>{escaped}{cursor}</div>"

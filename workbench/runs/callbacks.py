"""``transformers.TrainerCallback`` objects on a workbench run: ``train(cfg, callbacks=[…])``.

Callbacks written for the Hugging Face Trainer work here unchanged. They are called from the
run's own thread as its events are logged (:meth:`EventLog.listen`), in order, before the
next step begins, so ``control.should_training_stop = True`` stops the run at that step —
exactly as the Trainer would — through the run's Stop (the run is then tested and
exported, status ``stopped``).

Hooks called, and what fills them:

=====================  ============================================================
``on_init_end``        when the run is started (before its data and model load)
``on_train_begin``     the first ``status`` event of the run (``starting``/``resuming``)
``on_step_end``        each optimizer step (``step`` event)
``on_log``             each step, with ``logs = {loss, learning_rate, grad_norm, epoch}``,
                       and each evaluation, with its ``eval_…`` metrics
``on_evaluate``        each evaluation, ``metrics = {eval_loss, eval_accuracy, …}``
``on_save``            each checkpoint written (``checkpoint`` event)
``on_train_end``       the ``end`` event (completed, stopped or failed)
=====================  ============================================================

``state`` (:class:`transformers.TrainerState`): ``global_step``, ``epoch``, ``max_steps``
(once the first step is logged: the run's planned total), ``log_history`` (the Trainer's
shape: one dict per log), ``best_metric``, ``best_global_step``,
``best_model_checkpoint`` (the run's ``checkpoints/best`` when it is saved),
``is_world_process_zero``. ``args``: a :class:`transformers.TrainingArguments` carrying the
run's ``output_dir``, learning rate, batch size, epochs, seed, weight decay, warmup ratio,
gradient clipping and accumulation. ``kwargs`` of each call hold ``run`` (the
:class:`~workbench.runs.handle.RunHandle`) and, where one is loaded, ``model``.
Not called: ``on_epoch_begin``/``on_epoch_end``, ``on_substep_end``, ``on_prediction_step``,
``on_pre_optimizer_step``/``on_optimizer_step`` (the engine logs no such events).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class CallbackBridge:
    """Turns a run's events into ``TrainerCallback`` calls and their ``control`` into Stop."""

    def __init__(self, callbacks: Sequence[Any], handle: Any) -> None:
        from transformers import TrainerCallback, TrainerControl, TrainerState

        for cb in callbacks:
            if not isinstance(cb, TrainerCallback):
                from workbench.errors import ConfigError

                raise ConfigError(
                    f"callbacks must be transformers.TrainerCallback objects, not "
                    f"{type(cb).__name__}"
                )
        self.callbacks = list(callbacks)
        self.handle = handle
        self.state = TrainerState()
        self.control = TrainerControl()
        self.args = _arguments(handle)
        self.started = False
        self.stopped = False
        self._replaying = False
        self._call("on_init_end")

    def attach(self, log: Any) -> None:
        """Follow ``log``. A resumed run's earlier events fill ``state`` (its step, history
        and best metric, as the Trainer restores them) without calling any hook."""
        self._replaying = True
        try:
            log.listen(self.on_event)
        finally:
            self._replaying = False
            self.started = False  # the resumed run begins now: on_train_begin again

    def on_event(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        if kind == "status" and not self.started:
            self.started = True
            self._call("on_train_begin")
        elif kind == "step":
            self._step(event)
        elif kind == "eval":
            self._evaluate(event)
        elif kind == "checkpoint":
            if event.get("kind") == "best":
                self.state.best_model_checkpoint = event.get("path")
            self._call("on_save")
        elif kind == "end":
            self._call("on_train_end")
        self._follow_control()

    # -- the events ----------------------------------------------------------------------
    def _step(self, e: dict[str, Any]) -> None:
        st = self.state
        st.global_step, st.epoch = int(e["step"]), float(e.get("epoch") or 0.0)
        session = getattr(self.handle, "session", None)
        total = getattr(session, "total_steps", None)
        if total:
            st.max_steps = int(total)
        self._call("on_step_end")
        logs: dict[str, Any] = {
            "loss": e.get("loss"),
            "learning_rate": e.get("lr"),
            "grad_norm": e.get("grad_norm"),
            "epoch": st.epoch,
        }
        st.log_history.append({**logs, "step": st.global_step})
        self._call("on_log", logs=logs)

    def _evaluate(self, e: dict[str, Any]) -> None:
        st = self.state
        metrics = {
            "eval_" + k.removeprefix("val_"): v
            for k, v in e.items()
            if k.startswith("val_") and isinstance(v, (int, float))
        }
        metrics["epoch"] = float(e.get("epoch") or st.epoch or 0.0)
        if e.get("best"):
            metric = "eval_" + str(e.get("metric", "val_loss")).removeprefix("val_")
            st.best_metric = metrics.get(metric)
            st.best_global_step = int(e["step"])
        self._call("on_evaluate", metrics=metrics)
        st.log_history.append({**metrics, "step": int(e["step"])})
        self._call("on_log", logs=metrics)

    def _follow_control(self) -> None:
        """``control.should_training_stop``: the run's Stop, once (tested and exported)."""
        if self.control.should_training_stop and not self.stopped and not self._replaying:
            self.stopped = True
            self.handle.stop()

    def _call(self, hook: str, **kwargs: Any) -> None:
        if self._replaying:
            return
        model = getattr(getattr(self.handle, "session", None), "model", None)
        extra = {"run": self.handle, **({"model": model} if model is not None else {}), **kwargs}
        for cb in self.callbacks:
            method = getattr(cb, hook, None)
            if method is None:
                continue
            result = method(self.args, self.state, self.control, **extra)
            if result is not None:  # the Trainer's contract: a hook may return a new control
                self.control = result


def _arguments(handle: Any) -> Any:
    """A ``TrainingArguments`` with the run's settings, for callbacks that read ``args``."""
    from transformers import TrainingArguments

    cfg = handle.config
    o = cfg.optim
    out = str(handle.run_dir or cfg.run.out or cfg.run.runs_dir)
    return TrainingArguments(
        output_dir=out,
        learning_rate=float(o.lr or 0.0),
        per_device_train_batch_size=int(o.batch_size),
        num_train_epochs=float(o.epochs),
        seed=int(o.seed),
        weight_decay=float(cfg.regularization.weight_decay),
        warmup_steps=float(o.warmup_fraction),  # transformers 5: a float below 1 is a ratio
        max_grad_norm=float(cfg.regularization.max_grad_norm or 0.0),
        gradient_accumulation_steps=int(o.grad_accum),
        report_to="none",
        use_cpu=str(o.device) == "cpu",
    )

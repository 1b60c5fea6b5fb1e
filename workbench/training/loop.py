"""The training loop, top to bottom.

One function. Everything around it — evaluation, best-checkpoint keeping, early
stopping, checkpoints, the UI — attaches through the :class:`Hooks` it calls, whose
methods take ``**kwargs`` so new information can be passed without breaking them.
"""

from __future__ import annotations

import time
from typing import Any

import torch

from workbench.training.control import Control
from workbench.training.events import EventLog
from workbench.training.memory import step_memory
from workbench.training.session import Session


class NonFiniteLoss(RuntimeError):
    """The loss became NaN or infinite; the run cannot continue from here."""


class Hooks:
    """Called by :func:`fit`. ``on_evaluate`` returns False to stop early."""

    def on_evaluate(self, session: Session, **kwargs: Any) -> bool:
        return True

    def on_stop(self, session: Session, **kwargs: Any) -> None:
        """The user pressed Stop (between two steps): save what is needed to resume, and
        whatever the end of the run needs to test a stopped run like a completed one."""


def fit(s: Session, control: Control, log: EventLog, hooks: Hooks) -> str:
    """Train until the planned steps are done, Stop is pressed or early stopping fires.

    Returns the final status: ``completed``, ``early_stopped`` or ``stopped``. Raises
    :class:`NonFiniteLoss` when the loss turns NaN/inf.
    """
    acc, model, opt, sched, cfg, p = (
        s.accelerator,
        s.model,
        s.optimizer,
        s.scheduler,
        s.config,
        s.progress,
    )
    loss_options: dict[str, Any] = {}
    for reg in s.regularizers:
        loss_options.update(reg.loss_options(cfg))
    params = [q for q in model.parameters() if q.requires_grad]
    clip = cfg.regularization.max_grad_norm or float("inf")  # inf: measure the norm, never clip
    eval_every = cfg.optim.eval_every
    model.train()
    while p.step < s.total_steps:
        # Accelerate's loader re-seeds the batch order from its own epoch counter on every
        # iteration, so the epoch is set there (it forwards it to our sampler).
        s.train_loader.set_epoch(p.epoch)
        # On resume, skip the batches of this epoch that were already trained on.
        loader = (
            acc.skip_first_batches(s.train_loader, p.batch_in_epoch)
            if p.batch_in_epoch
            else s.train_loader
        )
        tick = time.perf_counter()
        for batch in loader:
            control.wait_while_paused()
            # Stop only where an optimizer step begins: between the micro-batches of one step
            # the accumulated gradients would be lost and resume would not be exact.
            boundary = p.batch_in_epoch % cfg.optim.grad_accum == 0
            if boundary and _stop_everywhere(acc, control):
                hooks.on_stop(s)
                return "stopped"
            _apply_lr_change(s, control, log)
            with acc.accumulate(model):
                with acc.autocast():
                    out = s.task.forward(model, batch)
                loss = s.task.loss(out, batch, **loss_options)
                if not torch.isfinite(loss):
                    raise NonFiniteLoss(f"loss became {loss.item()} at step {p.step + 1}")
                penalties = [r.penalty(model) for r in s.regularizers]
                total = loss + sum(x for x in penalties if x is not None)
                acc.backward(total)
                grad_norm = acc.clip_grad_norm_(params, clip) if acc.sync_gradients else None
                opt.step()
                opt.zero_grad(set_to_none=True)
            p.batch_in_epoch += 1
            # every process takes a batch of this size: count them all (global throughput)
            n = s.task.examples_in(batch) * acc.num_processes
            p.samples += n
            p.tokens += s.task.tokens_in(batch) * acc.num_processes
            if not acc.sync_gradients:
                continue  # still accumulating micro-batches
            sched.step()
            p.step += 1
            # .item() is the one host sync per step; the loss value is what the user watches.
            elapsed = time.perf_counter() - tick
            p.train_seconds += elapsed
            log.emit(
                "step",
                step=p.step,
                epoch=p.epoch + p.batch_in_epoch / len(s.train_loader),
                loss=loss.item(),
                lr=sched.get_last_lr()[0],
                grad_norm=float(grad_norm or 0),
                samples_per_s=n * cfg.optim.grad_accum / max(elapsed, 1e-9),
                **step_memory(acc.device),  # memory_mb; peak_memory_mb on CUDA
            )
            due = (eval_every and p.step % eval_every == 0) or control.take_evaluate()
            if due:
                p.evaluated_step = p.step
                if not hooks.on_evaluate(s):
                    return "early_stopped"
            if p.step >= s.total_steps:
                break
            tick = time.perf_counter()
        else:  # the epoch ran out of batches
            p.epoch += 1
            p.batch_in_epoch = 0
            # Not twice at one step: when eval_every fell on the epoch's last batch, that
            # evaluation (and, after a resume from its checkpoint, the resumed run) skips this.
            if p.step < s.total_steps and p.step != p.evaluated_step:
                p.evaluated_step = p.step
                if not hooks.on_evaluate(s):
                    return "early_stopped"
    if p.step != p.evaluated_step:
        hooks.on_evaluate(s)  # the final evaluation, unless this step just had one
    return "completed"


def _stop_everywhere(acc: Any, control: Control) -> bool:
    """Stop requested here, or (with several processes) on any process: all stop together,
    so none is left waiting in a gradient all-reduce for a peer that already quit."""
    if acc.num_processes == 1:
        return control.stop_requested
    if control.stop_requested:
        acc.set_trigger()
    return bool(acc.check_trigger())


def _apply_lr_change(s: Session, control: Control, log: EventLog) -> None:
    """A new peak rate from the UI rescales the schedule from the next step on."""
    lr = control.take_lr()
    if lr is None:
        return
    s.scheduler.base_lrs = [lr for _ in s.scheduler.base_lrs]
    factor = s.scheduler.lr_lambdas[0](s.scheduler.last_epoch)
    for group in s.scheduler.optimizer.param_groups:
        group["lr"] = lr * factor
    s.progress.peak_lr = lr
    log.emit("lr_change", step=s.progress.step, lr=lr)

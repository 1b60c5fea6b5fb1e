"""Causal-LM instruction tuning as a plugin folder.

==================  ==========================================================
``task``            :class:`CausalLM`: loading, loss on answer tokens, metrics, finish
``data``            prompt → response pairs: files, chat messages, derived datasets
``batching``        chat-template rendering, answer masks, packing, collation
``generation``      greedy answers before and after fine-tuning
``runs``            a finished run's model (adapter or merged), its test re-run
``views``           what the Data tab shows for pairs
``attribution``     which prompt words drove an answer (Captum's LLM attribution)
==================  ==========================================================
"""

from __future__ import annotations

from workbench.tasks.causal_lm.task import CausalLM, lm_metrics

__all__ = ["CausalLM", "lm_metrics"]

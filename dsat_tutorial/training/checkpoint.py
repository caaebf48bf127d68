"""Checkpoint files for ``fit``: atomic writes, safe loads, and the random-number state to resume with.

Internal module; the public names (:class:`CheckpointError`, :data:`CHECKPOINT_NAME`) are re-exported
by :mod:`dsat_tutorial.training`.

* Writing is atomic: the payload goes to a temporary file in the same directory, is flushed and
  fsync-ed, and only then ``os.replace``-d over the previous checkpoint -- an interrupted write leaves
  the previous checkpoint intact (POSIX and Windows both make ``os.replace`` atomic on one file system).
* Reading uses ``torch.load(..., weights_only=True)``: a checkpoint is data, never code. Everything in
  it is therefore plain data (numbers, strings, lists, dicts, tensors); the random-number states are
  converted to that form here.
* A missing, truncated or foreign file raises :class:`CheckpointError` naming the file; so does a
  corrupted one: every checkpoint stores ``sha256``, a SHA-256 digest of its payload (every tensor's
  dtype, shape and bytes and every plain value, in order; :func:`payload_digest`), checked on load --
  ``torch.load`` itself does not notice flipped bytes inside a tensor record. Checkpoints written
  before the digest existed (no ``sha256`` key) still load.

Resuming bit for bit needs every source of randomness: Python's ``random``, NumPy's global generator,
PyTorch's CPU (and CUDA) generators -- dropout and the default shuffling of a ``DataLoader`` draw from
it -- and any ``torch.Generator`` a data loader or its sampler owns (``make_loaders`` gives the training
loader its own).

What it is not: a general experiment store (one file, the latest epoch, no history of checkpoints).

References: PyTorch "Saving and loading models" and ``torch.load(weights_only=True)``; Python
``os.replace`` and ``tempfile.mkstemp``.
"""

from __future__ import annotations

import hashlib
import os
import random
import tempfile
from typing import Any

import numpy as np
import torch

__all__ = ["CheckpointError", "CHECKPOINT_NAME", "FORMAT", "save_checkpoint", "load_checkpoint", "payload_digest",
           "capture_rng", "restore_rng", "loader_generators"]

#: File name of the latest checkpoint inside ``checkpoint_dir``.
CHECKPOINT_NAME = "checkpoint.pt"
#: Format tag stored in every checkpoint; a file without it is not one of ours.
FORMAT = "dsat_tutorial.fit/1"


class CheckpointError(RuntimeError):
    """A checkpoint file is missing, unreadable (e.g. truncated) or does not match the run.

    The message names the file; the ``path`` attribute holds it. Reference: PyTorch's
    ``torch.load(..., weights_only=True)``, whose own errors are chained as the cause.
    Taught in: Part IV, The full DS&T loop.

    >>> str(CheckpointError("runs/checkpoint.pt", "no such file (nothing to resume from)"))
    "checkpoint 'runs/checkpoint.pt': no such file (nothing to resume from)"
    """

    def __init__(self, path: str | os.PathLike, problem: str):
        self.path = os.fspath(path)
        super().__init__(f"checkpoint {self.path!r}: {problem}")


def _feed(h, obj: Any) -> None:
    """Feed ``obj`` to the hash ``h`` canonically: type tags, then contents (dicts in insertion order)."""
    if isinstance(obj, torch.Tensor):
        t = obj.detach().cpu().contiguous().reshape(-1)
        h.update(f"T{t.dtype}{tuple(obj.shape)}".encode())
        h.update(t.view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    elif isinstance(obj, dict):
        h.update(f"D{len(obj)}".encode())
        for k, v in obj.items():
            _feed(h, k), _feed(h, v)
    elif isinstance(obj, (list, tuple)):
        h.update(f"L{len(obj)}".encode())
        for v in obj:
            _feed(h, v)
    else:  # None, bool, int, float, str: repr is exact for all of them (floats round trip)
        h.update(f"{type(obj).__name__}:{obj!r};".encode())


def payload_digest(payload: dict) -> str:
    """SHA-256 (hex) of everything in ``payload`` except its ``sha256`` entry, read canonically.

    >>> a = {"format": FORMAT, "w": torch.ones(2)}
    >>> payload_digest(a) == payload_digest({"format": FORMAT, "w": torch.ones(2)})
    True
    >>> payload_digest(a) == payload_digest({"format": FORMAT, "w": torch.tensor([1.0, 1.0 + 2 ** -23])})
    False
    """
    h = hashlib.sha256()
    _feed(h, {k: v for k, v in payload.items() if k != "sha256"})
    return h.hexdigest()


def save_checkpoint(path: str | os.PathLike, payload: dict) -> None:
    """Write ``payload`` and its ``sha256`` digest to ``path`` atomically (temporary file, fsync,
    ``os.replace``)."""
    payload = {**payload, "sha256": payload_digest(payload)}
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=".pt")
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(payload, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def load_checkpoint(path: str | os.PathLike) -> dict:
    """Load a checkpoint written by :func:`save_checkpoint` with ``weights_only=True``.

    Raises:
        CheckpointError: the file is missing, cannot be read (truncated, corrupt, not a torch file),
            is not a ``fit`` checkpoint, or its contents do not match their stored SHA-256 digest.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise CheckpointError(path, "no such file (nothing to resume from)")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # truncated zip, bad pickle, wrong magic number, ...
        raise CheckpointError(path, f"cannot be read, the file is corrupt or truncated "
                                    f"({type(exc).__name__}: {exc})") from exc
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(path, f"not a fit() checkpoint (expected format {FORMAT!r})")
    if "sha256" in payload and payload_digest(payload) != payload["sha256"]:
        raise CheckpointError(path, "is corrupt: its contents do not match the SHA-256 digest stored "
                                    "with them (bytes changed after it was written)")
    return payload


def capture_rng() -> dict:
    """Python, NumPy and PyTorch random states as plain data."""
    version, internal, gauss = random.getstate()
    np_state = np.random.get_state(legacy=False)
    state: dict[str, Any] = {
        "python": [version, list(internal), gauss],
        "numpy": {"bit_generator": np_state["bit_generator"],
                  "key": torch.from_numpy(np_state["state"]["key"].astype(np.int64)),
                  "pos": int(np_state["state"]["pos"]),
                  "has_gauss": int(np_state["has_gauss"]), "gauss": float(np_state["gauss"])},
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng(state: dict) -> None:
    """Inverse of :func:`capture_rng`."""
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    np_state = state["numpy"]
    np.random.set_state({"bit_generator": np_state["bit_generator"],
                         "state": {"key": np_state["key"].numpy().astype(np.uint32), "pos": np_state["pos"]},
                         "has_gauss": np_state["has_gauss"], "gauss": np_state["gauss"]})
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def loader_generators(loader) -> list[torch.Generator]:
    """The distinct ``torch.Generator`` objects a ``DataLoader`` draws from (its own, its samplers')."""
    found: list[torch.Generator] = []
    candidates = [getattr(loader, "generator", None)]
    sampler = getattr(loader, "sampler", None)
    batch_sampler = getattr(loader, "batch_sampler", None)
    candidates += [getattr(sampler, "generator", None),
                   getattr(getattr(batch_sampler, "sampler", None), "generator", None)]
    for gen in candidates:
        if isinstance(gen, torch.Generator) and all(gen is not g for g in found):
            found.append(gen)
    return found

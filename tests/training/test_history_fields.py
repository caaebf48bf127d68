"""Tests for the History fields added for Part IV: ``spikes`` columns and optional per-epoch fields
(``add_to_epoch``), including histories saved before they existed."""

import json

import pytest

from dsat_tutorial.training import History
from dsat_tutorial.training.history import SPIKE_KEYS


def test_optional_epoch_fields_are_added_to_the_last_record_only():
    h = History()
    with pytest.raises(ValueError, match="needs an epoch record"):
        h.add_to_epoch(recurrent_gain={"rnn.weight_hh_l0": 1.0})
    h.log_epoch({"epoch": 1, "train_loss": 0.5})
    h.log_epoch({"epoch": 2, "train_loss": 0.4})
    h.add_to_epoch(recurrent_gain={"rnn.weight_hh_l0": 1.25})
    assert h["recurrent_gain"] == [None, {"rnn.weight_hh_l0": 1.25}]
    with pytest.raises(ValueError, match=r"\['train_loss'\] are already in the record of epoch 2"):
        h.add_to_epoch(train_loss=0.0)
    assert h["train_loss"] == [0.5, 0.4]


def test_spikes_round_trip_and_old_histories_load():
    h = History()
    h.log_spike(epoch=1, step=3, loss=12.5, ema=0.4)
    assert History.from_json(h.to_json()).spikes == {"epoch": [1], "step": [3], "loss": [12.5], "ema": [0.4]}
    old = json.loads(h.to_json())
    del old["spikes"]  # as saved before the spike guard existed
    assert History.from_dict(old).spikes == {k: [] for k in SPIKE_KEYS}

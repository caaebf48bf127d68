"""Tests for dsat_tutorial.metrics against scikit-learn's accuracy_score and f1_score."""

import numpy as np
import pytest
import torch
from sklearn.metrics import accuracy_score
from sklearn.metrics import f1_score as sk_f1

from dsat_tutorial.metrics import accuracy, f1_score, predictions


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("shape", ["multi", "binary_col", "binary_flat"])
def test_accuracy_and_f1_match_scikit_learn(seed, shape):
    g = torch.Generator().manual_seed(seed)
    n = 97
    if shape == "multi":
        logits = torch.randn(n, 4, generator=g)
        y = torch.randint(0, 4, (n,), generator=g)
        pred = logits.argmax(1).numpy()
    else:
        logits = torch.randn(n, 1, generator=g) if shape == "binary_col" else torch.randn(n, generator=g)
        y = torch.randint(0, 2, (n,), generator=g)
        pred = (logits.reshape(-1).numpy() > 0).astype(int)
    assert accuracy(logits, y) == pytest.approx(accuracy_score(y.numpy(), pred), abs=1e-15)
    for positive in (0, 1):
        want = sk_f1(y.numpy(), pred, labels=[positive], average="macro", zero_division=0)
        assert f1_score(logits, y, positive=positive) == pytest.approx(want, abs=1e-15)


def test_f1_is_not_accuracy_on_imbalanced_data():
    y = torch.tensor([0] * 95 + [1] * 5)
    always_negative = torch.full((100, 1), -1.0)
    assert accuracy(always_negative, y) == 0.95
    assert f1_score(always_negative, y) == 0.0


def test_float_labels_of_a_bce_model_are_accepted():
    logits = torch.tensor([[1.0], [-1.0], [2.0]])
    assert accuracy(logits, torch.tensor([[1.0], [0.0], [0.0]])) == pytest.approx(2 / 3)


@pytest.mark.parametrize("bad", [torch.zeros(2, 3, 4), torch.zeros(0, 2), np.zeros((3, 2))])
def test_bad_outputs_are_rejected(bad):
    with pytest.raises(ValueError, match="outputs"):
        predictions(bad)


def test_mismatched_targets_and_bad_positive_are_rejected():
    with pytest.raises(ValueError, match="targets"):
        accuracy(torch.zeros(3, 2), torch.zeros(4))
    with pytest.raises(ValueError, match="positive"):
        f1_score(torch.zeros(3, 2), torch.zeros(3), positive=-1)
    with pytest.raises(ValueError, match="positive"):
        f1_score(torch.zeros(3, 2), torch.zeros(3), positive=True)


def test_confusion_matrix_matches_sklearn():
    from sklearn.metrics import confusion_matrix as sk_confusion

    from dsat_tutorial.metrics import confusion_matrix
    rng = np.random.default_rng(3)
    names = ["HEALTHY", "UNDERFITTING", "OVERFITTING", "PLATEAU", "DIVERGING"]
    t, p = rng.choice(names, 40).tolist(), rng.choice(names, 40).tolist()
    assert (confusion_matrix(t, p, names) == sk_confusion(t, p, labels=names)).all()


def test_confusion_matrix_rejects_bad_input():
    from dsat_tutorial.metrics import confusion_matrix
    with pytest.raises(ValueError):
        confusion_matrix([1, 2], [1], [1, 2])
    with pytest.raises(ValueError):
        confusion_matrix([1, 3], [1, 2], [1, 2])
    with pytest.raises(ValueError):
        confusion_matrix([1], [1], [1, 1])

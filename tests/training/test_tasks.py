"""fit learns every synthetic task at its default settings: validation loss < 0.1 x the task's baseline.

The baseline is the loss of the best constant predictor (dsat_tutorial.data.baseline_loss), computed by
the data module independently of training; a model that only learned the mean would sit at 1 x.
"""

import pytest
import torch

from dsat_tutorial import data
from dsat_tutorial.models import SequenceClassifier, SequenceRegressor
from dsat_tutorial.training import fit

# task -> (model factory, Adam lr, epochs); one core, a few seconds each
CASES = {
    "adding_problem": (lambda t: SequenceRegressor(t.X.shape[2], 32, cell="gru"), 1e-2, 12),
    "sine_forecast": (lambda t: SequenceRegressor(t.X.shape[2], 32), 1e-2, 6),
    "delayed_sum": (lambda t: SequenceRegressor(t.X.shape[2], 32, return_sequences=True), 1e-2, 5),
    "threshold_sequences": (lambda t: SequenceClassifier(t.X.shape[2], 16, cell="gru"), 1e-2, 12),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_fit_beats_a_tenth_of_the_baseline(name):
    task = getattr(data, name)()  # the task's default settings
    make_model, lr, epochs = CASES[name]
    train, val = data.make_loaders(task.X, task.y, batch_size=32, seed=0)
    torch.manual_seed(0)
    model = make_model(task)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    history = fit(model, train, val, loss_fn=task.loss_fn(), optimizer=opt, epochs=epochs, clip=1.0,
                  schedulers=torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs), progress=False)
    assert history["val_loss"][-1] < 0.1 * task.baseline_loss, (history["val_loss"], task.baseline_loss)
    assert history["val_loss"][0] > history["val_loss"][-1]

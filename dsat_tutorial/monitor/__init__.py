"""Watching a run: the training-health verdicts, the loss-spike guard and the recurrent gain.

What it is: signals computed from what a run already produces -- losses, weights -- that the DS&T
policy and ``fit`` act on. ``health.py`` holds :class:`HealthMonitor` and its :class:`Health` verdicts;
``spike.py`` the :class:`LossSpikeGuard` (a batch loss far above its moving average); ``gain.py``
:func:`recurrent_gain` (the spectral norm of each recurrent weight matrix) and the ``fit`` callback
:class:`RecordRecurrentGain`; ``curves.py`` reads finished learning curves: the generalisation gap,
the recent trend and :func:`label_run`, an after-the-fact label to measure the monitor against.
What it is not: a controller; nothing here changes a learning rate or stops a run
(``dsat_tutorial.policy`` maps verdicts to actions, ``dsat_tutorial.training.fit`` carries them out).

References: L. Prechelt, "Early stopping -- but when?", 1998; Chowdhery et al., PaLM, 2022, section 5.1;
Pascanu, Mikolov & Bengio, ICML 2013; see each module.
"""

from .curves import generalisation_gap, label_run, relative_change
from .gain import RecordRecurrentGain, recurrent_gain
from .health import Health, HealthMonitor
from .spike import LossSpikeGuard
from .timesteps import early_late_ratio, input_gradient_norms

__all__ = ["Health", "HealthMonitor", "LossSpikeGuard", "recurrent_gain", "RecordRecurrentGain",
           "generalisation_gap", "relative_change", "label_run", "input_gradient_norms", "early_late_ratio"]

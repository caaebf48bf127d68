"""Watching a run: the training-health verdicts (and, as they land, the loss-spike guard and the
recurrent gain).

What it is: signals computed from what a run already produces -- losses, weights -- that the DS&T
policy and ``fit`` act on. ``health.py`` holds :class:`HealthMonitor` and its :class:`Health` verdicts.
What it is not: a controller; nothing here changes a learning rate or stops a run
(``dsat_tutorial.policy`` maps verdicts to actions, ``dsat_tutorial.training.fit`` carries them out).

References: L. Prechelt, "Early stopping -- but when?", 1998; see each module.
"""

from .health import Health, HealthMonitor

__all__ = ["Health", "HealthMonitor"]

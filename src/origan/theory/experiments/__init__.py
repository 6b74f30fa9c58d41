"""The lab's experiments; importing this package registers each one in :data:`origan.theory.lab.EXPERIMENTS`.

The import order is the order ``origan theory all`` runs them: the exact identities first, then training.
"""

from .identity import identity  # isort: skip
from .optimal_d import optimal_d  # isort: skip
from .convergence import convergence  # isort: skip
from .saturation import saturation  # isort: skip
from .figure1 import figure1  # isort: skip

__all__ = ["convergence", "figure1", "identity", "optimal_d", "saturation"]

"""Training: Algorithm 1 (alternating k D steps and one G step) and the authors' simultaneous update."""

from .state import BatchSampler, TrainState
from .trainer import Callback, Trainer, TrainingDiverged, TrainingInterrupted

__all__ = ["BatchSampler", "Callback", "TrainState", "Trainer", "TrainingDiverged", "TrainingInterrupted"]

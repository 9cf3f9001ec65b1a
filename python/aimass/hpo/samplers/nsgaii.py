"""``optuna.samplers.nsgaii``: the NSGA-II crossovers and strategies (defined in _nsga2.py)."""
from ._nsga2 import (BaseCrossover, BLXAlphaCrossover, NSGAIIAfterTrialStrategy, NSGAIIChildGenerationStrategy,
                     NSGAIIElitePopulationSelectionStrategy, SBXCrossover, SPXCrossover, UNDXCrossover,
                     UniformCrossover, VSBXCrossover)

__all__ = ["BaseCrossover", "BLXAlphaCrossover", "SBXCrossover", "SPXCrossover", "UNDXCrossover", "UniformCrossover",
           "VSBXCrossover", "NSGAIIAfterTrialStrategy", "NSGAIIChildGenerationStrategy",
           "NSGAIIElitePopulationSelectionStrategy"]

"""``optuna.samplers.nsgaii``: the NSGA-II crossovers, mutations and strategies (in _nsga2.py)."""
from ._nsga2 import (BaseCrossover, BaseMutation, BLXAlphaCrossover, NSGAIIAfterTrialStrategy,
                     NSGAIIChildGenerationStrategy, NSGAIIElitePopulationSelectionStrategy, PolynomialMutation,
                     SBXCrossover, SPXCrossover, UNDXCrossover, UniformCrossover, VSBXCrossover)

__all__ = ["BaseCrossover", "BaseMutation", "BLXAlphaCrossover", "PolynomialMutation", "SBXCrossover", "SPXCrossover",
           "UNDXCrossover", "UniformCrossover", "VSBXCrossover", "NSGAIIAfterTrialStrategy",
           "NSGAIIChildGenerationStrategy", "NSGAIIElitePopulationSelectionStrategy"]

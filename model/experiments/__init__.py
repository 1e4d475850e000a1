"""Experiments on the one executor: lever effects (and, to come, comparison, discovery,
optimisation). Each module runs replications with common random numbers: the same seeds, hence
the same parameter draws, 2020 draws, sector shocks and pipeline draws, in every variant."""

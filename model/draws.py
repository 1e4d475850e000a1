"""Per-member random draws that are a pure function of (run, purpose, step, member id).

A counter-based generator: each draw hashes its counter with the SplitMix64 finaliser (Steele,
Lea and Flood 2014), two rounds, the first over the run's key, the purpose and the step, the
second over that and the member's id. Draws are made only for the members asked about (the
living ones), and a firm gets the same draw in every scenario run with the same seed however
the populations diverge (common random numbers), in any order and at any scale. Uniforms use the
top 53 bits and lie in (0, 1).
"""

from __future__ import annotations

import numpy as np

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_MASK = (1 << 64) - 1


def _mix(z: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser of uint64 values (wrapping arithmetic)."""
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


def stream_key(key: int, purpose: int, step: int) -> int:
    """The 64-bit key of one purpose's draws in one step of one run."""
    with np.errstate(over="ignore"):
        base = np.array([(key + purpose * 0x632BE59BD9B4E019 + step * 0x85157AF5) & _MASK], dtype=np.uint64)
        return int(_mix(base + _GOLDEN)[0])


def uniforms(key: int, ids: np.ndarray) -> np.ndarray:
    """U(0, 1) draws, one per id (int array), for the stream `key` (stream_key)."""
    with np.errstate(over="ignore"):
        z = _mix(np.asarray(ids, dtype=np.uint64) * _GOLDEN + np.uint64(key))
    return ((z >> np.uint64(11)).astype(np.float64) + 0.5) * 2.0**-53


def laplace(key: int, ids: np.ndarray) -> np.ndarray:
    """Laplace draws with mean 0 and variance 1, one per id (inverse CDF of `uniforms`)."""
    u = uniforms(key, ids) - 0.5
    return -np.sign(u) * np.log1p(-2.0 * np.abs(u)) / np.sqrt(2.0)

"""Counter-based randomness for the simulators.

Every random number is a pure function of (key, counter), computed with the splitmix64 mixer, so a
sample's value depends only on the seed, the device and its tick index: the same window gives the
same samples, and a window fetched in pieces gives exactly the samples of the whole.
"""

from __future__ import annotations

import hashlib

import numpy as np

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_TWO_POW_M53 = 1.0 / (1 << 53)


def key_of(*parts: object) -> np.uint64:
    """A 64-bit key from any printable parts (seed, device name, purpose)."""
    digest = hashlib.blake2b("\x1f".join(map(str, parts)).encode(), digest_size=8).digest()
    return np.uint64(int.from_bytes(digest, "little"))


def mix(key: np.uint64, counter: np.ndarray | int) -> np.ndarray:
    """splitmix64 of key and counter: 64 well-mixed bits per counter value."""
    with np.errstate(over="ignore"):
        z = np.asarray(counter).astype(np.uint64) * _GOLDEN ^ key
        z = z + _GOLDEN
        z = (z ^ (z >> np.uint64(30))) * _M1
        z = (z ^ (z >> np.uint64(27))) * _M2
        return z ^ (z >> np.uint64(31))


def uniform(key: np.uint64, counter: np.ndarray | int) -> np.ndarray:
    """Uniform floats in (0, 1), one per counter value."""
    return ((mix(key, counter) >> np.uint64(11)).astype(np.float64) + 0.5) * _TWO_POW_M53


def normal(key: np.uint64, counter: np.ndarray | int) -> np.ndarray:
    """Standard normal floats (Box-Muller over two independent uniform streams)."""
    u1 = uniform(key, counter)
    u2 = uniform(key ^ _M1, counter)
    return np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)

"""A private, seeded langdetect factory: loaded once under a lock, with a target prior.

Why private: langdetect's module-level `detect` uses a global factory whose seed is a process-wide
class attribute (`DetectorFactory.seed`), so seeding it would change other users' results; and its
lazy first load is not thread-safe (8 threads calling at once raise "Need to load profiles" or get
labels from a half-loaded factory: https://github.com/Mimino666/langdetect/issues/30, /issues/65).
Here the factory is an instance with its own seed (`set_seed(0)`), fully loaded before anyone sees it.
After loading, each call builds its own `Detector` and RNG, so concurrent calls are safe and equal.
"""

from __future__ import annotations

import threading
from typing import Any

__all__ = ["detect", "probabilities", "warm_up", "loaded"]

SEED = 0
_lock = threading.Lock()
_factory: Any = None


def _get() -> Any:
    global _factory
    factory = _factory
    if factory is not None:
        return factory
    with _lock:
        if _factory is None:
            from langdetect.detector_factory import PROFILES_DIRECTORY, DetectorFactory

            f = DetectorFactory()
            f.load_profile(PROFILES_DIRECTORY)
            f.set_seed(SEED)
            _factory = f  # published only when complete
        return _factory


def warm_up() -> None:
    """Load the profiles now (about 0.3 s and 60 MB once per process) instead of on first use."""
    _get()


def loaded() -> bool:
    """Whether this process has loaded the profiles."""
    return _factory is not None


def _reset() -> None:
    """Forget the loaded factory (tests use this to re-create a cold start)."""
    global _factory
    with _lock:
        _factory = None


def probabilities(
    text: str, prior: dict[str, float] | None = None, max_chars: int = 10000
) -> dict[str, float]:
    """langdetect's probabilities for `text` (seeded), or ``{}`` when it finds no features.

    Args:
        text: the text; langdetect reads at most `max_chars` of it.
        prior: language -> prior weight; languages left out can never be returned.
    """
    from langdetect.lang_detect_exception import LangDetectException

    detector = _get().create()
    detector.set_max_text_length(max_chars)
    if prior:
        detector.set_prior_map(prior)
    detector.append(text)
    try:
        return {lang.lang: lang.prob for lang in detector.get_probabilities()}
    except LangDetectException:  # no features (digits, symbols only)
        return {}


def detect(text: str, prior: dict[str, float] | None = None) -> str | None:
    """The most probable language of `text`, or None when langdetect finds no features."""
    probs = probabilities(text, prior)
    return max(probs, key=lambda k: (probs[k], k)) if probs else None

"""Reward, sandbox and trainer benchmarks. Run ``python -m benchmarks`` (all) or ``python -m benchmarks NAME``."""

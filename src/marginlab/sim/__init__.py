"""Vectorised core: float64 arrays and numba kernels; the only place floats do money maths."""

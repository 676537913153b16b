"""Package data: bundled market scenarios (``scenarios/``; see :mod:`marginlab.io.scenarios`)."""

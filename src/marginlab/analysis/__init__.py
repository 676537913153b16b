"""Use cases on top of the engine: replay of market history (exact reference and fast core)."""

"""Engines that explore a Model's states, and the command-line interface."""
from explorer.bfs import explore
from explorer.codegen import compile_model
from explorer.options import Options

__all__ = ["Options", "compile_model", "explore"]

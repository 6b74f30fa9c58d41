"""The command line (``origan``): a thin skin over the library; see :func:`main`."""

from .parser import build_parser, main

__all__ = ["build_parser", "main"]

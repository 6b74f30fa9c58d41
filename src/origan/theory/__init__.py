"""The theory lab: exact D*, V, C(G), JSD and KL for densities given as log-density callables."""

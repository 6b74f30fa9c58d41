"""Latent space: walks between noise vectors (Figure 3) and the inference net E: x -> z (Section 7.2)."""

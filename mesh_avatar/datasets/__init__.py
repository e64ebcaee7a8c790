"""Training data: populations of avatars, the synthetic target-set builder, image folders."""

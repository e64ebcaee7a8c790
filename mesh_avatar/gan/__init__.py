"""The GAN: a generator of morphable-model coefficients, judged through a renderer by a 2D CNN.

Modules: ``config`` (dataclass configs), ``generator``, ``discriminator``, ``losses`` (pure
functions), ``augment`` (differentiable augmentation), ``ema``, ``encoder`` (reads coefficients
back from images; the generator's readable coefficients are matched to its readouts of the real
set), ``training`` (small step
functions and the loop), ``checkpoint`` (``*.pt`` files, :func:`load_generator`,
:func:`sample_generator`) and ``metrics/`` (one file per metric).
"""

"""The one exception type of the renderers: bad input (shapes, devices, non-finite values)."""

from __future__ import annotations


class RenderInputError(ValueError):
    """Render inputs are malformed: wrong shapes or dtypes, non-finite values, bad settings.

    ``renderers`` does not depend on ``mesh_avatar``; callers there map this to their own error type.
    """

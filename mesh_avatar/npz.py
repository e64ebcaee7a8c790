"""Deterministic ``.npz`` archives: the same arrays always give the same bytes.

``numpy.savez`` stamps the current time into the zip entries; model files and params files are
compared byte for byte in tests and by users, so the entries here carry a fixed timestamp.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Mapping

import numpy as np

_FIXED_DATE = (1980, 1, 1, 0, 0, 0)


def npz_bytes(arrays: Mapping[str, np.ndarray], compress: bool = True) -> bytes:
    """Serialise ``arrays`` (name -> array, no object arrays) as a reproducible ``.npz`` archive.

    The result loads with ``numpy.load(..., allow_pickle=False)``.
    """
    buffer = io.BytesIO()
    method = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    with zipfile.ZipFile(buffer, "w", compression=method) as archive:
        for name, value in arrays.items():
            array = np.asarray(value)
            if array.dtype == object:
                raise TypeError(f"array {name!r} has dtype object; npz files here never pickle")
            entry = io.BytesIO()
            np.lib.format.write_array(entry, np.ascontiguousarray(array), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=_FIXED_DATE)
            info.compress_type = method
            info.external_attr = 0o644 << 16
            archive.writestr(info, entry.getvalue(), compresslevel=9 if compress else None)
    return buffer.getvalue()

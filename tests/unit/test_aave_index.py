import numpy as np
import pytest

from basiskit.data.aave_index import interpolate_index

DAY = 86_400 * 10**9


def test_snapshots_are_reproduced_and_midpoint_is_geometric():
    t = np.array([0, DAY, 2 * DAY], dtype=np.int64)
    idx = np.array([1.0, 1.001, 1.003])
    q = np.array([0, DAY // 2, DAY, 2 * DAY], dtype=np.int64)
    out = interpolate_index(t, idx, q)
    assert out[0] == 1.0 and out[2] == 1.001 and out[3] == 1.003
    assert out[1] == pytest.approx(np.sqrt(1.0 * 1.001), rel=1e-15)
    # the product of sub-period growth factors equals the snapshot ratio
    qs = np.arange(0, DAY + 1, 3600 * 10**9, dtype=np.int64)
    g = interpolate_index(t, idx, qs)
    assert np.prod(g[1:] / g[:-1]) == pytest.approx(1.001, rel=1e-13)


def test_no_extrapolation():
    t = np.array([0, DAY], dtype=np.int64)
    with pytest.raises(ValueError, match="outside the snapshot range"):
        interpolate_index(t, np.array([1.0, 1.1]), np.array([DAY + 1], dtype=np.int64))

"""Stacked OLS + Newey–West fits (toolkit.analysis._batched_ols) against statsmodels.

Every expected number comes from ``statsmodels`` fitted one model at a time:
``sm.OLS(y, X).fit(cov_type="HAC", cov_kwds={"maxlags": S})`` (Bartlett kernel, no
small-sample correction, as ``relations`` has always called it) and the conventional
``sm.OLS(y, X).fit()``; collinearity as ``np.linalg.matrix_rank(X) < k``.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
import statsmodels.api as sm

from toolkit.analysis._batched_ols import fit_slopes, fit_slopes_shared


def _exact_hac(y: np.ndarray, cols: np.ndarray, maxlags: int) -> float:
    """Newey–West variance of column 1 of ``[1, cols]`` in exact rational arithmetic."""
    n = y.size
    xf = [[Fraction(1)] + [Fraction(float(v)) for v in row] for row in cols]
    yf = [Fraction(float(v)) for v in y]
    k = len(xf[0])
    aug = [
        [sum(xf[i][a] * xf[i][c] for i in range(n)) for c in range(k)]
        + [Fraction(int(a == c)) for c in range(k)]
        for a in range(k)
    ]
    for c in range(k):  # Gauss–Jordan inverse of X'X
        pivot = next(r for r in range(c, k) if aug[r][c] != 0)
        aug[c], aug[pivot] = aug[pivot], aug[c]
        aug[c] = [v / aug[c][c] for v in aug[c]]
        for r in range(k):
            if r != c:
                f = aug[r][c]
                aug[r] = [a - f * b for a, b in zip(aug[r], aug[c], strict=True)]
    inv = [row[k:] for row in aug]
    xty = [sum(xf[i][c] * yf[i] for i in range(n)) for c in range(k)]
    b = [sum(inv[a][c] * xty[c] for c in range(k)) for a in range(k)]
    z = [
        (yf[i] - sum(xf[i][a] * b[a] for a in range(k))) * sum(inv[1][a] * xf[i][a] for a in range(k))
        for i in range(n)
    ]
    s = sum(v * v for v in z)
    for lag in range(1, maxlags + 1):
        s += 2 * (1 - Fraction(lag, maxlags + 1)) * sum(z[i] * z[i - lag] for i in range(lag, n))
    return float(s)


def _reference(y: np.ndarray, cols: np.ndarray, maxlags: int) -> tuple[float, float, float] | None:
    """(b, var_ols, var_hac) of column 1 of ``[1, cols]``, or None when rank-deficient."""
    design = np.column_stack([np.ones(y.size), cols])
    if np.linalg.matrix_rank(design) < design.shape[1]:
        return None
    conv = sm.OLS(y, design).fit()
    hac = sm.OLS(y, design).fit(cov_type="HAC", cov_kwds={"maxlags": maxlags}, use_t=True)
    return float(conv.params[1]), float(conv.bse[1] ** 2), float(hac.bse[1] ** 2)


def _ar1(rng: np.random.Generator, n: int, phi: float) -> np.ndarray:
    e = rng.normal(size=n)
    out = np.empty(n)
    out[0] = e[0]
    for i in range(1, n):
        out[i] = phi * out[i - 1] + e[i]
    return out


def _cases(rng: np.random.Generator) -> list[tuple[np.ndarray, np.ndarray, int, str]]:
    """(y, regressors (tested first), maxlags, label) for ordinary and degenerate designs."""
    cases = []
    for n in (5, 6, 12, 40, 120, 365):
        t = np.arange(n) / 7.0
        x = _ar1(rng, n, 0.7) * 900.0 + 2500.0  # large-scale regressor (kg)
        prior = 4.0 + _ar1(rng, n, 0.5)
        y = 3.0 + 0.002 * x - 0.1 * t + 0.3 * prior + _ar1(rng, n, 0.6)
        lags = max(1, min(n - 1, math.ceil(1.3 * math.sqrt(n))))
        cases.append((y, np.column_stack([x, t, prior]), lags, f"ar1 n={n}"))
    n = 50
    t = np.arange(n) / 7.0
    y = rng.normal(size=n) + 5.0
    binary = np.zeros(n)
    binary[[7, 31]] = 1.0
    cases.append((y, np.column_stack([binary, t]), 10, "two exposure days"))
    cases.append((y, np.column_stack([t * 7.0 + 3.0, t]), 10, "collinear with the trend"))
    cases.append((y, np.column_stack([rng.normal(size=n), np.full(n, 2.0)]), 10, "constant adjustment"))
    cases.append((y, np.column_stack([rng.normal(size=n), t, 2 * t - 1.0]), 10, "collinear adjustments"))
    cases.append((y, np.column_stack([rng.normal(size=n) * 1e-9, t]), 10, "tiny-scale driver"))
    near = t + rng.normal(size=n) * 1e-7
    cases.append((y, np.column_stack([near, t]), 10, "nearly collinear"))
    exact_y = 1.0 + 2.0 * t + 0.5 * binary
    cases.append((exact_y, np.column_stack([binary, t]), 10, "perfect fit"))
    return cases


def test_fit_slopes_equals_statsmodels_fit_by_fit() -> None:
    rng = np.random.default_rng(8)
    cases = _cases(rng)
    width = max(c[1].shape[1] for c in cases)
    fit = np.concatenate([np.full(c[0].size, i) for i, c in enumerate(cases)])
    y = np.concatenate([c[0] for c in cases])
    x = np.vstack([np.pad(c[1], ((0, 0), (0, width - c[1].shape[1])), constant_values=np.nan) for c in cases])
    active = np.array([[j < c[1].shape[1] for j in range(width)] for c in cases])
    res = fit_slopes(fit, y, x, active, np.array([c[2] for c in cases]))
    for i, (yy, cols, lags, label) in enumerate(cases):
        ref = _reference(yy, cols, lags)
        assert res.n[i] == yy.size and res.k[i] == cols.shape[1] + 1, label
        if ref is None:
            assert not res.full_rank[i], label
            assert np.isnan(res.b[i]), label
            continue
        assert res.full_rank[i], label
        b, var_ols, var_hac = ref
        if label == "perfect fit":  # both are rounding noise: only "about zero" is shared
            assert res.b[i] == pytest.approx(b, rel=1e-9), label
            assert max(res.var_ols[i], res.var_hac[i]) < 1e-24, label
            continue
        # ill-conditioned designs (cond ~1e7–1e10): both solutions carry rounding of that order
        rel = 1e-6 if label in ("nearly collinear", "tiny-scale driver") else 1e-9
        assert res.b[i] == pytest.approx(b, rel=rel), label
        assert res.var_ols[i] == pytest.approx(var_ols, rel=rel), label
        if label == "nearly collinear":
            # statsmodels' lag sums lose most digits here (it is several-fold off); the
            # exact rational value decides, and the SVD route matches it
            var_hac = _exact_hac(yy, cols, lags)
        assert res.var_hac[i] == pytest.approx(var_hac, rel=rel), label


def test_bartlett_sum_without_small_sample_correction() -> None:
    # The HAC variance is statsmodels' default for OLS.fit(cov_type="HAC"): no n/(n − k).
    rng = np.random.default_rng(3)
    n = 30
    x = np.column_stack([rng.normal(size=n), np.arange(n) / 7.0])
    y = rng.normal(size=n)
    res = fit_slopes(np.zeros(n, int), y, x, np.ones((1, 2), bool), np.array([8]))
    design = np.column_stack([np.ones(n), x])
    hac = sm.OLS(y, design).fit(cov_type="HAC", cov_kwds={"maxlags": 8})
    corrected = sm.OLS(y, design).fit(cov_type="HAC", cov_kwds={"maxlags": 8, "use_correction": True})
    assert res.var_hac[0] == pytest.approx(hac.bse[1] ** 2, rel=1e-10)
    assert res.var_hac[0] != pytest.approx(corrected.bse[1] ** 2, rel=1e-3)


def test_fit_slopes_shared_equals_statsmodels_on_masked_rows() -> None:
    # 3 blocks × 4 drivers sharing trend and prior; missing days differ per driver.
    rng = np.random.default_rng(5)
    blocks, days, drivers = 3, 90, 4
    t = np.broadcast_to(np.arange(days) / 7.0, (blocks, days))
    prior = 4.0 + rng.normal(size=(blocks, days))
    y = 5.0 + 0.1 * t + 0.2 * prior + rng.normal(size=(blocks, days))
    x = rng.normal(size=(blocks, drivers, days)) * np.array([1.0, 1000.0, 0.01, 1.0])[:, None]
    x[:, 0] = (x[:, 0] > 0.8).astype(float)  # a binary driver
    x[2, 3] = t[2] * 7.0  # collinear with the trend
    mask = rng.random((blocks, drivers, days)) > 0.15
    mask[1, 2] = False
    mask[1, 2, :8] = True  # few rows: not wanted
    n = mask.sum(axis=2)
    lags = np.maximum(1, np.minimum(n - 1, np.ceil(1.3 * np.sqrt(n)).astype(int)))
    use = n - 4 >= 2
    use[1, 2] = False
    shared = np.stack([t, prior], axis=2)
    res = fit_slopes_shared(y, x, shared, mask, lags, use)
    for b in range(blocks):
        for d in range(drivers):
            i = b * drivers + d
            if not use[b, d]:
                assert np.isnan(res.b[i])
                continue
            rows = mask[b, d]
            ref = _reference(y[b, rows], np.column_stack([x[b, d, rows], shared[b, rows]]), int(lags[b, d]))
            if ref is None:
                assert not res.full_rank[i], (b, d)
                continue
            assert res.full_rank[i] and res.n[i] == rows.sum(), (b, d)
            assert res.b[i] == pytest.approx(ref[0], rel=1e-9), (b, d)
            assert res.var_ols[i] == pytest.approx(ref[1], rel=1e-9), (b, d)
            assert res.var_hac[i] == pytest.approx(ref[2], rel=1e-9), (b, d)
    assert not res.full_rank[2 * drivers + 3]  # the collinear one was recognised

"""Many small OLS fits at once: one slope with its conventional and Newey–West HAC variance.

:func:`toolkit.analysis.relations.relations` fits about 47 regressions per patient (a
10,000-patient cohort: ~470,000 fits of 20–365 rows and 4–11 columns). statsmodels fits
one model per call (about 1 ms each with HAC standard errors); no library batches
hundreds of thousands of small regressions with their HAC variances, so this module does
it by hand in numpy and reproduces exactly what

    ``sm.OLS(y, X).fit(cov_type="HAC", cov_kwds={"maxlags": S})``

reports for one coefficient (``tests/analysis/test_batched_ols.py`` checks it against
statsmodels on ordinary and degenerate designs):

* the OLS estimate ``b = (X'X)⁻¹X'y`` and the conventional variance
  ``s²·[(X'X)⁻¹]_jj`` with ``s² = Σu²/(n − k)``;
* the Newey–West (1987, Econometrica 55:703) HAC variance ``[(X'X)⁻¹ Ŝ (X'X)⁻¹]_jj``
  with the Bartlett kernel ``Ŝ = Σ_{|l|≤S} (1 − |l|/(S + 1)) Σ_t h_t h_{t−l}'``,
  ``h_t = x_t u_t`` — statsmodels ``sandwich_covariance.cov_hac`` (``S_hac_simple``),
  which ``OLS.fit(cov_type="HAC")`` calls *without* the ``n/(n − k)`` small-sample
  correction (its ``use_correction`` defaults to False);
* the rank decision of ``np.linalg.matrix_rank(X)`` (singular values below
  ``σ_max·max(n, k)·eps`` count as zero).

How. Rows of all fits are stacked (sorted by fit, then time). Per fit the non-intercept
columns are centred (this drops the intercept and conditions the normal equations well),
``X_c'X_c`` and ``X_c'y`` come from one batched matrix product of the rows padded to
``(fits, rows, m + 1)`` and the small systems are
inverted as one stacked ``(fits, m, m)`` array. Only row ``j`` of the sandwich is needed,
so the scores collapse to one number per row, ``z_t = u_t · [(X'X)⁻¹x_t]_j``, and the
Bartlett sum ``Σ_{|l|≤S} (1 − |l|/(S + 1)) Σ_t z_t z_{t−l}`` equals
``Σ_w (Σ_{t∈w} z_t)² / (S + 1)`` over every window ``w`` of ``S + 1`` consecutive
rows (partial windows at both ends included): one cumulative sum per fit instead of a
loop over lags. Designs whose column-scaled ``X'X`` is badly conditioned (minimum
eigenvalue below ``1e-6``, or column norms spanning more than six orders of magnitude)
take the exact route instead: an SVD of the padded design, as ``matrix_rank`` and
statsmodels' ``pinv`` do, so collinear designs are recognised exactly as before.

:func:`fit_slopes` takes one row per observation and any design; :func:`fit_slopes_shared`
takes blocks of fits that differ only in the tested column and its missing rows (one
patient × lag: every driver against the same pain, trend and prior pain) on a day grid,
gets all their moments from one matrix product per block and never copies a row per fit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["SlopeFits", "fit_slopes", "fit_slopes_shared"]

_COND_LIMIT = 1e-6
_SCALE_LIMIT = 1e-6


@dataclass(frozen=True)
class SlopeFits:
    """Per fit (arrays of length ``n_fits``): ``b`` the slope of the tested column,
    ``var_ols`` its conventional and ``var_hac`` its Newey–West variance, ``n`` the rows,
    ``k`` the parameters (intercept included) and ``full_rank`` (False: collinear
    design, the other values are NaN)."""

    b: np.ndarray
    var_ols: np.ndarray
    var_hac: np.ndarray
    n: np.ndarray
    k: np.ndarray
    full_rank: np.ndarray


def fit_slopes(
    fit: np.ndarray,
    y: np.ndarray,
    x: np.ndarray,
    active: np.ndarray,
    maxlags: np.ndarray,
) -> SlopeFits:
    """OLS of ``y`` on an intercept and the active columns of ``x``, per fit.

    Parameters
    ----------
    fit
        ``(N,)`` int: the fit of every row, ``0 … n_fits − 1``, non-decreasing (rows of a
        fit are contiguous and in time order; lags count rows).
    y
        ``(N,)`` float outcome.
    x
        ``(N, m)`` float regressors without the intercept; column 0 is the one tested.
    active
        ``(n_fits, m)`` bool: the columns in each fit's design (column 0 must be active).
        Inactive columns are ignored.
    maxlags
        ``(n_fits,)`` int: Newey–West truncation lag ``S`` of each fit (0 ≤ S < n).

    Returns
    -------
    SlopeFits
        Fits need ``n − k ≥ 1``; the caller excludes smaller ones.
    """
    fit = np.asarray(fit, dtype=np.intp)
    y = np.asarray(y, dtype=float)
    x = np.asarray(x, dtype=float)
    active = np.asarray(active, dtype=bool)
    maxlags = np.asarray(maxlags, dtype=np.intp)
    g, m = active.shape
    n = np.bincount(fit, minlength=g)
    k = 1 + active.sum(axis=1)
    x = np.where(active[fit], x, 0.0)

    # ---- centred normal equations, from the rows padded to (fits, rows, columns) ---------
    starts = np.concatenate([[0], np.cumsum(n)[:-1]])
    pos = np.arange(fit.size) - starts[fit]
    pad = np.zeros((g, int(n.max()), m + 1))
    pad[fit, pos, :m] = x
    pad[fit, pos, m] = y
    means_xy = pad.sum(axis=1) / n[:, None]
    means = means_xy[:, :m]
    xc = x - means[fit]
    yc = y - means_xy[fit, m]
    pad[fit, pos, :m] = xc
    pad[fit, pos, m] = yc
    moments = np.matmul(pad.transpose(0, 2, 1), pad)
    gram = np.ascontiguousarray(moments[:, :m, :m])
    xty = np.ascontiguousarray(moments[:, :m, m])
    exact, coef, inv = _solve(n.astype(float), means, gram, xty, active)
    u = yc - np.einsum("nc,nc->n", xc, coef[fit])
    w = np.einsum("nc,nc->n", xc, inv[fit, :, 0])
    b = coef[:, 0]
    a_jj = inv[:, 0, 0]
    full = np.ones(g, bool)

    # ---- badly conditioned fits: the exact route (SVD, as matrix_rank and pinv) ----------
    if exact.any():
        b, a_jj, full, u, w = _exact(fit, y, x, active, n, exact, b, a_jj, full, u, w)

    rss = np.bincount(fit, u * u, g)
    var_ols = rss / (n - k) * a_jj
    var_hac = _bartlett(fit, pos, u * w, n, maxlags)
    nan = ~full
    return SlopeFits(
        b=np.where(nan, np.nan, b),
        var_ols=np.where(nan, np.nan, var_ols),
        var_hac=np.where(nan, np.nan, var_hac),
        n=n,
        k=k,
        full_rank=full,
    )


def _solve(
    n: np.ndarray, means: np.ndarray, gram: np.ndarray, xty: np.ndarray, active: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Centred normal equations of many fits: ``(exact, coef, inv)``.

    ``n`` rows, raw column ``means`` ``(fits, m)``, centred ``gram`` ``(fits, m, m)`` and
    ``xty`` ``(fits, m)``. ``exact`` marks fits whose column-scaled raw ``[1, x]'[1, x]``
    is badly conditioned (their ``coef`` and ``inv`` are placeholders); ``coef`` are the
    slopes, ``inv`` the inverse of the centred Gram matrix (zero on inactive columns).
    """
    g, m = active.shape
    raw = np.empty((g, m + 1, m + 1))
    raw[:, 0, 0] = n
    raw[:, 0, 1:] = raw[:, 1:, 0] = n[:, None] * means
    raw[:, 1:, 1:] = gram + n[:, None, None] * means[:, :, None] * means[:, None, :]
    on = np.column_stack([np.ones(g, bool), active])
    diag = np.diagonal(raw, axis1=1, axis2=2)
    bad = (on & ~(diag > 0)).any(axis=1)  # an active column of zeros (or NaN)
    norms = np.sqrt(np.where(on & (diag > 0), diag, 1.0))
    scaled = raw / norms[:, :, None] / norms[:, None, :]
    keep = on[:, :, None] & on[:, None, :] & ~bad[:, None, None]
    scaled = np.where(keep, scaled, np.eye(m + 1))
    smallest = np.linalg.eigvalsh(scaled)[:, 0]
    spread = np.where(on, norms, np.inf).min(axis=1) / np.where(on, norms, 0.0).max(axis=1)
    exact = bad | ~((smallest >= _COND_LIMIT) & (spread >= _SCALE_LIMIT))

    d = np.sqrt(np.diagonal(gram, axis1=1, axis2=2))
    d = np.where(active & ~exact[:, None] & (d > 0), d, 1.0)
    sg = gram / d[:, :, None] / d[:, None, :]
    sg = np.where(active[:, :, None] & active[:, None, :] & ~exact[:, None, None], sg, np.eye(m))
    inv = np.linalg.inv(sg) / d[:, :, None] / d[:, None, :]
    inv = np.where(active[:, :, None] & active[:, None, :], inv, 0.0)
    coef = np.einsum("gab,gb->ga", inv, xty)
    return exact, coef, inv


def fit_slopes_shared(
    y: np.ndarray, x: np.ndarray, shared: np.ndarray, mask: np.ndarray, maxlags: np.ndarray, use: np.ndarray
) -> SlopeFits:
    """Blocks of fits that share every column but the tested one.

    Fit ``(b, d)`` regresses ``y[b, t]`` on an intercept, ``x[b, d, t]`` (tested) and
    ``shared[b, t, :]`` over the rows ``t`` with ``mask[b, d, t]`` (in time order; lags
    count rows). The moments of all ``D`` fits of a block come from one matrix product
    with the mask, and the residuals are formed on the ``(blocks, D, T)`` grid, so no
    row is copied per fit.

    Parameters
    ----------
    y
        ``(B, T)`` outcome (any finite value where no fit uses the row).
    x
        ``(B, D, T)`` tested column of each fit (any finite value where masked out).
    shared
        ``(B, T, q)`` other columns (any finite value where no fit uses the row).
    mask
        ``(B, D, T)`` bool: rows of each fit.
    maxlags
        ``(B, D)`` int: Newey–West truncation lag of each fit (≥ 1).
    use
        ``(B, D)`` bool: the fits wanted; each needs ``n − (q + 2) ≥ 1`` rows. The others
        are NaN.

    Returns
    -------
    SlopeFits
        Arrays of shape ``(B·D,)`` in ``(b, d)`` order.
    """
    mask = mask & use[:, :, None]
    nb, nd, nt = x.shape
    q = shared.shape[2]
    m = q + 1
    g = nb * nd
    mf = mask.astype(float)
    base = mask.any(axis=1)
    # shift every column by a block (x: a fit) mean so the moments below lose no digits
    rows_b = np.maximum(base.sum(axis=1), 1)[:, None]
    y_shift = np.where(base, y, 0.0).sum(axis=1) / rows_b[:, 0]
    s_shift = np.einsum("bt,btc->bc", base.astype(float), shared) / rows_b
    n = mf.sum(axis=2)  # (B, D)
    xv = x * mf
    x_shift = xv.sum(axis=2) / np.maximum(n, 1.0)
    tmp = np.multiply(mf, x_shift[:, :, None])
    xv -= tmp
    ones = base.astype(float)
    z = np.empty((nb, nt, q + 2))  # 1, shared, y (shifted; zero on rows no fit uses)
    z[:, :, 0] = ones
    np.multiply(shared - s_shift[:, None, :], ones[:, :, None], out=z[:, :, 1 : q + 1])
    np.multiply(y - y_shift[:, None], ones, out=z[:, :, q + 1])
    sv = z[:, :, 1 : q + 1]
    yv = z[:, :, q + 1]
    pairs = [(a, c) for a in range(q + 2) for c in range(a, q + 2)]
    mzz = np.matmul(mf, np.einsum("bta,btc->btac", z, z).reshape(nb, nt, (q + 2) ** 2))  # (B, D, all pairs)
    mzz = mzz[:, :, [a * (q + 2) + c for a, c in pairs]]
    mxz = np.matmul(xv, z)  # (B, D, q + 2)
    mxx = np.einsum("bdt,bdt->bd", xv, xv)

    # moments over [1, x, shared, y] per fit
    cols = q + 3
    mom = np.empty((nb, nd, cols, cols))
    zi = [0, *range(2, q + 3)]  # positions of 1, shared, y among the moment columns
    for (a, c), v in zip(pairs, np.moveaxis(mzz, 2, 0), strict=True):
        mom[:, :, zi[a], zi[c]] = mom[:, :, zi[c], zi[a]] = v
    for a in range(q + 2):
        mom[:, :, 1, zi[a]] = mom[:, :, zi[a], 1] = mxz[:, :, a]
    mom[:, :, 1, 1] = mxx
    mom = mom.reshape(g, cols, cols)
    nn = mom[:, 0, 0]
    mean = mom[:, 0, 1:] / np.maximum(nn, 1.0)[:, None]  # x, shared, y (shifted)
    cen = mom[:, 1:, 1:] - nn[:, None, None] * mean[:, :, None] * mean[:, None, :]
    gram, xty = cen[:, :m, :m], cen[:, :m, m]
    raw_means = mean[:, :m] + np.concatenate([x_shift.reshape(g, 1), np.repeat(s_shift, nd, axis=0)], axis=1)
    active = np.ones((g, m), bool)
    with np.errstate(divide="ignore", invalid="ignore"):
        exact, coef, inv = _solve(nn, raw_means, gram, xty, active)
    wanted = use.reshape(g)
    exact &= wanted

    # residuals u and influence weights w of the tested slope, on the grid:
    # u = y − c0 − b_x·x − Σ b_s·s,  w = a0 + a_x·x + Σ a_s·s  (a = row x of the inverse)
    coef4, inv4, mean4 = (v.reshape(nb, nd, -1) for v in (coef, inv[:, 0, :], mean))
    c0 = mean4[:, :, m] - np.einsum("bdc,bdc->bd", coef4, mean4[:, :, :m])
    a0 = -np.einsum("bdc,bdc->bd", inv4, mean4[:, :, :m])
    lin = np.concatenate(
        [
            np.stack([c0, a0], axis=2)[:, :, :, None],
            np.stack([coef4[:, :, 1:], inv4[:, :, 1:]], axis=2),
        ],
        axis=3,
    )  # (B, D, 2, 1 + q): the constant and shared-column terms of u and w
    sides = np.matmul(
        lin.reshape(nb, nd * 2, 1 + q), np.concatenate([ones[:, None, :], sv.transpose(0, 2, 1)], axis=1)
    )
    sides = sides.reshape(nb, nd, 2, nt)
    u = np.subtract(yv[:, None, :], sides[:, :, 0], out=tmp)
    u -= coef4[:, :, 0, None] * xv
    u *= mf
    w = np.multiply(inv4[:, :, 0, None], xv, out=xv)
    w += sides[:, :, 1]
    rss = np.einsum("bdt,bdt->bd", u, u).reshape(g)
    u *= w
    var_hac = _bartlett_grid(u.reshape(g, nt), mask.reshape(g, nt), maxlags.reshape(g))
    k = np.full(g, m + 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        var_ols = rss / (nn - k) * inv[:, 0, 0]
    b = coef[:, 0]
    full = np.ones(g, bool)
    if exact.any():
        # redo them one row per observation, where fit_slopes takes its exact route
        sel = np.flatnonzero(exact)
        fi, ti = np.nonzero(mask.reshape(g, nt)[sel])
        bi, di = np.divmod(sel[fi], nd)
        cols_x = np.column_stack([x[bi, di, ti], shared[bi, ti]])
        redo = fit_slopes(fi, y[bi, ti], cols_x, np.ones((sel.size, m), bool), maxlags.reshape(g)[sel])
        b, var_ols, var_hac, full = b.copy(), var_ols.copy(), var_hac.copy(), full.copy()
        b[sel], var_ols[sel], var_hac[sel], full[sel] = redo.b, redo.var_ols, redo.var_hac, redo.full_rank
    nan = ~(full & wanted)
    return SlopeFits(
        b=np.where(nan, np.nan, b),
        var_ols=np.where(nan, np.nan, var_ols),
        var_hac=np.where(nan, np.nan, var_hac),
        n=nn.astype(np.int64),
        k=k,
        full_rank=full,
    )


def _bartlett(
    fit: np.ndarray, pos: np.ndarray, z: np.ndarray, n: np.ndarray, maxlags: np.ndarray
) -> np.ndarray:
    """``Σ_{|l|≤S} (1 − |l|/(S + 1)) Σ_t z_t z_{t−l}`` per fit (``z`` at row ``pos`` of
    fit ``fit``), as the sum of squared moving sums of ``S + 1`` rows (windows overhanging
    either end included) divided by ``S + 1``. Fits are laid out by lag so that each lag
    is one slice of the cumulative sums."""
    g = n.size
    lead = int(maxlags.max()) + 1
    width = lead + int(n.max()) + lead
    order = np.argsort(maxlags, kind="stable")
    row = np.empty(g, np.intp)
    row[order] = np.arange(g)
    padded = np.zeros((g, width))
    padded.reshape(-1)[row[fit] * width + lead + pos] = z
    return _window_sums(np.cumsum(padded, axis=1), maxlags, order, lead)


def _bartlett_grid(z: np.ndarray, mask: np.ndarray, maxlags: np.ndarray) -> np.ndarray:
    """:func:`_bartlett` of fits laid out on a grid: ``z[g, t]`` over the rows ``t`` with
    ``mask[g, t]`` (in order; zero elsewhere). The rows of each fit are packed by their
    rank along ``t`` (one scatter, no per-row index arrays)."""
    g = z.shape[0]
    n = mask.sum(axis=1)
    lead = int(maxlags.max()) + 1
    width = lead + int(n.max()) + lead
    order = np.argsort(maxlags, kind="stable")
    row = np.empty(g, np.intp)
    row[order] = np.arange(g)
    rank = np.cumsum(mask, axis=1, dtype=np.intp)
    rank += (row * width + lead - 1)[:, None]
    dest = np.where(mask, rank, g * width)  # rows no fit uses go to one spare cell
    flat = np.zeros(g * width + 1)
    flat[dest.reshape(-1)] = z.reshape(-1)
    return _window_sums(np.cumsum(flat[:-1].reshape(g, width), axis=1), maxlags, order, lead)


def _window_sums(csum: np.ndarray, maxlags: np.ndarray, order: np.ndarray, lead: int) -> np.ndarray:
    """Σ of squared moving sums of ``S + 1`` rows, divided by ``S + 1``, per fit, from the
    row-wise cumulative sums ``csum`` of fits laid out by lag (row ``i`` holds fit
    ``order[i]``, its values starting at column ``lead``): one slice per distinct lag."""
    g, width = csum.shape
    out = np.empty(g)
    lags_sorted = maxlags[order]
    edges = np.flatnonzero(np.diff(lags_sorted)) + 1
    for lo, hi in zip(np.r_[0, edges], np.r_[edges, g], strict=True):
        s = int(lags_sorted[lo]) + 1
        win = csum[lo:hi, lead:] - csum[lo:hi, lead - s : width - s]
        out[order[lo:hi]] = np.einsum("gw,gw->g", win, win) / s
    return out


def _exact(
    fit: np.ndarray,
    y: np.ndarray,
    x: np.ndarray,
    active: np.ndarray,
    n: np.ndarray,
    exact: np.ndarray,
    b: np.ndarray,
    a_jj: np.ndarray,
    full: np.ndarray,
    u: np.ndarray,
    w: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Redo the ``exact`` fits by an SVD of the raw design ``[1, active columns]``, padded
    with zero rows (which change no singular value), one stack per column count."""
    b, a_jj, full, u, w = b.copy(), a_jj.copy(), full.copy(), u.copy(), w.copy()
    eps = np.finfo(float).eps
    starts = np.concatenate([[0], np.cumsum(n)[:-1]])
    rows_of = np.flatnonzero(exact[fit])
    counts = active.sum(axis=1)
    for kk in np.unique(counts[exact]):
        fits = np.flatnonzero(exact & (counts == kk))
        sel = rows_of[np.isin(fit[rows_of], fits)]
        local = np.searchsorted(fits, fit[sel])
        pos = sel - starts[fit[sel]]
        # active columns first, in order (column 0, the tested one, stays first)
        order = np.argsort(~active[fits], axis=1, kind="stable")[:, :kk]
        design = np.zeros((fits.size, int(n[fits].max()), kk + 1))
        design[local, pos, 0] = 1.0
        design[local, pos, 1:] = np.take_along_axis(x[sel], order[local], axis=1)
        yy = np.zeros((fits.size, design.shape[1]))
        yy[local, pos] = y[sel]
        uu, s, vt = np.linalg.svd(design, full_matrices=False)
        tol = s.max(axis=1) * np.maximum(n[fits], kk + 1) * eps
        ok = (s > tol[:, None]).all(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            row = vt[:, :, 1] / s  # row 1 (the tested column) of V·diag(1/s)
            pinv_row = np.einsum("gi,gti->gt", row, uu)  # row 1 of pinv(X), per time
            fitted = np.einsum("gti,gi->gt", uu, np.einsum("gti,gt->gi", uu, yy))
            b[fits] = np.einsum("gt,gt->g", pinv_row, yy)
            a_jj[fits] = (row * row).sum(axis=1)
        full[fits] = ok
        u[sel] = (yy - fitted)[local, pos]
        w[sel] = pinv_row[local, pos]
    u = np.where(full[fit], u, 0.0)
    w = np.where(full[fit], w, 0.0)
    return b, a_jj, full, u, w

"""Synthetic data sets: a clinic cohort of real-format exports with planted effects.

:func:`synthetic_cohort` writes Strong (V1, V3), Hevy and pain-diary CSVs whose
ground truth (groups, doses, planted load spikes, flares, no-rest blocks, too-fast
progression) is returned beside them; :func:`demo_cohort` is the default cohort.
``synthetic_cohort(dose_variation=True)`` varies each patient's weekly dose (deload,
holiday and catch-up weeks) so the planted within-patient dose–response can be
estimated; :meth:`Cohort.tables` gives the canonical tables through the real readers
without a store.
"""

from toolkit.datasets._cohort import Cohort, demo_cohort, synthetic_cohort

__all__ = ["Cohort", "demo_cohort", "synthetic_cohort"]

"""Loaders for the small real datasets shipped in skmoe/datasets/data."""

# SPDX-License-Identifier: BSD-3-Clause

from importlib import resources

import numpy as np
import pandas as pd
from sklearn.utils import Bunch

__all__ = ["load_motorcycle", "load_tone"]

_DATA_FOLDER = resources.files("skmoe.datasets").joinpath("data")


def _read_csv_resource(file_name):
    """Read a shipped CSV file into its column names and a float64 array.

    The file is opened through importlib.resources, so this also works when
    skmoe is installed from a wheel or a zip archive.
    """
    with _DATA_FOLDER.joinpath(file_name).open("r", encoding="utf-8") as stream:
        header = stream.readline()
        values = np.loadtxt(stream, delimiter=",", dtype=np.float64, ndmin=2)
    column_names = [name.strip().strip('"') for name in header.split(",")]
    return column_names, values


def _read_text_resource(file_name):
    return _DATA_FOLDER.joinpath(file_name).read_text(encoding="utf-8")


def _load_regression_csv(csv_name, descr_name, *, return_X_y, as_frame):
    """Load a CSV whose last column is the target, in the layout of sklearn loaders."""
    column_names, values = _read_csv_resource(csv_name)
    feature_names = column_names[:-1]
    target_names = column_names[-1:]
    data = values[:, :-1]
    target = values[:, -1]

    frame = None
    if as_frame:
        frame = pd.DataFrame(values, columns=column_names)
        data = frame[feature_names]
        target = frame[target_names[0]]

    if return_X_y:
        return data, target

    return Bunch(
        data=data,
        target=target,
        frame=frame,
        feature_names=feature_names,
        target_names=target_names,
        DESCR=_read_text_resource(descr_name),
    )


def load_motorcycle(*, return_X_y=False, as_frame=False):
    """Load the motorcycle crash dataset (regression).

    Head acceleration of a test dummy against time after impact in a
    simulated motorcycle crash (Silverman, 1985), the data set ``mcycle`` of
    the R package MASS. The curve is flat, then dips steeply and oscillates,
    and the noise grows strongly with time, so one smooth regression fits it
    poorly and a mixture of local experts fits it well.

    =================   ==============================
    Samples total       133
    Dimensionality      1 (``times``, in ms)
    Features            real, 2.4 - 57.6
    Target              real (``accel``, in g), -134.0 - 75.0
    =================   ==============================

    Parameters
    ----------
    return_X_y : bool, default=False
        If True, return ``(data, target)`` instead of a Bunch object.

    as_frame : bool, default=False
        If True, `data` is a pandas DataFrame with the column ``times``,
        `target` is a pandas Series named ``accel``, and the Bunch's `frame`
        is a DataFrame with both columns. If `return_X_y` is also True,
        ``(data, target)`` are these pandas objects.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with the following attributes.

        data : {ndarray, DataFrame} of shape (133, 1)
            The times after impact, in milliseconds.
        target : {ndarray, Series} of shape (133,)
            The head acceleration, in g.
        feature_names : list of str
            ``['times']``.
        target_names : list of str
            ``['accel']``.
        frame : DataFrame of shape (133, 2) or None
            `data` and `target` together when `as_frame=True`, else None.
        DESCR : str
            Description of the dataset, with its source and references.

    (data, target) : tuple if ``return_X_y`` is True
        The ndarrays (or, with `as_frame=True`, the DataFrame and the
        Series) described above.

    See Also
    --------
    load_tone : A textbook mixture of two linear regressions.

    References
    ----------
    .. [1] B. W. Silverman, "Some aspects of the spline smoothing approach to
       non-parametric curve fitting", Journal of the Royal Statistical
       Society, Series B, 47, 1-52, 1985.

    Examples
    --------
    >>> from skmoe.datasets import load_motorcycle
    >>> motorcycle = load_motorcycle()
    >>> motorcycle.data.shape
    (133, 1)
    >>> motorcycle.target[:4]
    array([ 0. , -1.3, -2.7,  0. ])
    >>> motorcycle.feature_names
    ['times']
    >>> X, y = load_motorcycle(return_X_y=True, as_frame=True)
    >>> X.shape, y.name
    ((133, 1), 'accel')
    """
    return _load_regression_csv(
        "mcycle.csv", "mcycle.md", return_X_y=return_X_y, as_frame=as_frame
    )


def load_tone(*, return_X_y=False, as_frame=False):
    """Load the tone perception dataset (regression).

    Octaves tuned by one trained musician against the stretching ratio of the
    overtones of a fundamental tone (Cohen, 1980), the data set ``tonedata``
    of the R package mixtools. Most tuned tones lie near the flat line
    ``tuned = 2`` and the others near ``tuned = stretchratio``: the textbook
    mixture of two linear regressions.

    =================   ==============================
    Samples total       150
    Dimensionality      1 (``stretchratio``)
    Features            real, 1.35 - 3.0
    Target              real (``tuned``), 1.3 - 3.494
    =================   ==============================

    Parameters
    ----------
    return_X_y : bool, default=False
        If True, return ``(data, target)`` instead of a Bunch object.

    as_frame : bool, default=False
        If True, `data` is a pandas DataFrame with the column
        ``stretchratio``, `target` is a pandas Series named ``tuned``, and the
        Bunch's `frame` is a DataFrame with both columns. If `return_X_y` is
        also True, ``(data, target)`` are these pandas objects.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with the following attributes.

        data : {ndarray, DataFrame} of shape (150, 1)
            The stretching ratios.
        target : {ndarray, Series} of shape (150,)
            The ratios of the tuned tone to the fundamental.
        feature_names : list of str
            ``['stretchratio']``.
        target_names : list of str
            ``['tuned']``.
        frame : DataFrame of shape (150, 2) or None
            `data` and `target` together when `as_frame=True`, else None.
        DESCR : str
            Description of the dataset, with its source and references.

    (data, target) : tuple if ``return_X_y`` is True
        The ndarrays (or, with `as_frame=True`, the DataFrame and the
        Series) described above.

    See Also
    --------
    load_motorcycle : A curve with changing shape and noise level.

    References
    ----------
    .. [1] E. A. Cohen, "Inharmonic tone perception", Ph.D. dissertation,
       Stanford University, 1980.

    .. [2] R. D. de Veaux, "Mixtures of linear regressions", Computational
       Statistics and Data Analysis, 8, 227-245, 1989.

    Examples
    --------
    >>> from skmoe.datasets import load_tone
    >>> tone = load_tone()
    >>> tone.data.shape
    (150, 1)
    >>> tone.data[0], tone.target[0]
    (array([1.35]), np.float64(1.461))
    >>> X, y = load_tone(return_X_y=True)
    >>> X.shape, y.shape
    ((150, 1), (150,))
    """
    return _load_regression_csv(
        "tonedata.csv", "tonedata.md", return_X_y=return_X_y, as_frame=as_frame
    )

"""EM driver shared by the mixture-of-experts regressor and classifier."""

# SPDX-License-Identifier: BSD-3-Clause

import copy
import math
import warnings
from abc import ABCMeta, abstractmethod
from numbers import Integral, Real
from time import time

import numpy as np
from sklearn.base import BaseEstimator, clone, is_classifier
from sklearn.cluster import KMeans
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state, gen_batches
from sklearn.utils.parallel import Parallel, delayed
from sklearn.utils.validation import check_is_fitted

from skmoe._experts import (
    count_parameters,
    fit_expert,
    make_expert_templates,
    set_expert_random_states,
    weight_support,
)
from skmoe._kernels import (
    e_step,
    expert_choice_weights,
    top_k_log_softmax,
)
from skmoe._threads import single_thread_below
from skmoe._validation import (
    HasMethods,
    Interval,
    StrOptions,
    _check_sample_weight,
    _fit_context,
    get_chunk_n_rows,
    validate_data,
)
from skmoe.gating import BaseGate, ClusterGate, GaussianGate, SoftmaxGate

__all__ = ["_BaseMixtureOfExperts"]

_GATES = {"softmax": SoftmaxGate, "kmeans": ClusterGate, "gmm": GaussianGate}

# An expert whose responsibility mass falls below this fraction of the mean
# mass per expert has collapsed and is re-seeded, at most _MAX_RESEEDS times
# per initialisation.
_COLLAPSE_FRACTION = 1e-3
_MAX_RESEEDS = 3

# Rows per block of the E-step's temporaries (log densities, a block of
# responsibilities): a few MiB, yet enough rows for the kernels' threads.
_E_STEP_ROWS = 2**16


### Input checks whose messages name the fix


def _describe_non_finite(values):
    """Return "NaN", "infinity" or "NaN and infinity" for the values present."""
    kinds = [name for name, present in (("NaN", np.isnan(values).any()),
                                        ("infinity", np.isinf(values).any()))
             if present]
    return " and ".join(kinds)


def _check_finite_X(X, estimator_name):
    """Raise a ValueError naming the first row of float X with NaN or infinity."""
    bad_rows = np.flatnonzero(~np.isfinite(X).all(axis=1))
    if bad_rows.size:
        raise ValueError(
            f"Input X contains {_describe_non_finite(X[bad_rows])} in "
            f"{bad_rows.size} row(s), the first at row {bad_rows[0]}. "
            f"{estimator_name} does not accept missing or infinite values. Drop "
            "those rows, or impute them, for example with "
            "sklearn.impute.SimpleImputer in a Pipeline."
        )


def _check_fit_target(X, y, estimator):
    """Raise a ValueError naming the fix when y is not one finite value per row.

    Only arrays, Series and DataFrames are checked here; other input is left
    to scikit-learn's validation.
    """
    if not (hasattr(X, "shape") and hasattr(y, "shape")):
        return
    if len(y.shape) == 2 and y.shape[1] != 1:
        wrapper = (
            "MultiOutputClassifier" if is_classifier(estimator)
            else "MultiOutputRegressor"
        )
        raise ValueError(
            f"y must be 1-D with one target value per row, got shape {y.shape}. "
            "Pass a single target column, or wrap the estimator in "
            f"sklearn.multioutput.{wrapper} to fit one mixture per column."
        )
    if len(X.shape) >= 1 and len(y.shape) >= 1 and X.shape[0] != y.shape[0]:
        raise ValueError(
            f"X has {X.shape[0]} rows but y has {y.shape[0]} values. Pass one "
            "target value per row of X."
        )
    values = np.asarray(y)
    if values.dtype.kind in "fc" and values.ndim >= 1:
        finite = np.isfinite(values)
        if finite.ndim == 2:
            finite = finite.all(axis=1)
        bad_rows = np.flatnonzero(~finite)
        if bad_rows.size:
            raise ValueError(
                f"Input y contains {_describe_non_finite(values)} in "
                f"{bad_rows.size} row(s), the first at row {bad_rows[0]}. Drop "
                "those rows from X and y before fit."
            )


### Initialisation


def _initial_resp_kmeans(Z, sample_weight, n_experts, random_state):
    """Return hard responsibilities from k-means on the standardised columns Z.

    Z is a private copy and is standardised in place, so that the start needs
    no memory beyond Z itself.
    """
    total_weight = sample_weight.sum()
    Z -= (sample_weight @ Z) / total_weight
    std = np.sqrt(np.einsum("ij,ij,i->j", Z, Z, sample_weight) / total_weight)
    std[std <= 0] = 1.0
    Z /= std

    kmeans = KMeans(
        n_clusters=n_experts,
        n_init=1,
        copy_x=False,
        random_state=random_state.randint(np.iinfo(np.int32).max),
    )
    # Duplicate rows may give fewer distinct clusters than experts. The EM
    # loop re-seeds the resulting empty experts and warns then.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        labels = kmeans.fit(Z, sample_weight=sample_weight).labels_

    resp = np.zeros((Z.shape[0], n_experts))
    resp[np.arange(Z.shape[0]), labels] = 1.0
    return resp


def _initial_resp_random(n_samples, n_experts, random_state):
    """Return responsibilities drawn from a flat Dirichlet distribution."""
    return random_state.dirichlet(np.ones(n_experts), size=n_samples)


### Routing of the responsibilities in sparse EM


def _route_resp(resp, top_k, routing):
    """Return the responsibilities used by the M-step under top-k routing."""
    if top_k is None or (top_k >= resp.shape[1] and routing == "token_choice"):
        return resp
    if routing == "expert_choice":
        capacity = min(math.ceil(top_k * resp.shape[0] / resp.shape[1]), resp.shape[0])
        return expert_choice_weights(np.ascontiguousarray(resp), capacity)
    with np.errstate(divide="ignore"):
        log_resp = np.log(resp)
    return np.exp(top_k_log_softmax(log_resp, top_k))


### Row blocks of bounded memory


def _row_batches(n_samples, row_bytes):
    """Return slices of rows whose temporaries fit in ``working_memory``.

    ``row_bytes`` is the temporary memory one row needs. The budget is
    scikit-learn's ``working_memory`` setting (1024 MiB unless changed with
    :func:`sklearn.set_config`), as for its chunked pairwise distances.
    """
    n_rows = get_chunk_n_rows(row_bytes, max_n_rows=n_samples)
    return gen_batches(n_samples, max(n_rows, 1))


### The fitted state of one initialisation


class _EMResult:
    """Experts, gate and diagnostics of one EM run.

    ``mass`` is the weight of each expert's region in the last M-step and
    ``order`` the order in which the fitted experts are stored. Neither keeps
    an (n_samples, n_experts) array, so holding the best of several
    initialisations costs no memory that grows with the rows.
    """

    def __init__(self, experts, gate, dispersion, mass, order, history,
                 converged, n_iter, constant_reasons):
        self.experts = experts
        self.gate = gate
        self.dispersion = dispersion
        self.mass = mass
        self.order = order
        self.history = history
        self.converged = converged
        self.n_iter = n_iter
        self.constant_reasons = constant_reasons

    @property
    def objective(self):
        return self.history[-1] if self.history else -np.inf


class _BaseMixtureOfExperts(BaseEstimator, metaclass=ABCMeta):
    """Base class for mixtures of experts fitted by EM.

    Subclasses provide the expert densities: how expert outputs are computed,
    how the dispersion (the regressor's noise variances) is refitted, and how
    targets are validated. Do not use this class directly.
    """

    _parameter_constraints: dict = {
        "n_experts": [Interval(Integral, 1, None, closed="left")],
        "expert": [None, HasMethods(["fit", "predict"]), list, tuple],
        "gate": [StrOptions(set(_GATES)), BaseGate],
        "top_k": [None, Interval(Integral, 1, None, closed="left")],
        "routing": [StrOptions({"token_choice", "expert_choice"})],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0.0, None, closed="left")],
        "n_init": [Interval(Integral, 1, None, closed="left")],
        "init": [StrOptions({"kmeans", "random"})],
        "random_state": ["random_state"],
        "n_jobs": [None, Integral],
        "verbose": ["verbose"],
        "verbose_interval": [Interval(Integral, 1, None, closed="left")],
        "warm_start": ["boolean"],
    }

    def __init__(
        self,
        n_experts=4,
        *,
        expert=None,
        gate="softmax",
        top_k=None,
        routing="token_choice",
        max_iter=100,
        tol=1e-4,
        n_init=1,
        init="kmeans",
        random_state=None,
        n_jobs=None,
        verbose=0,
        verbose_interval=10,
        warm_start=False,
    ):
        self.n_experts = n_experts
        self.expert = expert
        self.gate = gate
        self.top_k = top_k
        self.routing = routing
        self.max_iter = max_iter
        self.tol = tol
        self.n_init = n_init
        self.init = init
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.verbose = verbose
        self.verbose_interval = verbose_interval
        self.warm_start = warm_start

    ### Hooks filled by the regressor and the classifier

    @abstractmethod
    def _default_expert(self):
        """Return the expert used when ``expert`` is None."""

    @abstractmethod
    def _check_expert(self, estimator, index):
        """Raise a TypeError when ``estimator`` cannot serve as an expert."""

    @abstractmethod
    def _validate_fit_data(self, X, y):
        """Validate X and y for fit; return float64 X and the training target."""

    @abstractmethod
    def _validate_target(self, y, n_samples):
        """Validate y outside fit; return the training-form target."""

    @abstractmethod
    def _target_columns(self, y):
        """Return the target as columns for the k-means initialisation."""

    @abstractmethod
    def _expert_outputs(self, experts, X, row_masks=None):
        """Evaluate the experts; rows outside ``row_masks[:, k]`` are skipped."""

    @abstractmethod
    def _target_outputs(self, experts, X, y, row_masks=None):
        """Return what the expert densities need, of shape (n, K).

        The regressor's predictions; the classifier's probability of the
        true class, so that no (n, K, n_classes) array is built.
        """

    @abstractmethod
    def _fit_dispersion(self, outputs, y, sample_weight, train_resp, mass):
        """Refit the dispersion from the weights sample_weight * train_resp.

        ``mass`` is ``sample_weight @ train_resp``, each expert's total weight.
        """

    @abstractmethod
    def _log_density(self, outputs, y, dispersion):
        """Return log p_k(y_i | x_i) of shape (n, K) from ``_target_outputs``."""

    @abstractmethod
    def _expert_order(self, outputs, sample_weight, train_resp, mass):
        """Return the order in which the fitted experts are stored."""

    @abstractmethod
    def _set_dispersion(self, dispersion):
        """Store the dispersion as fitted attributes."""

    @abstractmethod
    def _get_dispersion(self):
        """Return the dispersion stored by ``_set_dispersion``."""

    @abstractmethod
    def _n_dispersion_parameters(self):
        """Return the number of dispersion parameters, for BIC and AIC."""

    ### Parameter checks done at fit time

    def _make_expert_templates(self, n_samples):
        if isinstance(self.expert, (list, tuple)):
            if len(self.expert) == 0:
                raise ValueError(
                    f"The 'expert' parameter of {type(self).__name__} is an empty "
                    "list. Pass one estimator, a non-empty list of estimators, or None."
                )
            for index, estimator in enumerate(self.expert):
                if not (hasattr(estimator, "fit") and hasattr(estimator, "predict")):
                    raise TypeError(
                        f"expert[{index}] of {type(self).__name__} must be an "
                        "estimator with fit and predict methods, got "
                        f"{estimator!r} of type {type(estimator).__name__}."
                    )
        templates = make_expert_templates(
            self.expert, self.n_experts, self._default_expert()
        )
        for index, estimator in enumerate(templates):
            self._check_expert(estimator, index)

        n_experts = len(templates)
        if n_experts > n_samples:
            raise ValueError(
                f"Expected n_samples >= n_experts, got n_samples={n_samples}, "
                f"n_experts={n_experts}. Use fewer experts or more rows."
            )
        if self.top_k is not None and self.top_k > n_experts:
            raise ValueError(
                f"top_k must be at most the number of experts, got top_k={self.top_k} "
                f"and n_experts={n_experts}. Use top_k <= n_experts, or None for "
                "dense routing."
            )
        return templates

    def _warn_routing_without_top_k(self):
        if self.routing != "token_choice" and self.top_k is None:
            warnings.warn(
                f"routing={self.routing!r} has no effect with top_k=None (dense "
                "routing): every expert is fitted on every row. Set top_k to "
                "route each expert a share of the rows.",
                UserWarning,
                stacklevel=4,
            )

    def _make_gate(self):
        if isinstance(self.gate, str):
            gate = _GATES[self.gate]()
        else:
            gate = clone(self.gate)
        gate._validate_params()
        return gate

    def _warn_unweighted_experts(self, templates, supports):
        names = sorted({repr(templates[k]) for k, support in enumerate(supports)
                        if support is None})
        for name in names:
            warnings.warn(
                f"The expert {name} does not accept sample_weight in fit, so "
                "each expert is trained on the rows it is most responsible for "
                "(hard assignments) and the sample weights are not used for it. "
                "Use an expert whose fit takes sample_weight to keep the soft EM "
                "updates.",
                UserWarning,
                stacklevel=4,
            )

    ### Fitting

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, sample_weight=None):
        """Fit the mixture of experts by EM.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data. Sparse matrices are not supported.

        y : array-like of shape (n_samples,)
            Target values: real numbers for the regressor, class labels for
            the classifier.

        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative row weights. Each expert is fitted with
            ``sample_weight * resp[:, k]``. None gives every row weight one.

        Returns
        -------
        self : object
            Fitted estimator.
        """
        _check_fit_target(X, y, self)
        X, y = self._validate_fit_data(X, y)
        _check_finite_X(X, type(self).__name__)
        sample_weight = self._check_fit_sample_weight(sample_weight, X, y)
        templates = self._make_expert_templates(X.shape[0])
        gate_template = self._make_gate()
        self._warn_routing_without_top_k()
        supports = [weight_support(estimator) for estimator in templates]
        self._warn_unweighted_experts(templates, supports)

        continue_fit = self._can_continue(templates)
        n_init = 1 if continue_fit else self.n_init
        random_state = check_random_state(self.random_state)

        self._reseeded_experts = set()
        # One Parallel for the whole fit keeps joblib's workers, and the
        # memory-mapped copies of X and y, from one M-step to the next.
        parallel = Parallel(n_jobs=self.n_jobs, verbose=max(self.verbose - 1, 0))
        with single_thread_below(X.shape[0] * len(templates)), parallel:
            best = self._fit_initialisations(
                X, y, sample_weight, templates, supports, gate_template,
                continue_fit, n_init, random_state, parallel,
            )

        if not best.converged:
            warnings.warn(
                f"The best of {n_init} initialisation(s) of {type(self).__name__} "
                f"did not converge in max_iter={self.max_iter} EM iterations: the "
                f"objective still changed by more than tol={self.tol}. Increase "
                "max_iter, increase tol, or use fewer n_experts.",
                ConvergenceWarning,
                stacklevel=3,
            )

        self._store_result(best)
        return self

    def _fit_initialisations(self, X, y, sample_weight, templates, supports,
                             gate_template, continue_fit, n_init, random_state,
                             parallel):
        """Run EM from each initialisation and return the best result."""
        best = None
        for init in range(n_init):
            self._print_verbose_msg_init_beg(init)
            experts = [clone(template) for template in templates]
            set_expert_random_states(experts, random_state)
            if continue_fit:
                gate = copy.deepcopy(self.gate_)
            else:
                gate = clone(gate_template)
            result = self._run_em(
                X, y, sample_weight, experts, supports, gate, continue_fit,
                random_state, parallel,
            )
            self._print_verbose_msg_init_end(result)
            if best is None or result.objective > best.objective:
                best = result
        return best

    def _check_fit_sample_weight(self, sample_weight, X, y):
        # np.asarray first: np.ndim would dispatch on array-likes that
        # implement __array_function__ but not every NumPy function.
        values = None if sample_weight is None else np.asarray(sample_weight)
        if values is not None and values.ndim > 0:
            values = values.astype(np.float64, copy=False)
            if values.shape != (X.shape[0],):
                raise ValueError(
                    f"sample_weight has shape {values.shape}, but X has "
                    f"{X.shape[0]} rows. Pass one non-negative weight per row "
                    "of X, or None for equal weights."
                )
            negative = np.flatnonzero(values < 0)
            if negative.size:
                raise ValueError(
                    f"sample_weight contains {negative.size} negative value(s), "
                    f"the first {values[negative[0]]:g} at row {negative[0]}. "
                    "Pass non-negative weights. A weight of zero leaves a row out."
                )
            if not values.sum() > 0:
                raise ValueError(
                    f"sample_weight sums to zero (all {values.size} weights are "
                    "zero). Give at least one row a positive weight."
                )
        sample_weight = _check_sample_weight(
            sample_weight, X, dtype=np.float64, ensure_non_negative=True
        )
        if not sample_weight.sum() > 0:
            raise ValueError(
                "sample_weight sums to zero: at least one row needs a positive "
                "weight to fit the mixture."
            )
        return sample_weight

    def _can_continue(self, templates):
        """Return whether warm_start can continue from the previous fit."""
        if not (self.warm_start and hasattr(self, "experts_")):
            return False
        if len(templates) != self.n_experts_:
            warnings.warn(
                f"warm_start=True but the number of experts changed from "
                f"{self.n_experts_} to {len(templates)}; fitting from a new "
                "initialisation.",
                UserWarning,
                stacklevel=4,
            )
            return False
        return True

    def _current_resp(self, X, y, random_state):
        """Return the responsibilities of the stored model, for warm_start."""
        outputs = self._target_outputs(self.experts_, X, y)
        log_gate = np.ascontiguousarray(self.gate_._routing_log_proba(X, random_state))
        resp, _ = self._chunked_e_step(log_gate, outputs, y, self._get_dispersion())
        return resp

    def _initial_resp(self, X, y, sample_weight, n_experts, random_state):
        if self.init == "kmeans":
            Z = np.hstack([X, self._target_columns(y)])
            return _initial_resp_kmeans(Z, sample_weight, n_experts, random_state)
        return _initial_resp_random(X.shape[0], n_experts, random_state)

    def _run_em(self, X, y, sample_weight, experts, supports, gate, continue_fit,
                random_state, parallel):
        """Run EM from one initialisation and return its result.

        With ``continue_fit`` EM starts from the responsibilities of the
        stored model (warm_start), else from the k-means or random start.
        """
        n_experts = len(experts)
        resp = None
        if continue_fit:
            resp = self._current_resp(X, y, random_state)
        # A fixed gate is fitted once and its partition is the responsibility,
        # so it skips the k-means or random start of the responsibilities.
        if not gate._refit_in_m_step:
            if not hasattr(gate, "n_experts_"):
                uniform = np.full((X.shape[0], n_experts), 1.0 / n_experts)
                gate._m_step(X, uniform, sample_weight, top_k=self.top_k,
                             random_state=random_state)
                del uniform
            resp = np.exp(gate._log_proba(X))
        elif resp is None:
            resp = self._initial_resp(X, y, sample_weight, n_experts, random_state)

        # Sparse routing and hard gates give each expert its own rows; under
        # a soft gate every row keeps a (possibly underflowed) weight.
        routed = not gate._refit_in_m_step or (
            self.top_k is not None
            and (self.routing == "expert_choice" or self.top_k < n_experts)
        )

        history = []
        converged = False
        n_reseeds = np.zeros(n_experts, dtype=np.intp)
        log_norm = None
        start = time()

        routed_resp = _route_resp(resp, self.top_k, self.routing)
        # Every (n_samples, n_experts) array is dropped as soon as it is used,
        # so that few of them are in memory at a time (see the scaling guide).
        del resp
        for n_iter in range(1, self.max_iter + 1):
            train_resp = routed_resp
            del routed_resp
            if gate._refit_in_m_step:
                train_resp = self._reseed_collapsed(
                    train_resp, sample_weight, log_norm, n_reseeds, random_state
                )
            # The last E-step is done with these: release them before the
            # experts of this M-step are fitted.
            log_norm = fitted = fitted_experts = None

            # M-step: experts on sample_weight * resp[:, k], then the gate.
            fitted = self._m_step_experts(
                X, y, sample_weight, train_resp, experts, supports, routed, parallel
            )
            fitted_experts = [estimator for estimator, _, _ in fitted]
            constant_reasons = [reason for _, reason, _ in fitted]
            errors = [error for _, _, error in fitted if error is not None]
            if len(errors) == len(fitted):
                raise ValueError(
                    f"Every expert of {type(self).__name__} failed to fit on its "
                    f"region; the first error was: {errors[0]}"
                ) from errors[0]
            if gate._refit_in_m_step:
                gate._m_step(X, train_resp, sample_weight, top_k=self.top_k,
                             random_state=random_state, tol=self.tol)

            resp, log_norm, dispersion, order, mass = self._e_step(
                gate, fitted_experts, X, y, sample_weight, train_resp, random_state
            )
            history.append(self._objective(gate, X, log_norm, sample_weight))

            change = history[-1] - history[-2] if n_iter > 1 else np.inf
            self._print_verbose_msg_iter_end(n_iter, change, start)
            if abs(change) < self.tol:
                converged = True
                break

            # Unchanged responsibilities make the next M-step repeat this one,
            # as with the hard regions of a fixed gate, so EM is at a fixed point.
            routed_resp = _route_resp(resp, self.top_k, self.routing)
            del resp
            if np.array_equal(routed_resp, train_resp):
                converged = True
                break
            del train_resp

        return _EMResult(
            experts=fitted_experts,
            gate=gate,
            dispersion=dispersion,
            mass=mass,
            order=order,
            history=history,
            converged=converged,
            n_iter=n_iter,
            constant_reasons=constant_reasons,
        )

    def _e_step(self, gate, experts, X, y, sample_weight, train_resp, random_state):
        """Evaluate the fitted experts and gate; return the new responsibilities.

        Returns
        -------
        resp : ndarray of shape (n_samples, n_experts)
            Posterior responsibilities under the (possibly noisy) training gate.
        log_norm : ndarray of shape (n_samples,)
            log p(y_i | x_i), under the sparse gate when ``top_k`` is set.
        dispersion : ndarray or None
            The refitted dispersion.
        order : ndarray of shape (n_experts,)
            The order in which the experts are stored if EM stops here.
        mass : ndarray of shape (n_experts,)
            ``sample_weight @ train_resp``, the weight of each expert's region.
        """
        log_gate = np.ascontiguousarray(gate._routing_log_proba(X, random_state))

        # Under a hard gate an expert is evaluated only on the rows the gate
        # can route to it and the rows it was fitted on. That keeps K experts
        # cheaper than one when their prediction cost grows with the rows.
        # NOTE: with top_k and a soft gate every expert still predicts every
        # row, because the dense responsibilities need all densities. For SVR
        # experts this pass dominates the fit time.
        row_masks = np.isfinite(log_gate)
        if row_masks.all():
            row_masks = None
        else:
            row_masks |= (train_resp > 0) & (sample_weight > 0)[:, None]
        outputs = self._target_outputs(experts, X, y, row_masks)
        del row_masks

        mass = sample_weight @ train_resp
        dispersion = self._fit_dispersion(outputs, y, sample_weight, train_resp, mass)
        order = np.asarray(
            self._expert_order(outputs, sample_weight, train_resp, mass), dtype=np.intp
        )
        resp, log_norm = self._chunked_e_step(log_gate, outputs, y, dispersion,
                                              self.top_k)
        return resp, log_norm, dispersion, order, mass

    def _chunked_e_step(self, log_gate, outputs, y, dispersion, top_k=None):
        """Return responsibilities and log p(y | x), in row blocks.

        The log densities exist for one block of `_E_STEP_ROWS` rows at a
        time. With ``top_k`` the responsibilities stay dense and
        log p(y | x) uses the sparse gate.
        """
        n_samples = log_gate.shape[0]
        resp = np.empty_like(log_gate)
        log_norm = np.empty(n_samples)
        for rows in gen_batches(n_samples, _E_STEP_ROWS):
            log_dens = self._log_density(outputs[rows], y[rows], dispersion)
            resp[rows], log_norm[rows] = e_step(log_gate[rows], log_dens)
            if top_k is not None:
                _, log_norm[rows] = e_step(
                    top_k_log_softmax(log_gate[rows], top_k), log_dens
                )
        return resp, log_norm

    def _m_step_experts(self, X, y, sample_weight, train_resp, experts, supports,
                        routed, parallel):
        """Fit every expert on its weighted region, in parallel with joblib.

        The tasks are generated one at a time, so that with one job a single
        weight vector exists at a time. joblib's process backends memory-map X
        and y for the workers instead of copying them into every task.
        ``routed`` is passed on to :func:`~skmoe._experts.fit_expert`.
        """
        # Experts that take no weights are fitted on the rows they are the
        # heaviest expert for.
        heaviest = None
        if None in supports:
            heaviest = np.argmax(train_resp, axis=1)
            heaviest[train_resp.max(axis=1) <= 0] = -1
        is_clf = is_classifier(self)
        return parallel(
            delayed(fit_expert)(
                clone(experts[k]),
                X,
                y,
                sample_weight * train_resp[:, k],
                None if heaviest is None else heaviest == k,
                supports[k],
                is_clf,
                routed,
            )
            for k in range(len(experts))
        )

    def _reseed_collapsed(self, train_resp, sample_weight, log_norm, n_reseeds,
                          random_state):
        """Give each collapsed expert the rows the mixture explains worst."""
        mass = sample_weight @ train_resp
        threshold = _COLLAPSE_FRACTION * sample_weight.sum() / train_resp.shape[1]
        collapsed = np.flatnonzero((mass < threshold) & (n_reseeds < _MAX_RESEEDS))
        if collapsed.size == 0:
            return train_resp

        train_resp = train_resp.copy()
        candidates = np.flatnonzero(sample_weight > 0)
        n_rows = max(2, candidates.size // train_resp.shape[1])
        for k in collapsed:
            if log_norm is None:
                rows = random_state.choice(candidates, size=n_rows, replace=False)
            else:
                rows = candidates[np.argsort(log_norm[candidates], kind="stable")[:n_rows]]
            train_resp[rows] = 0.0
            train_resp[rows, k] = 1.0
            n_reseeds[k] += 1
            if k not in self._reseeded_experts:
                self._reseeded_experts.add(k)
                warnings.warn(
                    f"Expert {k} got total responsibility {mass[k]:.1e}; "
                    f"re-initialising it on the {n_rows} rows the mixture "
                    "explains worst.",
                    UserWarning,
                    stacklevel=6,
                )
        return train_resp

    def _objective(self, gate, X, log_norm, sample_weight):
        """Return the EM objective L per unit of sample weight."""
        rows = sample_weight > 0
        total = sample_weight[rows] @ log_norm[rows]
        log_marginal = gate._log_marginal_density(X)
        if log_marginal is not None:
            total += sample_weight[rows] @ log_marginal[rows]
        objective = (total - gate._penalty()) / sample_weight.sum()
        if not np.isfinite(objective):
            raise FloatingPointError(
                f"The EM objective of {type(self).__name__} became {objective}. "
                "Scale the features (StandardScaler), or use fewer experts."
            )
        return float(objective)

    def _store_result(self, result):
        order = result.order
        result.gate._permute_experts(order)

        self.experts_ = [result.experts[k] for k in order]
        self.gate_ = result.gate
        self.n_experts_ = len(order)
        self._set_dispersion(result.dispersion[order]
                             if result.dispersion is not None else None)
        self.expert_weights_ = (result.mass / result.mass.sum())[order]
        self.constant_experts_ = np.array(
            [result.constant_reasons[k] is not None for k in order]
        )
        self.n_iter_ = result.n_iter
        self.converged_ = result.converged
        self.log_likelihood_history_ = np.asarray(result.history)

        constant = [(position, result.constant_reasons[k])
                    for position, k in enumerate(order)
                    if result.constant_reasons[k] is not None]
        replacement = "the class prior" if is_classifier(self) else "the weighted mean of y"
        if constant:
            details = "; ".join(
                f"expert {position} had {reason}" for position, reason in constant
            )
            warnings.warn(
                f"{len(constant)} of {self.n_experts_} experts of "
                f"{type(self).__name__} were replaced by a constant expert "
                f"predicting {replacement} of its region: {details}. Use fewer "
                "experts if this persists.",
                UserWarning,
                stacklevel=4,
            )

    ### Prediction helpers

    def _gate_log_proba(self, X):
        """Return the log gate weights of prediction, top-k sparse when set."""
        log_gate = np.ascontiguousarray(self.gate_._log_proba(X))
        if self.top_k is not None and self.top_k < self.n_experts_:
            log_gate = top_k_log_softmax(log_gate, self.top_k)
        return log_gate

    def _routed_outputs(self, X):
        """Return gate weights and expert outputs, each expert on its rows only."""
        gate_proba = np.exp(self._gate_log_proba(X))
        row_masks = gate_proba > 0 if self.top_k is not None else None
        return gate_proba, self._expert_outputs(self.experts_, X, row_masks)

    def _prediction_batches(self, n_samples):
        """Return the row blocks in which prediction methods work.

        A block's temporaries (gate weights, expert outputs and their
        products) stay within scikit-learn's ``working_memory``.
        """
        return _row_batches(n_samples, self._prediction_row_bytes())

    @abstractmethod
    def _prediction_row_bytes(self):
        """Return the temporary memory per row of a prediction method."""

    def _validate_predict_X(self, X):
        check_is_fitted(self)
        X = validate_data(
            self, X, reset=False, dtype=np.float64, ensure_all_finite=False
        )
        _check_finite_X(X, type(self).__name__)
        return X

    def gate_proba(self, X):
        """Compute the gate weights of each expert.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        gate_proba : ndarray of shape (n_samples, `n_experts_`)
            g_k(x) for each row; rows sum to one. With ``top_k``, the weights
            outside the k largest are zero and the rest are renormalised.
        """
        X = self._validate_predict_X(X)
        gate_proba = np.empty((X.shape[0], self.n_experts_))
        for rows in self._prediction_batches(X.shape[0]):
            gate_proba[rows] = np.exp(self._gate_log_proba(X[rows]))
        return gate_proba

    def apply(self, X):
        """Return the index of the heaviest expert for each row.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        expert_index : ndarray of shape (n_samples,)
            ``gate_proba(X).argmax(axis=1)``.
        """
        return np.argmax(self.gate_proba(X), axis=1)

    def log_likelihood(self, X, y):
        """Compute the conditional log-likelihood log p(y | x) of each row.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input data.

        y : array-like of shape (n_samples,)
            Target values.

        Returns
        -------
        log_likelihood : ndarray of shape (n_samples,)
            log sum_k g_k(x) p_k(y | x) per row, with the sparse renormalised
            gate when ``top_k`` is set.
        """
        X = self._validate_predict_X(X)
        y = self._validate_target(y, X.shape[0])
        log_likelihood = np.empty(X.shape[0])
        for rows in self._prediction_batches(X.shape[0]):
            log_gate = self._gate_log_proba(X[rows])
            row_masks = np.isfinite(log_gate) if self.top_k is not None else None
            outputs = self._target_outputs(self.experts_, X[rows], y[rows], row_masks)
            log_dens = self._log_density(outputs, y[rows], self._get_dispersion())
            _, log_likelihood[rows] = e_step(log_gate, log_dens)
        return log_likelihood

    def _n_parameters(self):
        """Return the number of free parameters of the fitted mixture."""
        n_parameters = self.gate_._n_parameters() + self._n_dispersion_parameters()
        for index, estimator in enumerate(self.experts_):
            count = count_parameters(estimator)
            if count is None:
                raise TypeError(
                    f"BIC and AIC need the number of fitted parameters, but expert "
                    f"{index} ({estimator!r}) has none that skmoe can count "
                    "(coef_/intercept_, coefs_/intercepts_, a nested mixture or a "
                    "Pipeline of those). Compare models by cross-validation "
                    "instead, e.g. sklearn.model_selection.cross_val_score."
                )
            n_parameters += count
        return int(n_parameters)

    def bic(self, X, y):
        """Compute the Bayesian information criterion on the data.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input data.

        y : array-like of shape (n_samples,)
            Target values.

        Returns
        -------
        bic : float
            ``-2 * sum(log_likelihood(X, y)) + n_parameters * log(n_samples)``.
            Lower is better.
        """
        log_likelihood = self.log_likelihood(X, y)
        return float(-2 * log_likelihood.sum()
                     + self._n_parameters() * np.log(log_likelihood.shape[0]))

    def aic(self, X, y):
        """Compute the Akaike information criterion on the data.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input data.

        y : array-like of shape (n_samples,)
            Target values.

        Returns
        -------
        aic : float
            ``-2 * sum(log_likelihood(X, y)) + 2 * n_parameters``. Lower is
            better.
        """
        return float(-2 * self.log_likelihood(X, y).sum() + 2 * self._n_parameters())

    ### Progress output

    def _print_verbose_msg_init_beg(self, init):
        if self.verbose >= 1:
            print(f"Initialization {init}")
            self._init_start = time()

    def _print_verbose_msg_iter_end(self, n_iter, change, start):
        if self.verbose >= 1 and n_iter % self.verbose_interval == 0:
            if self.verbose == 1:
                print(f"  Iteration {n_iter}")
            else:
                print(
                    f"  Iteration {n_iter}\t time lapse {time() - start:.5f}s\t "
                    f"objective change {change:.5f}"
                )

    def _print_verbose_msg_init_end(self, result):
        if self.verbose == 1:
            state = "converged" if result.converged else "did not converge"
            print(f"Initialization {state}.")
        elif self.verbose >= 2:
            state = "converged" if result.converged else "did not converge"
            print(
                f"Initialization {state}. time lapse "
                f"{time() - self._init_start:.5f}s\t objective {result.objective:.5f}"
            )

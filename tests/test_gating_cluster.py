"""Tests for ClusterGate."""

# SPDX-License-Identifier: BSD-3-Clause

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import BaseEstimator, clone
from sklearn.cluster import AgglomerativeClustering, Birch, KMeans, MeanShift
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture

from skmoe.gating import ClusterGate


def _make_blobs(n_per_blob=30, n_features=2, seed=0):
    """Return rows around three well separated centres, and their blob index."""
    rng = np.random.RandomState(seed)
    centres = np.array([[0.0] * n_features, [10.0] * n_features, [-10.0] * n_features])
    labels = np.repeat(np.arange(3), n_per_blob)
    X = centres[labels] + 0.5 * rng.randn(labels.size, n_features)
    return X, labels


def _uniform_resp(n_samples, n_experts):
    return np.full((n_samples, n_experts), 1.0 / n_experts)


class _LabelClusterer(BaseEstimator):
    """Clusterer whose predict returns fixed labels, to test odd label values."""

    def __init__(self, n_clusters=2, labels=None):
        self.n_clusters = n_clusters
        self.labels = labels

    def fit(self, X, y=None):
        self.fitted_ = True
        return self

    def predict(self, X):
        return np.asarray(self.labels)[: X.shape[0]]


def test_cluster_gate_predict_proba_one_hot():
    X, _ = _make_blobs()
    gate = ClusterGate().fit(X, _uniform_resp(len(X), 3))

    proba = gate.predict_proba(X)

    assert proba.shape == (len(X), 3)
    assert_allclose(proba.sum(axis=1), 1.0)
    assert np.all((proba == 0.0) | (proba == 1.0))
    assert_array_equal(proba.argmax(axis=1), gate.predict(X))


def test_cluster_gate_log_proba_zero_or_minus_inf():
    X, _ = _make_blobs()
    gate = ClusterGate().fit(X, _uniform_resp(len(X), 3))

    log_proba = gate.predict_log_proba(X)

    assert np.all((log_proba == 0.0) | (log_proba == -np.inf))
    assert_array_equal((log_proba == 0.0).sum(axis=1), 1)


def test_cluster_gate_predict_follows_clusterer():
    X, labels = _make_blobs()
    gate = ClusterGate().fit(X, _uniform_resp(len(X), 3))

    expert = gate.predict(X)

    assert_array_equal(expert, gate.clusterer_.predict(X))
    # Each blob is one region, whatever the numbering of the clusters.
    for blob in range(3):
        assert np.unique(expert[labels == blob]).size == 1
    assert np.unique(expert).size == 3


def test_cluster_gate_fitted_attributes():
    X, _ = _make_blobs(n_features=4)
    clusterer = KMeans(n_clusters=8, n_init=2, random_state=0)
    gate = ClusterGate(clusterer).fit(X, _uniform_resp(len(X), 3))

    assert gate.n_experts_ == 3
    assert gate.n_features_in_ == 4
    assert gate.clusterer_ is not clusterer
    assert gate.clusterer_.n_clusters == 3
    assert clusterer.n_clusters == 8
    assert not hasattr(clusterer, "cluster_centers_")


def test_cluster_gate_default_kmeans():
    X, _ = _make_blobs()
    gate = ClusterGate()
    gate._m_step(
        X, _uniform_resp(len(X), 3), np.ones(len(X)), top_k=None, random_state=5
    )

    assert isinstance(gate.clusterer_, KMeans)
    assert gate.clusterer_.n_init == 10
    assert gate.clusterer_.n_clusters == 3
    assert gate.clusterer_.random_state == 5


def test_cluster_gate_refit_flag_is_false():
    assert ClusterGate._refit_in_m_step is False


def test_cluster_gate_sets_n_components():
    X, labels = _make_blobs()
    gate = ClusterGate(GaussianMixture(n_components=7, random_state=0))
    gate.fit(X, _uniform_resp(len(X), 3))

    assert gate.clusterer_.n_components == 3
    expert = gate.predict(X)
    for blob in range(3):
        assert np.unique(expert[labels == blob]).size == 1


def test_cluster_gate_random_state_only_when_unset():
    X, _ = _make_blobs()
    resp = _uniform_resp(len(X), 3)
    weight = np.ones(len(X))

    unset = ClusterGate(KMeans(n_init=1))
    unset._m_step(X, resp, weight, top_k=None, random_state=11)
    user_seed = ClusterGate(KMeans(n_init=1, random_state=7))
    user_seed._m_step(X, resp, weight, top_k=None, random_state=11)

    assert unset.clusterer_.random_state == 11
    assert user_seed.clusterer_.random_state == 7


def test_cluster_gate_random_state_instance_gives_int_seed():
    X, _ = _make_blobs()
    resp = _uniform_resp(len(X), 3)
    weight = np.ones(len(X))

    first = ClusterGate()
    first._m_step(X, resp, weight, top_k=None, random_state=np.random.RandomState(4))
    second = ClusterGate()
    second._m_step(X, resp, weight, top_k=None, random_state=np.random.RandomState(4))

    assert isinstance(first.clusterer_.random_state, int)
    assert first.clusterer_.random_state == second.clusterer_.random_state
    assert_array_equal(first.predict(X), second.predict(X))


def test_cluster_gate_clusterer_without_random_state():
    X, labels = _make_blobs()
    gate = ClusterGate(Birch(n_clusters=5))
    gate._m_step(
        X, _uniform_resp(len(X), 3), np.ones(len(X)), top_k=None, random_state=0
    )

    assert gate.clusterer_.n_clusters == 3
    assert "random_state" not in gate.clusterer_.get_params()
    assert np.unique(gate.predict(X)).size == 3


def test_cluster_gate_same_seed_same_partition():
    rng = np.random.RandomState(0)
    X = rng.randn(200, 3)
    resp = _uniform_resp(len(X), 4)
    weight = np.ones(len(X))

    first = ClusterGate(KMeans(n_init=1))
    first._m_step(X, resp, weight, top_k=None, random_state=3)
    second = ClusterGate(KMeans(n_init=1))
    second._m_step(X, resp, weight, top_k=None, random_state=3)

    assert_array_equal(first.predict(X), second.predict(X))
    assert_array_equal(
        first.clusterer_.cluster_centers_, second.clusterer_.cluster_centers_
    )


def test_cluster_gate_duplicate_rows_leave_empty_regions():
    X = np.ones((20, 2))
    gate = ClusterGate(KMeans(n_init=1, random_state=0))

    with pytest.warns(ConvergenceWarning, match="distinct clusters"):
        gate.fit(X, _uniform_resp(20, 3))
    proba = gate.predict_proba(X)

    assert proba.shape == (20, 3)
    assert np.all(np.isfinite(proba))
    assert_allclose(proba.sum(axis=1), 1.0)
    assert np.unique(gate.predict(X)).size == 1


def test_cluster_gate_out_of_range_labels():
    X = np.zeros((4, 1))
    clusterer = _LabelClusterer(labels=[0, 2, -1, 1])
    gate = ClusterGate(clusterer).fit(X, _uniform_resp(4, 2))

    proba = gate.predict_proba(X)

    assert_allclose(proba[0], [1.0, 0.0])
    assert_allclose(proba[1], [0.5, 0.5])
    assert_allclose(proba[2], [0.5, 0.5])
    assert_allclose(proba[3], [0.0, 1.0])


def test_cluster_gate_weighted_fit_equals_repeated_rows():
    X, _ = _make_blobs(n_per_blob=10)
    counts = np.random.RandomState(1).randint(1, 4, size=len(X))
    X_repeated = np.repeat(X, counts, axis=0)

    weighted = ClusterGate(KMeans(n_init=5, random_state=0))
    weighted.fit(X, _uniform_resp(len(X), 3), sample_weight=counts)
    repeated = ClusterGate(KMeans(n_init=5, random_state=0))
    repeated.fit(X_repeated, _uniform_resp(len(X_repeated), 3))

    order_weighted = np.argsort(weighted.clusterer_.cluster_centers_[:, 0])
    order_repeated = np.argsort(repeated.clusterer_.cluster_centers_[:, 0])
    assert_allclose(
        weighted.clusterer_.cluster_centers_[order_weighted],
        repeated.clusterer_.cluster_centers_[order_repeated],
    )
    rank_weighted = np.argsort(order_weighted)[weighted.predict(X)]
    rank_repeated = np.argsort(order_repeated)[repeated.predict(X)]
    assert_array_equal(rank_weighted, rank_repeated)


def test_cluster_gate_unweighted_clusterer_warns():
    X, _ = _make_blobs()
    weight = np.ones(len(X))
    weight[:5] = 2.0
    gate = ClusterGate(GaussianMixture(random_state=0))

    with pytest.warns(UserWarning, match="does not accept sample_weight"):
        gate.fit(X, _uniform_resp(len(X), 3), sample_weight=weight)

    assert gate.clusterer_.n_components == 3


def test_cluster_gate_unweighted_clusterer_drops_zero_weight_rows():
    X, _ = _make_blobs()
    # Rows far away from the blobs, given weight zero, must not make a cluster.
    X_outliers = np.vstack([X, np.full((10, 2), 100.0)])
    weight = np.r_[np.ones(len(X)), np.zeros(10)]

    gate = ClusterGate(GaussianMixture(random_state=0))
    gate.fit(X_outliers, _uniform_resp(len(X_outliers), 3), sample_weight=weight)

    means = gate.clusterer_.means_
    assert np.all(np.abs(means) < 20.0)


def test_cluster_gate_n_parameters():
    X, _ = _make_blobs(n_features=5)
    gate = ClusterGate().fit(X, _uniform_resp(len(X), 3))

    assert gate._n_parameters() == 15


def test_cluster_gate_refit_with_other_n_experts():
    X, _ = _make_blobs()
    gate = ClusterGate().fit(X, _uniform_resp(len(X), 3))
    gate.fit(X, _uniform_resp(len(X), 2))

    assert gate.n_experts_ == 2
    assert gate.predict_proba(X).shape == (len(X), 2)


def test_cluster_gate_clone_and_nested_params():
    gate = ClusterGate(KMeans(n_init=3))
    gate.set_params(clusterer__n_init=4)

    cloned = clone(gate)

    assert cloned.get_params()["clusterer__n_init"] == 4
    assert cloned.clusterer is not gate.clusterer


def test_cluster_gate_feature_count_mismatch():
    X, _ = _make_blobs()
    gate = ClusterGate().fit(X, _uniform_resp(len(X), 3))

    with pytest.raises(ValueError, match="3 features"):
        gate.predict(np.zeros((2, 3)))


@pytest.mark.parametrize(
    "clusterer, error, message",
    [
        ("kmeans", ValueError, "'clusterer' parameter.*Got 'kmeans'"),
        (
            AgglomerativeClustering(),
            TypeError,
            "predict method.*AgglomerativeClustering",
        ),
        (MeanShift(), TypeError, "'n_clusters' or 'n_components'.*MeanShift"),
    ],
)
def test_cluster_gate_invalid_clusterer(clusterer, error, message):
    X, _ = _make_blobs()
    gate = ClusterGate(clusterer)

    with pytest.raises(error, match=message):
        gate.fit(X, _uniform_resp(len(X), 3))


def test_cluster_gate_too_few_rows():
    X = np.arange(4.0).reshape(2, 2)

    with pytest.raises(ValueError, match="n_samples=2 should be >= n_clusters=3"):
        ClusterGate().fit(X, _uniform_resp(2, 3))


def test_cluster_gate_zero_total_weight():
    X, _ = _make_blobs()

    with pytest.raises(ValueError, match="got all weights zero"):
        ClusterGate().fit(X, _uniform_resp(len(X), 3), sample_weight=np.zeros(len(X)))

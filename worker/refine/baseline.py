"""References on the same split: a plain logistic regression, and gradient boosting as the ceiling.

Numeric attributes: signed log transform, median imputation, a missing indicator, standardised.
Categorical attributes: one-hot of values seen in at least ``min_bin_count`` training deals.
Everything is learned on the training rows only; L2 penalty with scikit-learn's default C.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression

from worker.refine.dataset import Column

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
MAX_CATEGORY_CODE = 250


def _numeric_features(column: Column, train: IntArray, test: IntArray) -> tuple[FloatArray, FloatArray]:
    x = column.values.astype(np.float64)
    x = np.sign(x) * np.log1p(np.abs(x))
    fill = np.nanmedian(x[train]) if np.any(~np.isnan(x[train])) else 0.0
    missing = np.isnan(x)
    filled = np.where(missing, fill, x)
    mean, std = filled[train].mean(), filled[train].std() or 1.0
    features = np.column_stack([(filled - mean) / std, missing.astype(np.float64)])
    return features[train], features[test]


def _categorical_features(
    column: Column, train: IntArray, test: IntArray, min_count: int
) -> tuple[FloatArray, FloatArray]:
    _, codes = column.factorized
    counts = np.bincount(codes[train][codes[train] >= 0], minlength=max(int(codes.max()) + 1, 1))
    frequent = np.flatnonzero(counts >= min_count)
    if not len(frequent):
        return np.empty((len(train), 0)), np.empty((len(test), 0))
    one_hot = (codes[:, None] == frequent[None, :]).astype(np.float64)
    return one_hot[train], one_hot[test]


def baseline_scores(
    columns: Sequence[Column], target: npt.NDArray[np.bool_], train: IntArray, test: IntArray, min_count: int
) -> FloatArray | None:
    """Predicted probabilities of the test rows from a logistic regression fitted on the training rows.

    Returns:
        The probabilities, or None when there are no usable features or a single class in training.
    """
    parts_train: list[FloatArray] = []
    parts_test: list[FloatArray] = []
    for column in columns:
        if column.kind == "numeric":
            a, b = _numeric_features(column, train, test)
        else:
            a, b = _categorical_features(column, train, test, min_count)
        parts_train.append(a)
        parts_test.append(b)
    x_train = np.column_stack(parts_train) if parts_train else np.empty((len(train), 0))
    y_train = target[train]
    if x_train.shape[1] == 0 or y_train.all() or not y_train.any():
        return None
    model = LogisticRegression(max_iter=1000).fit(x_train, y_train)
    return model.predict_proba(np.column_stack(parts_test))[:, 1]


def boosting_scores(
    columns: Sequence[Column], target: npt.NDArray[np.bool_], train: IntArray, test: IntArray, seed: int
) -> FloatArray | None:
    """Gradient boosting (scikit-learn ``HistGradientBoostingClassifier``) on the raw attributes: a ceiling.

    Numeric attributes as they are (missing values handled natively), categorical ones as native
    categories. It shows how much the data hold beyond any additive model; it is never proposed.
    """
    if not columns or target[train].all() or not target[train].any():
        return None
    parts, categorical = [], []
    for column in columns:
        if column.kind == "numeric":
            parts.append(column.values.astype(np.float64))
            categorical.append(False)
        else:
            codes = column.factorized[1].astype(np.float64)
            parts.append(np.where(codes >= 0, np.minimum(codes, MAX_CATEGORY_CODE), np.nan))
            categorical.append(True)
    x = np.column_stack(parts)
    model = HistGradientBoostingClassifier(
        max_iter=100, learning_rate=0.08, max_leaf_nodes=15, min_samples_leaf=20,
        categorical_features=np.array(categorical), early_stopping=False, random_state=seed,
    )
    model.fit(x[train], target[train])
    return model.predict_proba(x[test])[:, 1]

"""``sparsify()`` / ``densify()``: scikit-learn's ``SparseCoefMixin`` for the GD estimators.

Unlike scikit-learn's SGD estimators, training continues after ``sparsify``:
``fit`` with ``warm_start`` and ``partial_fit`` start from the dense form of
the weights (``BaseGD._params_from_attributes``) and leave a dense ``coef_``.
"""

import numpy as np
import scipy.sparse as sp
from sklearn import get_config
from sklearn.utils.extmath import safe_sparse_dot
from sklearn.utils.validation import check_is_fitted


def linear_scores(X, coef):
    """``X @ coef.T`` as a dense array, for a dense or sparse ``coef`` (2-D).

    A sparse ``coef`` is made dense against dense ``X``: the scores then come
    from the same BLAS product as before ``sparsify`` (bit for bit), and a
    dense copy of the weights is small next to dense X.
    """
    if type(X) is np.ndarray and type(coef) is np.ndarray:
        # safe_sparse_dot's own product for dense arrays, without its checks
        # (half of its cost on a 10-row chunk).
        return X @ coef.T
    if sp.issparse(coef) and not sp.issparse(X):
        coef = coef.toarray()
    return safe_sparse_dot(X, coef.T, dense_output=True)


class SparseCoefMixin:
    """``sparsify`` and ``densify`` for estimators with ``coef_``, as scikit-learn's."""

    def densify(self):
        """Convert the coefficient matrix to a dense array.

        Converts ``coef_`` (back) to a :class:`numpy.ndarray` of the shape
        ``fit`` gives it, its default format. A no-op on a model that was
        not sparsified.

        Returns
        -------
        self : object
            Fitted estimator.
        """
        with self._lock():
            check_is_fitted(self, msg="Estimator, %(name)s, must be fitted before densifying.")
            if sp.issparse(self.coef_):
                self.coef_ = self._coef_attributes(self._params_from_attributes())["coef_"]
        return self

    def sparsify(self):
        """Convert the coefficient matrix to sparse format.

        Converts ``coef_`` to a SciPy CSR matrix of shape (n_outputs,
        n_features) (a CSR array when scikit-learn's ``sparse_interface``
        is "sparray"), which for L1-regularised models can be much more
        memory- and storage-efficient. ``intercept_`` is not converted.
        Predictions do not change.

        Returns
        -------
        self : object
            Fitted estimator.

        Notes
        -----
        For models with few zeros in ``coef_`` this may *increase* memory
        use, so use it with care. A rule of thumb: the number of zero
        elements, ``(coef_ == 0).sum()``, should exceed 50% of ``coef_.size``
        for it to pay off.

        ``fit`` with ``warm_start=True`` and ``partial_fit`` continue from
        the sparsified weights and leave ``coef_`` dense again (scikit-learn's
        SGD estimators need :meth:`densify` first).
        """
        with self._lock():
            check_is_fitted(self,
                            msg="Estimator, %(name)s, must be fitted before sparsifying.")
            coef = self.coef_
            coef = sp.csr_matrix(coef if sp.issparse(coef) else np.atleast_2d(coef))
            if get_config().get("sparse_interface") == "sparray":
                coef = sp.csr_array(coef)
            self.coef_ = coef
        return self

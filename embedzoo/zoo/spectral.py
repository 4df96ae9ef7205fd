"""Spectral embedding of who interacted with what: the prior of ``dot_bias_mf``'s factors.

Which items a user rated says much about how they rate (the signal SVD++ adds with implicit
factors). ``spectral_embedding`` condenses it: the top singular vectors of the binary user ×
item matrix of the training rows, degree-normalised as ``D_u^-γ X D_i^-γ`` (degrees + 1), each
side scaled by the root of its singular values. ``dot_bias_mf`` starts its factors there and
centres its L2 penalty on a learned linear map of it (a regression prior, as in Agarwal &
Chen's RLFM), so the served model is still a plain dot product with biases.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from sklearn.utils.extmath import randomized_svd


def spectral_embedding(
    user_index,
    item_index,
    n_users: int,
    n_items: int,
    k: int,
    degree_power: float = 0.4,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """``(P [n_users, k], Q [n_items, k])`` float32 with ``P @ Q.T`` ≈ the normalised matrix.

    Args:
        user_index, item_index: index pairs of the interactions (duplicates count once).
        n_users, n_items: table sizes (rows without interactions get zero rows).
        k: width; columns beyond the matrix's rank are zero.
        degree_power: γ of the degree normalisation (0: raw binary matrix; 0.5: symmetric).
        seed: seed of the randomized SVD (Halko et al.; scikit-learn's ``randomized_svd``).

    Example:
        >>> P, Q = spectral_embedding([1, 1, 2], [1, 2, 2], 3, 3, k=1)
        >>> P.shape, Q.shape
        ((3, 1), (3, 1))
    """
    users = np.asarray(user_index, dtype=np.int64)
    items = np.asarray(item_index, dtype=np.int64)
    P = np.zeros((int(n_users), int(k)), np.float32)
    Q = np.zeros((int(n_items), int(k)), np.float32)
    rank = min(int(k), int(n_users), int(n_items))
    if len(users) == 0 or rank < 1:
        return P, Q
    x = sp.csr_matrix((np.ones(len(users), np.float32), (users, items)), shape=(n_users, n_items))
    x.sum_duplicates()
    x.data[:] = 1.0
    user_degree, item_degree = x.getnnz(axis=1), x.getnnz(axis=0)
    du = (user_degree + 1.0) ** -float(degree_power)
    di = (item_degree + 1.0) ** -float(degree_power)
    x = sp.diags(du.astype(np.float32)) @ x @ sp.diags(di.astype(np.float32))
    u, s, vt = randomized_svd(x, rank, n_iter=7, random_state=int(seed))
    root = np.sqrt(s).astype(np.float32)
    P[:, :rank] = u * root
    Q[:, :rank] = vt.T * root
    P[user_degree == 0] = 0.0  # exactly, not up to round-off
    Q[item_degree == 0] = 0.0
    return P, Q

"""Parameter documentation shared by both estimators (numpydoc format).

Kept in one place so that the two docstrings cannot drift apart; each estimator
adds its own ``loss`` entry and, for the classifier, ``class_weight``.
"""

SHARED_PARAMETERS = """\
penalty : {"l2", "l1", "elasticnet"} or None, default="l2"
        Regularization term ``alpha * ((1 - r) / 2 * ||w||^2 + r * ||w||_1)`` with
        ``r = 0`` for "l2", ``r = 1`` for "l1" and ``r = l1_ratio`` for
        "elasticnet". The intercept is not penalized. L1 makes coefficients
        exactly zero: plain SGD with ``solver="stochastic"`` applies the
        cumulative L1 penalty of Tsuruoka et al. (2009), as scikit-learn's
        SGD does; the other solvers and optimizers a proximal
        (soft-threshold) step after each update.

    alpha : float, default=1e-4
        Regularization strength, >= 0.

    l1_ratio : float or None, default=0.15
        Share of L1 in the elastic net, in [0, 1]. Only used with
        ``penalty="elasticnet"``, for which it must be set; None is accepted
        with any other penalty (as in scikit-learn >= 1.7).

    fit_intercept : bool, default=True
        Whether to learn an intercept.

    solver : {"batch", "minibatch", "stochastic"}, default="batch"
        The training loop. "batch": one update per epoch from the gradient over
        all samples (deterministic; weighted and repeated samples give the same
        model). "minibatch": one update per ``batch_size`` samples.
        "stochastic": one update per sample (classic SGD). ``partial_fit`` runs
        one epoch of this loop over each chunk, so with "batch" it makes a
        single update per chunk: streams usually want "stochastic" or
        "minibatch".

    batch_size : int, default=32
        Samples per update for ``solver="minibatch"``.

    optimizer : {"auto", "sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", \
"adamw", "normalized", "svrg", "lbfgs"}, default="auto"
        The update rule. "auto" is a method that ends on a certified optimum
        where one applies, that is for ``fit`` with a smooth loss, no L1 part
        in the penalty and no step-size setting (``learning_rate="auto"``,
        ``eta0="auto"``, no clipping): "lbfgs" with ``solver="batch"`` and no
        ``early_stopping`` (the fewest passes over the data), "svrg" with
        ``solver="stochastic"``, a built-in loss and no ``average``. Anything
        else (``partial_fit``, the mini-batch solver, whose preconditioned
        plain steps ignore the features' scales, parameter mixing on Dask
        arrays, hinge and the other non-smooth losses, L1, a schedule) makes
        it "sgd", the earlier default; ``optimizer_`` records the choice, and
        ``optimizer="sgd"`` keeps the plain step everywhere. A ``partial_fit``
        after a fit by either takes the plain step at the rate a stream
        derives from its chunk.
        "sgd" is the plain gradient step, "momentum" the heavy ball,
        "nesterov" Nesterov's accelerated gradient, "adagrad", "rmsprop",
        "adam" and "adamw" the adaptive methods. With "adamw" the L2 part of
        the penalty is decoupled weight decay (``w -= lr * alpha * w``) instead
        of a gradient term, so its optimum differs from the other optimizers'.
        "normalized" is the normalized adaptive gradient (NAG) of Ross, Mineiro
        and Langford (2013), Vowpal Wabbit's default update: Adagrad whose step
        for feature ``j`` is also divided by ``s_j``, the largest ``|x_j|`` seen
        so far, and multiplied by ``sqrt(t / N)``, with ``N`` the sum over
        updates of ``sum_j (x_j / s_j)**2``. Its steps do not depend on the
        scale of any feature, so streams of unscaled features need no scaler
        (an L1/L2 penalty still does: set ``penalty=None`` or a small
        ``alpha`` for unscaled features). It works with every solver; for
        "batch" the scales are taken from the training rows before the first
        epoch. The scales and the mean of ``sum_j (x_j / s_j)**2`` live in
        ``optimizer_state_["first_moment"]``, so they carry over between
        ``partial_fit`` calls and through pickling (a ``warm_start`` fit
        restarts them, as it does every optimizer's state).
        "lbfgs" is SciPy's L-BFGS-B quasi-Newton method on the full batch
        (``solver="batch"`` only; no L1, no ``early_stopping``, no
        ``partial_fit``): each iteration is one fused pass over the data, and
        it reaches the optimum of smooth losses to high precision; ``tol`` is
        then its gradient tolerance and ``max_iter`` its iteration limit.
        "svrg" is the stochastic variance-reduced gradient of Johnson and
        Zhang (2013), for ``solver="stochastic"`` or ``"minibatch"`` and a
        smooth loss: each epoch starts with one full pass at a snapshot of the
        weights, and each one-sample (or mini-batch) step is corrected by the
        snapshot's gradient, so its noise vanishes at the optimum and a
        constant rate converges linearly (where plain SGD hovers or needs a
        decaying rate). The full pass also certifies the weights every epoch
        starts from, so ``fit`` stops on a certificate. ``eta0="auto"`` is a
        third of the plain step's ``1 / L`` (of the largest row for one
        sample per step, the mini-batch blend otherwise), without the
        diagonal preconditioner; it
        keeps one number per sample and output; no L1 part, no ``average``,
        no clipping, no ``partial_fit`` (the snapshot needs the whole data
        set), and only the schedules that are constant within an epoch.

    learning_rate : {"auto", "constant", "invscaling", "optimal", "adaptive", \
"inverse_time", "step", "exponential", "pa1", "pa2"}, default="auto"
        The step-size schedule; ``t`` counts updates, ``e`` completed epochs
        (each ``partial_fit`` call is one epoch):

        - "auto": "optimal" for GDClassifier's plain one-sample steps
          (``solver="stochastic"``, ``optimizer`` "sgd" or an "auto" that
          resolves to it, e.g. in ``partial_fit``,
          ``eta0="auto"``, a penalty with ``alpha > 0``), as scikit-learn's
          SGDClassifier, with ``t0`` raised where needed so that no step
          exceeds the stable constant step ``eta0_`` (Bottou's ``t0``
          assumes features of unit scale); "constant" everywhere else
          (``schedule_`` records the choice). Any other value is also a
          step-size setting that keeps ``optimizer="auto"`` from choosing
          L-BFGS;
        - "constant": ``eta0``;
        - "invscaling": ``eta0 / t ** power_t``;
        - "optimal": ``1 / (alpha * (t0 + t))`` with Bottou's heuristic
          ``t0`` (as scikit-learn's SGD; needs ``alpha > 0``);
        - "adaptive": ``eta0`` while the stopping criterion improves, divided
          by 5 each time it stalls for ``n_iter_no_change`` epochs (in ``fit``
          only: ``partial_fit`` has no stopping criterion, as in scikit-learn);
        - "inverse_time": ``eta0 / (1 + decay_rate * e)``;
        - "step": ``eta0 * decay_rate ** (number of milestones <= e)``;
        - "exponential": ``eta0 * exp(-decay_rate * e)``;
        - "pa1", "pa2": the passive-aggressive steps of Crammer et al. (2006),
          as scikit-learn's SGD has them (with ``solver="stochastic"``,
          ``optimizer="sgd"`` and the hinge loss for the classifier, the
          epsilon-insensitive loss for the regressor): ``eta0`` is their
          aggressiveness ``C`` ("auto": 1.0) and each sample's step is
          ``min(C, loss / ||x||^2)`` (PA-I) or ``loss / (||x||^2 + 1 / (2 C))``
          (PA-II). ``C`` also sets the penalty's shrink, as in scikit-learn;
          ``penalty=None`` gives the classic algorithms.

    eta0 : "auto" or float, default="auto"
        Initial step size. "auto" derives it from the data: ``1 / L`` for
        "sgd", "momentum" and "nesterov", with ``L`` the curvature of the loss
        times the largest eigenvalue of the (weighted) Gram matrix for
        "batch" (a few power iterations), the largest squared row norm for
        "stochastic", in between for "minibatch", plus the L2 strength; with
        momentum in the stochastic loops it is further multiplied by
        ``1 - momentum``. For "adagrad", "rmsprop", "adam" and "adamw",
        which move each coordinate by about their rate per update, "auto" is a
        distance from the data: the largest diagonal-Newton step
        ``|g_j| / h_j`` of one gradient pass at the start, divided by
        ``8 sqrt(S)`` (Adam), ``16 sqrt(S)`` (RMSprop) or ``S**(1/4) / 2``
        (Adagrad) for ``S`` updates per epoch, capped so that the first update
        cannot overshoot (see the user guide). "normalized" takes 0.5, as Vowpal
        Wabbit does. The value used is stored in ``eta0_``.

    precondition : {"auto", "diagonal"} or None, default="auto"
        Per-coordinate step sizes for "sgd", "momentum" and "nesterov" in the
        "batch" and "minibatch" loops. "diagonal" is the Jacobi
        preconditioner: the step of coefficient ``j`` is ``eta * p_j`` with
        ``p_j = 1 / (c * mean_i(w_i x_ij^2) + l2)`` (``c`` the loss's
        curvature bound; the intercept's ``1 / c``), stored in
        ``preconditioner_``; ``eta0="auto"`` is then ``1 / L`` of the
        preconditioned problem. Descent then no longer crawls along columns
        of small scale: the number of epochs depends on how correlated the
        columns are, not on their units. The objective and its optimum are
        unchanged. For ``optimizer="lbfgs"`` it is a change of variables,
        ``theta_j / sqrt(p_j)``, so that L-BFGS's first guess of the inverse
        Hessian (a multiple of the identity) fits columns of any scale: on
        one-hot and TF-IDF columns of very different frequencies it cuts the
        iterations several-fold. "auto" uses it for L-BFGS when the diagonal
        is uneven (its largest entry over 10 times its smallest: columns of
        one scale gain nothing from it, and with fewer rows than columns it
        can cost iterations) and, when
        ``eta0="auto"``, for the plain, momentum and Nesterov steps (a numeric
        ``eta0`` keeps its meaning, the step of every coordinate); never for
        the other optimizers or ``solver="stochastic"``. None never uses it.
        ``partial_fit`` takes the scales of its first chunk and keeps them,
        as it does ``eta0_``.

    power_t : float, default=0.5
        Exponent of the "invscaling" schedule.

    decay_rate : float, default=0.1
        Decay of the "inverse_time" and "exponential" schedules, and the
        factor applied at each milestone of the "step" schedule.

    milestones : array-like of int or None, default=None
        Epochs at which the "step" schedule multiplies the rate by
        ``decay_rate``. None means ``(max_iter // 2, 3 * max_iter // 4)``.

    momentum : float, default=0.9
        Velocity decay of "momentum" and "nesterov", in [0, 1). In the
        "batch" loop (without L1) it is the ceiling of a ramp: the velocity
        is dropped whenever the step points uphill (the gradient restart of
        O'Donoghue and Candes), and the ``k``-th update after such a restart
        uses ``min(momentum, (k - 1) / (k + 2))``.

    beta_1 : float, default=0.9
        Decay of the first-moment average of "adam" and "adamw", in [0, 1).

    beta_2 : float, default=0.999
        Decay of the squared-gradient average of "adam", "adamw" and
        "rmsprop", in [0, 1).

    optimizer_epsilon : float, default=1e-8
        Added to the root of the squared-gradient average by "adagrad",
        "rmsprop", "adam" and "adamw" to avoid division by zero.

    clip_value : float or None, default=None
        If set, each coordinate of the loss gradient is clipped to
        ``[-clip_value, clip_value]`` before the update.

    clip_norm : float or None, default=None
        If set, the loss gradient is rescaled so its Euclidean norm is at most
        ``clip_norm`` before the update.

    max_iter : int, default=1000
        Maximum number of epochs (passes over the training data) in ``fit``.

    tol : float or None, default=1e-4
        Convergence tolerance. ``fit`` stops only on a certificate: the
        optimality residual of the objective (the norm of its gradient, or of
        its minimum-norm subgradient with L1) at most ``tol`` times its value
        at the start. The batch solver measures it every epoch at no extra
        cost; the stochastic and mini-batch solvers check (one extra pass)
        when the objective has not fallen by ``tol`` (relative) for
        ``n_iter_no_change`` epochs, and halve the step size when the check
        fails. Non-smooth losses ("hinge", "perceptron", "absolute_error",
        "epsilon_insensitive", "quantile"), whose subgradient does not vanish
        at the optimum, are certified by the mean of the last epochs'
        subgradients, taken at the mean of their weights (which ``fit`` then
        returns) together with its linearisation error, both within ``tol``.
        ``optimizer="lbfgs"`` checks the same residual after each iteration.
        A fit that ends without a certificate warns ``ConvergenceWarning``
        saying how far it is; ``convergence_`` records it. With
        ``early_stopping`` it is the improvement the validation score must
        make. None disables stopping: every one of ``max_iter`` epochs runs.

    n_iter_no_change : int, default=5
        Epochs without improvement of the objective before a certificate check
        (and, with ``early_stopping``, of the validation score before
        stopping); after each failed check the wait grows by as many epochs.

    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the training data (stratified for
        classifiers) and stop when its score stops improving. ``fit`` only:
        ``partial_fit`` raises a ValueError when it is True, as in
        scikit-learn (a stream has no held-out set).

    validation_fraction : float, default=0.1
        Share of the training data held out for early stopping, in (0, 1).

    shuffle : bool or "blocks", default=True
        Whether the stochastic and mini-batch loops visit the samples in a new
        random order each epoch. The batch loop never needs to. "blocks"
        shuffles runs of ``batch_size`` consecutive rows instead of rows, the
        runs' boundaries moved by a random offset each epoch: a mini-batch
        then reads its rows in sequence (in one to three runs), which on
        large dense data takes about half the epoch time of a full shuffle.
        Shuffle the rows once first (e.g. ``sklearn.utils.shuffle``) if their
        order carries information, such as data sorted by label or by time.
        With ``solver="stochastic"`` a run is one sample and "blocks" is
        ``True``.

    random_state : int, RandomState instance or None, default=None
        Seeds the shuffling and the early-stopping split. The same integer
        gives the same model bit for bit.

    warm_start : bool, default=False
        When True, ``fit`` starts from the previous solution: it is
        ``fit(X, y, coef_init=coef_, intercept_init=intercept_)`` (an init
        passed explicitly wins), as in scikit-learn. Only the weights carry
        over: the update counter ``t_``, the learning-rate schedule and the
        optimizer's state (momentum velocity, Adam/RMSprop/Adagrad moments,
        the feature scales of "normalized") restart, and the epochs are
        shuffled as in a fresh fit, so two warm-started fits of ``max_iter``
        epochs are not one fit of ``2 * max_iter``. To continue a run
        (counter, schedule and moments included), use ``partial_fit``.
        A different number of features raises a ValueError.

    average : bool or int, default=False
        When True, ``coef_`` and ``intercept_`` are the average of the
        weights after every update (averaged SGD, Polyak & Juditsky 1992), as
        in scikit-learn's SGD; an int ``n >= 1`` averages from the ``n``-th
        update on (``t_`` counts updates: samples for "stochastic", batches
        for "minibatch"), and ``coef_`` stays the last iterate until then.
        The last iterate is kept for ``partial_fit``, which continues from it
        and from the running average (both survive pickling); a
        ``warm_start`` fit starts from ``coef_``, the average, and a fresh
        one. Plain SGD with ``solver="stochastic"`` keeps the average lazily
        (Xu 2011), at O(non-zeros of the row) per update as without
        averaging; the other optimizers and "minibatch" update it densely,
        as they update the weights. ``solver="batch"`` (and so
        ``optimizer="lbfgs"``) raises a ValueError: one update per epoch
        leaves no noise to average. With ``tol``, the certificate of
        convergence judges the average; ``loss_curve_`` still records the
        objective met by the iterates during each epoch.

    verbose : int, default=0
        If positive, print one line per epoch (objective, learning rate,
        updates, time).

    epsilon : float, default=0.1
        Width of the insensitive zone of "epsilon_insensitive" and
        "squared_epsilon_insensitive", and the switch point of "huber".

    quantile : float, default=0.5
        The quantile estimated by the "quantile" (pinball) loss, in (0, 1).

    gamma : float, default=2.0
        Focusing parameter of the "focal" loss; 0 gives the log loss.

    n_jobs : int or None, default=None
        Threads for the batch gradient on large data (None: all cores; -1 as
        well, as in joblib). The rows are always split into the same blocks and
        summed in the same order, so the model does not depend on it.

    on_divergence : {"raise", "recover"}, default="raise"
        What to do when the loss or the weights become infinite or NaN during
        an epoch. "raise": stop and raise :class:`~sklearn_gd.DivergenceError`
        naming the learning rate. "recover" (for long unattended runs):
        restore the weights and optimizer state of the epoch's start, divide
        the learning rate (and ``eta0_``) by 10, warn with
        :class:`~sklearn_gd.DivergenceWarning` and redo the epoch; after 10
        such cuts it raises.
"""

SHARED_ATTRIBUTES = """\
n_iter_ : int
        Epochs run by the last ``fit``; for ``partial_fit``, the number of
        calls so far (added to those of a ``fit`` it continues).

    t_ : int
        Number of optimizer updates made so far: by the last ``fit`` (which
        restarts it, ``warm_start`` or not), plus those of the
        ``partial_fit`` calls since.

    loss_curve_ : list of float
        Training objective per epoch: the weighted mean of the losses met
        during the epoch plus the penalty at its end. For "batch" that is the
        loss at the weights before the epoch's update; for "stochastic" and
        "minibatch" each sample's loss is taken before the update it feeds (a
        running average, noisier, slightly above the loss at the epoch's end);
        for "lbfgs" the objective after each iteration. ``fit`` records all of
        its epochs. ``partial_fit`` appends one entry per call and keeps only
        the most recent ones, so that an endless stream takes bounded memory:
        when the list would pass 10,000 entries, its oldest are dropped
        (earlier ``fit`` epochs included) down to 9,000, at most about 0.3 MB
        in memory and 90 kB in a pickle. The last entry is always epoch
        ``n_iter_``: entry ``k`` (from 0) is epoch
        ``n_iter_ - len(loss_curve_) + k + 1``.

    eta0_ : float
        The initial step size used (the value "auto" resolved to); NaN for
        ``optimizer="lbfgs"``, which takes no step size.

    preconditioner_ : ndarray of shape (n_features + 1,) or None
        The diagonal preconditioner of the steps (see ``precondition``):
        coordinate ``j``'s step size is ``learning_rate_ * preconditioner_[j]``,
        the intercept's last (for L-BFGS, its variables are the weights divided
        by the square roots); None without one.

    schedule_ : str
        The schedule the last ``fit`` or ``partial_fit`` call used:
        ``learning_rate`` itself, or what "auto" resolved to for it.

    learning_rate_ : float
        The step size the next epoch would start from (for the "adaptive"
        schedule, after any division its last epoch triggered; the per-update
        schedules "invscaling" and "optimal" scale it further per update).

    convergence_ : Convergence
        How the last ``fit`` ended: ``converged`` (the certificate met
        ``tol``), ``criterion`` ("gradient", "subgradient", "lbfgs",
        "validation" or "none"), ``residual`` (the optimality residual at the
        returned weights relative to its start value), ``error`` (the
        linearisation error of the subgradient test, relative to the
        objective) and ``step_cuts`` (halvings of the step size after failed
        checks).

    optimizer_ : str
        The update rule the last ``fit`` or ``partial_fit`` call used:
        ``optimizer`` itself, or what "auto" resolved to for it.

    optimizer_state_ : dict
        ``"first_moment"`` and ``"second_moment"``: the optimizer's running
        averages, arrays of shape (n_outputs, n_features + 1) whose last column
        belongs to the intercept. For "normalized", ``"first_moment"`` holds
        the feature scales ``s_j`` (the same in every row) and, in its last
        column, the mean of ``sum_j (x_j / s_j)**2`` over the updates;
        ``"second_moment"`` the sums of squared gradients.

    n_features_in_ : int
        Number of features seen during ``fit``.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during ``fit``, when X has string column names.
"""

SHARED_NOTES = """\
One estimator may be shared by threads. ``fit``, ``partial_fit`` and
    ``set_params`` hold a lock of the estimator, so that concurrent calls run
    one at a time and give the model of some sequential order of them;
    ``predict``, ``decision_function``, the probabilities and pickling read
    the model between two such calls, never halfway through one (a
    ``predict`` issued during a ``fit`` waits for it to finish). The lock is
    re-entrant, so callbacks may call the estimator; copies, clones and
    unpickled models have locks of their own.
"""

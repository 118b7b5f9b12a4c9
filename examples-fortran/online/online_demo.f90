!> Online training inside a production run: a reduced Lorenz-96 forecast
!> code (l96_host.f90) learns the closure of its unresolved fast
!> variables from observations while it runs, through one zoo_step every
!> W steps, and is compared with the closures a modeller would try first.
!>
!> Usage: online_demo [--quick] [output directory]
!>   --quick   the test suite's version: truth 1 only, no hyper-parameter
!>             search (the values the full run selects on truth 1), 2
!>             seeds, no offline fits; exits 1 unless the online closure
!>             beats no closure on the test windows by a clear margin and
!>             beats the linear closure with its worst seed.
!>
!> Data: the two-scale model (l96_truth.f90) observed every 0.05 time
!> units, without noise: training [0, 50), validation [50, 100), test
!> [100, 200). The full run repeats everything on NTRUTHS trajectories
!> (truth seeds 1, 2, 3: different initial states, each spun up). The
!> forecast code runs its forecast cycle (direct insertion of the
!> observation every 0.4 time units) through the whole record. Closures,
!> all g(X_k) added to dX_k/dt:
!>   none        g = 0 (the host as it was)
!>   online      a 1-16-1 tanh network trained by zoo during the training
!>               period from the forecast errors alone, then frozen
!>   offline     the same network fitted (zoo_model_fit) to the true
!>               coupling term -(hc/b) sum_j Y_{j,k} at the training times
!>   linear      g = a + b X fitted by least squares to the same pairs
!>   polynomial  g = c_0 + ... + c_d X^d fitted by least squares to the same
!>               pairs (Wilks 2005; Arnold et al. 2013), d = 0 .. SELECT_DEGREE
!>               chosen on the validation period
!> Every hyper-parameter is chosen on each truth's own validation period
!> (median over 3 seeds); on truths 2 and 3 the networks are also run with
!> the hyper-parameters chosen on truth 1 (the *_hp_truth1 rows). The
!> numbers are the mean squared forecast error on the test period, median
!> and [min, max] over 5 network and zoo seeds.
!> Writes results.json, and for truth 1 errors.dat, leads.dat,
!> closure.dat, scatter.dat and training.dat (for plot_online.py).
program online_demo
  use, intrinsic :: iso_c_binding
  use, intrinsic :: ieee_arithmetic, only: ieee_is_finite, ieee_is_nan, ieee_value, ieee_quiet_nan
  use zoo
  use l96_observations
  use l96_truth, only: make_truth
  use l96_host, only: run, rk4_step, sq_error, OBS_EVERY, CYCLE, DT
  use online_coupling
  implicit none

  integer, parameter :: NTRUTHS = 3, HIDDEN = 16, NSEEDS = 5, NSELECT = 3, QUICK_SEEDS = 2
  !> Periods in observation intervals: training, validation, test.
  integer, parameter :: NTRAIN = 1000, NVAL = 1000, NTEST = 2000
  integer, parameter :: NOBS = NTRAIN + NVAL + NTEST, LEADS = CYCLE / OBS_EVERY
  !> The closures. ONLINE and OFFLINE use the hyper-parameters selected on
  !> the truth's own validation period; ONLINE_HP1 and OFFLINE_HP1, run on
  !> truths 2 and 3 only, use those selected on truth 1 (a check that the
  !> comparison does not hinge on where the selection is made).
  integer, parameter :: NONE = 1, ONLINE = 2, OFFLINE = 3, LINEAR = 4, POLY = 5, NMAIN = 5
  !> ONLINE_AUTO (full run) is ONLINE with zoo's default lr=auto instead of
  !> the selected learning rate (window, q and mu as selected).
  integer, parameter :: ONLINE_HP1 = 6, OFFLINE_HP1 = 7, ONLINE_AUTO = 8, NMETHODS = 8
  character(len=*), parameter :: NAMES(NMETHODS) = [character(len=17) :: 'none', 'online', 'offline', 'linear', &
       'polynomial', 'online_hp_truth1', 'offline_hp_truth1', 'online_lr_auto']
  !> The order of the printed tables.
  integer, parameter :: ORDER(NMETHODS) = [NONE, LINEAR, POLY, ONLINE, ONLINE_AUTO, OFFLINE, ONLINE_HP1, OFFLINE_HP1]
  !> The polynomial closure: degrees 0 .. SELECT_DEGREE compete on the
  !> validation period. Degrees up to MAX_DEGREE are fitted and scored too,
  !> for the record only (full run): their validation error keeps falling
  !> slowly, but their forecasts start to diverge.
  integer, parameter :: SELECT_DEGREE = 8, MAX_DEGREE = 20
  !> --quick requires the online closure's test error below this fraction
  !> of no closure's (full runs measure about 0.025).
  real(dp), parameter :: QUICK_MARGIN = 0.1_dp

  !> zoo's settings for online training; lr = AUTO_LR stands for lr=auto.
  type :: online_config
     integer :: window = 20, q = 2
     real(dp) :: lr = 0.01_dp, mu = 0.02_dp
  end type online_config
  real(dp), parameter :: AUTO_LR = 0
  !> zoo_model_fit's settings for the offline fit.
  type :: fit_config
     integer :: epochs = 100
     real(dp) :: lr = 0.01_dp, weight_decay = 0
  end type fit_config
  type :: text
     character(len=:), allocatable :: s
  end type text

  !> The searches: online window x lr (at q and mu of SEARCH_START), then
  !> q, then mu, each at the best so far; offline epochs x lr x decay.
  type(online_config), parameter :: SEARCH_START = online_config(40, 2, 0.01_dp, 0.02_dp)
  integer, parameter :: WINDOWS(3) = [20, 40, 80], QS(3) = [1, 4, 8], EPOCHS(3) = [30, 100, 300]
  real(dp), parameter :: LRS(3) = [0.01_dp, 0.03_dp, 0.1_dp], MUS(2) = [0.005_dp, 0.05_dp]
  real(dp), parameter :: FIT_LRS(2) = [0.001_dp, 0.01_dp], DECAYS(2) = [0.0_dp, 0.01_dp]
  !> What the full run selects on truth 1 (used by --quick).
  type(online_config), parameter :: QUICK_ONLINE = online_config(20, 4, 0.03_dp, 0.005_dp)

  real(dp), allocatable :: coupling(:, :), pairs_x(:, :), pairs_u(:, :)
  !> Test error per seed, method and truth.
  real(dp) :: test_mse(NSEEDS, NMETHODS, NTRUTHS) = 0, seconds(NMETHODS, NTRUTHS) = 0
  !> A diagnostic no method trains on: mean squared difference between
  !> g(X_k) and the true coupling term over the test period.
  real(dp) :: coupling_mse(NSEEDS, NMETHODS, NTRUTHS) = 0
  !> The current truth's error at every observation of the whole run
  !> (median over seeds) and one closure per method (seed 1 for networks).
  real(dp) :: run_error(NOBS, NMETHODS) = 0
  real(dp), allocatable :: online_losses(:, :)
  type(zoo_model) :: closures(NMETHODS)
  !> What each truth selected and fitted.
  type(online_config) :: best_online(NTRUTHS)
  type(fit_config) :: best_fit(NTRUTHS)
  real(dp) :: linear_a(NTRUTHS) = 0, linear_b(NTRUTHS) = 0
  integer :: poly_degree(NTRUTHS) = 0
  !> Coefficients of X^0 .. X^MAX_DEGREE of the selected polynomial, and the
  !> validation and test error of every degree (selection uses validation).
  real(dp) :: poly_coef(0:MAX_DEGREE, NTRUTHS) = 0
  real(dp) :: poly_val(0:MAX_DEGREE, NTRUTHS) = 0, poly_test(0:MAX_DEGREE, NTRUTHS) = 0
  type(text) :: selection_log(NTRUTHS)
  real(dp) :: x_mean, x_std, t_start, total_seconds
  integer :: nseeds_run, ntruths_run, last_degree, truth, i, train_steps
  logical :: quick
  character(len=512) :: arg, outdir

  quick = .false.
  outdir = 'online-output'
  do i = 1, command_argument_count()
     call get_command_argument(i, arg)
     if (arg == '--quick') then
        quick = .true.
     else
        outdir = arg
     end if
  end do
  nseeds_run = merge(QUICK_SEEDS, NSEEDS, quick)
  ntruths_run = merge(1, NTRUTHS, quick)
  last_degree = merge(SELECT_DEGREE, MAX_DEGREE, quick)
  call execute_command_line('mkdir -p "' // trim(outdir) // '"')
  train_steps = NTRAIN * OBS_EVERY

  write (*, '(a)') 'zoo online demo: a reduced Lorenz-96 forecast code learns its closure during its production run'
  write (*, '(a, i0, a, i0, a, i0, a)') 'observations every 0.05 time units: training ', NTRAIN, &
       ', validation ', NVAL, ', test ', NTEST, ' (later in time, never trained on)'
  call clock(t_start)
  do truth = 1, ntruths_run
     selection_log(truth)%s = ''
     write (*, '(/, a, i0, a)') '==== truth ', truth, ' (hyper-parameters selected on its own validation period)'
     call make_data()
     call evaluate_none()
     call evaluate_linear()
     call evaluate_polynomial()
     if (.not. quick) call evaluate_offline()
     call evaluate_online()
     call print_table()
     if (truth == 1) call write_plot_data()
     do i = 1, NMETHODS
        call zoo_model_free(closures(i))
     end do
  end do
  total_seconds = elapsed(t_start)
  if (.not. quick) call print_summary()
  write (*, '(a, f8.1, a)') 'total wall time ', total_seconds, ' s'
  call write_results()
  if (quick) call check_quick()

contains

  ! ---- data ----------------------------------------------------------------

  !> Observations of the two-scale model from truth seed `truth`, the
  !> (X, true coupling) pairs of the training period, and the input
  !> normalisation (training period).
  subroutine make_data()
    if (allocated(obs)) deallocate(obs)
    if (allocated(coupling)) deallocate(coupling)
    allocate(obs(NX, 0:NOBS), coupling(NX, 0:NOBS))
    call make_truth(truth, NOBS, obs, coupling)
    pairs_x = reshape(obs(:, 0:NTRAIN - 1), [1, NX * NTRAIN])
    pairs_u = reshape(coupling(:, 0:NTRAIN - 1), [1, NX * NTRAIN])
    x_mean = sum(pairs_x) / size(pairs_x)
    x_std = sqrt(sum((pairs_x - x_mean)**2) / size(pairs_x))
  end subroutine make_data

  !> Mean of the recorded squared errors at observations j0 .. j1.
  function mean_error(j0, j1) result(e)
    integer, intent(in) :: j0, j1
    real(dp) :: e
    e = sum(sq_error(j0:j1)) / (j1 - j0 + 1)
  end function mean_error

  !> Mean squared difference between `model`'s g(X_k) and the true
  !> coupling term over the test period.
  function coupling_error(model) result(e)
    type(zoo_model), intent(in) :: model
    real(dp) :: e
    real(dp), allocatable :: x(:, :), g(:, :)
    x = reshape(obs(:, NTRAIN + NVAL + 1:NOBS), [1, NX * NTEST])
    allocate(g(1, NX * NTEST))
    call zoo_model_forward_batch(model, x, g)
    e = sum((g(1, :) - reshape(coupling(:, NTRAIN + NVAL + 1:NOBS), [NX * NTEST]))**2) / (NX * NTEST)
  end function coupling_error

  function validation_error() result(e)
    real(dp) :: e
    e = mean_error(NTRAIN + 1, NTRAIN + NVAL)
  end function validation_error

  function test_error() result(e)
    real(dp) :: e
    e = mean_error(NTRAIN + NVAL + 1, NOBS)
  end function test_error

  ! ---- the closures ----------------------------------------------------------

  !> The closure network of `seed`: 1-16-1 tanh whose first layer takes
  !> (X - mean) / std (folded into its weights) and whose output layer
  !> starts at a tenth of its drawn size, so g starts near 0.
  subroutine new_network(seed, model)
    integer, intent(in) :: seed
    type(zoo_model), intent(inout) :: model
    real(dp) :: p(3 * HIDDEN + 1)
    call zoo_model_new_mlp(model, [1, HIDDEN, 1], 'tanh', int(seed, c_int64_t))
    call zoo_model_get_params(model, p)
    p(HIDDEN + 1:2 * HIDDEN) = p(HIDDEN + 1:2 * HIDDEN) - p(1:HIDDEN) * x_mean / x_std
    p(1:HIDDEN) = p(1:HIDDEN) / x_std
    p(2 * HIDDEN + 1:3 * HIDDEN) = 0.1_dp * p(2 * HIDDEN + 1:3 * HIDDEN)
    call zoo_model_set_params(model, p)
  end subroutine new_network

  !> g = a + b X as a model (a 1-1 linear layer: weight b, bias a).
  subroutine new_linear(a, b, model)
    real(dp), intent(in) :: a, b
    type(zoo_model), intent(inout) :: model
    call zoo_model_new_mlp(model, [1, 1], 'tanh', 0_c_int64_t)
    call zoo_model_set_params(model, [b, a])
  end subroutine new_linear

  !> g = c(0) + c(1) X + ... + c(d) X^d as a model (zoo's polynomial
  !> features X .. X^d, then a linear layer whose bias is c(0)).
  subroutine new_polynomial(c, model)
    real(dp), intent(in) :: c(0:)
    type(zoo_model), intent(inout) :: model
    integer :: d
    d = size(c) - 1
    if (d == 0) then
       call new_linear(c(0), 0.0_dp, model)
    else
       call zoo_model_new_polynomial(model, 1, d, 1, 0_c_int64_t)
       call zoo_model_set_params(model, [c(1:d), c(0)])
    end if
  end subroutine new_polynomial

  !> The host's production run with a frozen closure, up to observation
  !> `last`.
  subroutine run_frozen(model, last)
    type(zoo_model), intent(in) :: model
    integer, intent(in) :: last
    call use_frozen_closure(model)
    call run(last * OBS_EVERY)
  end subroutine run_frozen

  !> The host's production run with online training during the training
  !> period, up to observation `last`; `trained` receives the weights.
  subroutine run_online(config, seed, last, trained)
    type(online_config), intent(in) :: config
    integer, intent(in) :: seed, last
    type(zoo_model), intent(inout) :: trained
    type(zoo_model) :: initial
    character(len=:), allocatable :: lr
    call new_network(seed, initial)
    lr = num_text(config%lr)
    if (config%lr == AUTO_LR) lr = 'auto'
    call start_online_training(initial, 'estimator=rge-central q=' // int_text(config%q) // ' lr=' // &
         lr // ' mu=' // num_text(config%mu) // ' seed=' // int_text(seed), &
         config%window, train_steps, rk4_step, OBS_EVERY)
    call zoo_model_free(initial)
    call run(last * OBS_EVERY)
    call zoo_model_free(trained)
    call stop_online_training(trained)
  end subroutine run_online

  !> The network of `seed` fitted to the training pairs.
  subroutine fit_offline(config, seed, model)
    type(fit_config), intent(in) :: config
    integer, intent(in) :: seed
    type(zoo_model), intent(inout) :: model
    call zoo_model_free(model)
    call new_network(seed, model)
    call zoo_model_fit(model, pairs_x, pairs_u, 'batch=256 epochs=' // int_text(config%epochs) // ' lr=' // &
         num_text(config%lr) // ' weight_decay=' // num_text(config%weight_decay) // ' seed=' // int_text(seed))
  end subroutine fit_offline

  ! ---- the five methods ------------------------------------------------------

  !> Runs the frozen closure `model` over the whole record and records it
  !> as the (seed-independent) result of `method`; `model` becomes
  !> closures(method).
  subroutine record_frozen(method, model, t0)
    integer, intent(in) :: method
    type(zoo_model), intent(in) :: model
    real(dp), intent(in) :: t0
    call run_frozen(model, NOBS)
    test_mse(:, method, truth) = test_error()
    coupling_mse(:, method, truth) = coupling_error(model)
    run_error(:, method) = sq_error
    closures(method) = model
    seconds(method, truth) = elapsed(t0)
  end subroutine record_frozen

  subroutine evaluate_none()
    type(zoo_model) :: model
    real(dp) :: t0
    call clock(t0)
    call new_linear(0.0_dp, 0.0_dp, model)
    call record_frozen(NONE, model, t0)
  end subroutine evaluate_none

  !> Least squares of the true coupling term on X over the training pairs.
  subroutine evaluate_linear()
    type(zoo_model) :: model
    real(dp) :: t0, u_mean
    call clock(t0)
    u_mean = sum(pairs_u) / size(pairs_u)
    linear_b(truth) = sum((pairs_x - x_mean) * (pairs_u - u_mean)) / sum((pairs_x - x_mean)**2)
    linear_a(truth) = u_mean - linear_b(truth) * x_mean
    call new_linear(linear_a(truth), linear_b(truth), model)
    call record_frozen(LINEAR, model, t0)
  end subroutine evaluate_linear

  !> Least squares of the true coupling term on 1, X, .., X^d over the
  !> training pairs for every d = 0 .. SELECT_DEGREE; the degree with the
  !> lowest validation forecast error is kept. (Each degree's test error,
  !> and both errors of degrees above SELECT_DEGREE, are recorded for the
  !> report only; they play no part in the choice.)
  subroutine evaluate_polynomial()
    type(zoo_model) :: model
    real(dp) :: t0, best, cz(0:MAX_DEGREE)
    real(dp), allocatable :: a(:, :), z(:)
    integer :: d, j
    call clock(t0)
    z = (pairs_x(1, :) - x_mean) / x_std
    allocate(a(size(z), 0:MAX_DEGREE))
    do j = 0, MAX_DEGREE
       a(:, j) = z**j
    end do
    best = huge(1.0_dp)
    poly_val(:, truth) = ieee_value(1.0_dp, ieee_quiet_nan)
    poly_test(:, truth) = poly_val(:, truth)
    do d = 0, last_degree
       call least_squares(a(:, 0:d), pairs_u(1, :), cz(0:d))
       call new_polynomial(raw_coefficients(cz(0:d)), model)
       call run_frozen(model, NOBS)
       call zoo_model_free(model)
       poly_val(d, truth) = validation_error()
       poly_test(d, truth) = test_error()
       if (d <= SELECT_DEGREE .and. ieee_is_finite(poly_val(d, truth)) .and. poly_val(d, truth) < best) then
          best = poly_val(d, truth)
          poly_degree(truth) = d
          poly_coef(:, truth) = 0
          poly_coef(0:d, truth) = raw_coefficients(cz(0:d))
       end if
    end do
    write (*, '(a, i0, a, *(es10.3))') 'polynomial closure: degree ', poly_degree(truth), &
         ' selected on validation; validation MSE by degree 0..: ', poly_val(0:last_degree, truth)
    call new_polynomial(poly_coef(0:poly_degree(truth), truth), model)
    call record_frozen(POLY, model, t0)
  end subroutine evaluate_polynomial

  !> The coefficients of 1, X, .., X^d of sum_j cz(j) ((X - mean) / std)^j.
  function raw_coefficients(cz) result(c)
    real(dp), intent(in) :: cz(0:)
    real(dp) :: c(0:size(cz) - 1)
    integer :: i, j
    c = 0
    do j = 0, size(cz) - 1
       do i = 0, j
          c(i) = c(i) + cz(j) * binomial(j, i) * (-x_mean)**(j - i) / x_std**j
       end do
    end do
  end function raw_coefficients

  function binomial(n, k) result(b)
    integer, intent(in) :: n, k
    real(dp) :: b
    integer :: i
    b = 1
    do i = 1, k
       b = b * (n - k + i) / i
    end do
  end function binomial

  !> The least-squares solution c of a c ~ y, by Householder QR.
  subroutine least_squares(a_in, y_in, c)
    real(dp), intent(in) :: a_in(:, :), y_in(:)
    real(dp), intent(out) :: c(:)
    real(dp), allocatable :: a(:, :), y(:), v(:)
    real(dp) :: alpha, beta
    integer :: m, n, j, k
    a = a_in
    y = y_in
    m = size(a, 1)
    n = size(a, 2)
    do j = 1, n
       v = a(j:m, j)
       alpha = -sign(norm2(v), v(1))
       v(1) = v(1) - alpha
       beta = dot_product(v, v)
       if (beta > 0) then
          do k = j, n
             a(j:m, k) = a(j:m, k) - 2 * v * dot_product(v, a(j:m, k)) / beta
          end do
          y(j:m) = y(j:m) - 2 * v * dot_product(v, y(j:m)) / beta
       end if
    end do
    do j = n, 1, -1
       c(j) = (y(j) - dot_product(a(j, j + 1:n), c(j + 1:n))) / a(j, j)
    end do
  end subroutine least_squares

  !> The supervised fit: epochs, lr and weight decay chosen by the median
  !> validation forecast error over NSELECT seeds, then every seed.
  subroutine evaluate_offline()
    type(fit_config) :: c
    type(zoo_model) :: model
    real(dp) :: score, best, t0
    real(dp), allocatable :: errors(:, :)
    integer :: ie, il, id
    call clock(t0)
    allocate(errors(NOBS, NSEEDS))
    best = huge(1.0_dp)
    do ie = 1, size(EPOCHS)
       do il = 1, size(FIT_LRS)
          do id = 1, size(DECAYS)
             c = fit_config(EPOCHS(ie), FIT_LRS(il), DECAYS(id))
             score = median_over_seeds_fit(c, model)
             call log_selection('offline', fit_label(c), score)
             if (score < best) then
                best = score
                best_fit(truth) = c
             end if
          end do
       end do
    end do
    call offline_seeds(best_fit(truth), OFFLINE, model, errors)
    call median_rows(errors, run_error(:, OFFLINE))
    seconds(OFFLINE, truth) = elapsed(t0)
    write (*, '(a, a)') 'offline fit selected on validation: ', fit_label(best_fit(truth))
    call clock(t0)
    if (truth > 1) then
       call offline_seeds(best_fit(1), OFFLINE_HP1, model, errors)
    else
       test_mse(:, OFFLINE_HP1, 1) = test_mse(:, OFFLINE, 1)
       coupling_mse(:, OFFLINE_HP1, 1) = coupling_mse(:, OFFLINE, 1)
    end if
    seconds(OFFLINE_HP1, truth) = elapsed(t0)
    call zoo_model_free(model)
  end subroutine evaluate_offline

  !> The fit of every seed with `c` (in `model`), recorded as `method`;
  !> OFFLINE keeps seed 1's network as its closure.
  subroutine offline_seeds(c, method, model, errors)
    type(fit_config), intent(in) :: c
    integer, intent(in) :: method
    type(zoo_model), intent(inout) :: model
    real(dp), intent(out) :: errors(:, :)
    integer :: seed
    do seed = 1, NSEEDS
       call fit_offline(c, seed, model)
       call run_frozen(model, NOBS)
       test_mse(seed, method, truth) = test_error()
       coupling_mse(seed, method, truth) = coupling_error(model)
       errors(:, seed) = sq_error
       if (seed == 1 .and. method == OFFLINE) call copy_model(model, closures(OFFLINE))
    end do
  end subroutine offline_seeds

  function median_over_seeds_fit(c, model) result(score)
    type(fit_config), intent(in) :: c
    type(zoo_model), intent(inout) :: model
    real(dp) :: score, scores(NSELECT)
    integer :: seed
    do seed = 1, NSELECT
       call fit_offline(c, seed, model)
       call run_frozen(model, NTRAIN + NVAL)
       scores(seed) = validation_error()
    end do
    score = median(scores)
  end function median_over_seeds_fit

  !> Online training: window and lr, then q and mu, chosen by the median
  !> validation error over NSELECT seeds (--quick: the selected values).
  subroutine evaluate_online()
    type(online_config) :: c, auto
    type(zoo_model) :: model
    real(dp) :: t0, best
    real(dp), allocatable :: errors(:, :)
    integer :: iw, il, iq, im, seed
    call clock(t0)
    allocate(errors(NOBS, NSEEDS))
    best_online(truth) = QUICK_ONLINE
    if (.not. quick) then
       best = huge(1.0_dp)
       do iw = 1, size(WINDOWS)
          do il = 1, size(LRS)
             c = online_config(WINDOWS(iw), SEARCH_START%q, LRS(il), SEARCH_START%mu)
             call consider(c, best)
          end do
       end do
       c = best_online(truth)
       do iq = 1, size(QS)
          c%q = QS(iq)
          call consider(c, best)
       end do
       c = best_online(truth)
       do im = 1, size(MUS)
          c%mu = MUS(im)
          call consider(c, best)
       end do
       write (*, '(a, a)') 'online training selected on validation: ', online_label(best_online(truth))
       if (truth == 1 .and. online_label(best_online(truth)) /= online_label(QUICK_ONLINE)) write (*, '(a)') &
            'note: --quick uses ' // online_label(QUICK_ONLINE) // '; set QUICK_ONLINE to the selection'
    end if
    if (allocated(online_losses)) deallocate(online_losses)
    do seed = 1, nseeds_run
       call run_online(best_online(truth), seed, NOBS, model)
       test_mse(seed, ONLINE, truth) = test_error()
       coupling_mse(seed, ONLINE, truth) = coupling_error(model)
       errors(:, seed) = sq_error
       if (.not. allocated(online_losses)) allocate(online_losses(windows_trained, nseeds_run))
       online_losses(:, seed) = window_losses(1:windows_trained)
       if (seed == 1) call copy_model(model, closures(ONLINE))
    end do
    call median_rows(errors(:, 1:nseeds_run), run_error(:, ONLINE))
    seconds(ONLINE, truth) = elapsed(t0)
    if (quick) then
       call zoo_model_free(model)
       return
    end if
    call clock(t0)
    do seed = 1, nseeds_run
       if (truth > 1) then
          call run_online(best_online(1), seed, NOBS, model)
          test_mse(seed, ONLINE_HP1, truth) = test_error()
          coupling_mse(seed, ONLINE_HP1, truth) = coupling_error(model)
       else
          test_mse(seed, ONLINE_HP1, 1) = test_mse(seed, ONLINE, 1)
          coupling_mse(seed, ONLINE_HP1, 1) = coupling_mse(seed, ONLINE, 1)
       end if
    end do
    seconds(ONLINE_HP1, truth) = elapsed(t0)
    call clock(t0)
    auto = best_online(truth)
    auto%lr = AUTO_LR
    do seed = 1, nseeds_run
       call run_online(auto, seed, NOBS, model)
       test_mse(seed, ONLINE_AUTO, truth) = test_error()
       coupling_mse(seed, ONLINE_AUTO, truth) = coupling_error(model)
    end do
    seconds(ONLINE_AUTO, truth) = elapsed(t0)
    call zoo_model_free(model)
  end subroutine evaluate_online

  !> Online training with `c`: the median validation error over NSELECT
  !> seeds; `c` becomes best_online(truth) when it beats `best`.
  subroutine consider(c, best)
    type(online_config), intent(in) :: c
    real(dp), intent(inout) :: best
    type(zoo_model) :: model
    real(dp) :: score, scores(NSELECT)
    integer :: seed
    do seed = 1, NSELECT
       call run_online(c, seed, NTRAIN + NVAL, model)
       scores(seed) = validation_error()
    end do
    call zoo_model_free(model)
    score = median(scores)
    call log_selection('online', online_label(c), score)
    if (score < best) then
       best = score
       best_online(truth) = c
    end if
  end subroutine consider

  ! ---- reporting -------------------------------------------------------------

  !> Whether `method` is run: no offline fits with --quick, and the
  !> truth-1 hyper-parameter runs only with the full run.
  logical function shown(m)
    integer, intent(in) :: m
    shown = .not. (quick .and. (m == OFFLINE .or. m > NMAIN))
  end function shown

  !> Whether `method` has its own row on truth `t` (on truth 1 the truth-1
  !> hyper-parameter runs are the main runs).
  logical function listed(m, t)
    integer, intent(in) :: m, t
    listed = shown(m) .and. .not. (t == 1 .and. (m == ONLINE_HP1 .or. m == OFFLINE_HP1))
  end function listed

  !> The median test error of `method` on truth `t` over the seeds run.
  function median_test(method, t) result(e)
    integer, intent(in) :: method, t
    real(dp) :: e
    e = median(test_mse(1:nseeds_run, method, t))
  end function median_test

  !> The methods compared when the network hyper-parameters are selected on
  !> each truth (protocol 1) or on truth 1 only (protocol 2).
  function rivals(protocol) result(r)
    integer, intent(in) :: protocol
    integer :: r(5)
    if (protocol == 1) then
       r = [NONE, LINEAR, POLY, ONLINE, OFFLINE]
    else
       r = [NONE, LINEAR, POLY, ONLINE_HP1, OFFLINE_HP1]
    end if
  end function rivals

  !> The number of truths on which `method` has the lowest median test
  !> error of the rivals of `protocol`; -1 when it is not one of them.
  integer function truths_won(method, protocol)
    integer, intent(in) :: method, protocol
    integer :: t, i, r(5)
    real(dp) :: lowest
    r = rivals(protocol)
    truths_won = -1
    if (.not. any(r == method)) return
    truths_won = 0
    do t = 1, ntruths_run
       lowest = huge(1.0_dp)
       do i = 1, size(r)
          if (shown(r(i))) lowest = min(lowest, median_test(r(i), t))
       end do
       if (median_test(method, t) <= lowest) truths_won = truths_won + 1
    end do
  end function truths_won

  subroutine print_table()
    integer :: i, m, n
    n = nseeds_run
    write (*, '(/, a, i0, a, i0, a)') 'truth ', truth, ': test mean squared forecast error (lead 0.05 to 0.4), ' // &
         'median [min, max] over ', n, ' seeds'
    write (*, '(a17, 3a12, a12, a9, a14)') 'closure', 'median', 'min', 'max', 'vs none', 'wall s', 'g vs coupling'
    do i = 1, NMETHODS
       m = ORDER(i)
       if (.not. listed(m, truth)) cycle
       write (*, '(a17, 3es12.3, f12.3, f9.1, es14.3)') NAMES(m), median_test(m, truth), &
            minval(test_mse(1:n, m, truth)), maxval(test_mse(1:n, m, truth)), &
            median_test(m, truth) / median_test(NONE, truth), seconds(m, truth), median(coupling_mse(1:n, m, truth))
    end do
    write (*, '(a)') '(g vs coupling: mean squared difference between g(X_k) and the true coupling term ' // &
         'on the test period, median; online never sees that term)'
    write (*, '(a, a)') 'online: ', online_label(best_online(truth))
    if (.not. quick) write (*, '(a, a)') 'offline: ', fit_label(best_fit(truth))
    write (*, '(a, f8.4, a, f8.4, a)') 'linear: g = ', linear_a(truth), ' + ', linear_b(truth), ' X'
    write (*, '(a, i0, a, *(es11.3))') 'polynomial: degree ', poly_degree(truth), ', coefficients of X^0..: ', &
         poly_coef(0:poly_degree(truth), truth)
    write (*, '(a, *(es10.3))') 'polynomial test MSE by degree 0..: ', poly_test(0:last_degree, truth)
  end subroutine print_table

  !> Over all truths: every (truth, seed) run pooled, and the truths won
  !> when the hyper-parameters are selected on each truth or on truth 1.
  subroutine print_summary()
    integer :: i, m
    real(dp), allocatable :: pooled(:)
    write (*, '(/, a, i0, a, i0, a)') 'all ', ntruths_run, ' truths: test MSE over all ', ntruths_run * nseeds_run, &
         ' (truth, seed) runs, median [min, max]; truths on which the method has the lowest median'
    write (*, '(a17, 3a12, 2a20)') 'closure', 'median', 'min', 'max', 'won, own selection', 'won, truth 1 sel.'
    do i = 1, NMETHODS
       m = ORDER(i)
       pooled = pack(test_mse(1:nseeds_run, m, 1:ntruths_run), .true.)
       write (*, '(a17, 3es12.3, 2a20)') NAMES(m), median(pooled), minval(pooled), maxval(pooled), &
            won_text(m, 1), won_text(m, 2)
    end do
    write (*, '(a)') '(won: truths with the lowest median among the closures of that selection; null: not one of them)'
    call print_pair(ONLINE, OFFLINE)
    call print_pair(ONLINE, POLY)
    call print_pair(ONLINE_HP1, OFFLINE_HP1)
    call print_pair(ONLINE_HP1, POLY)
    call print_pair(ONLINE_AUTO, ONLINE)
  end subroutine print_summary

  subroutine print_pair(m1, m2)
    integer, intent(in) :: m1, m2
    write (*, '(a, a, a, a, i0, a, i0, a, i0, a, i0, a)') trim(NAMES(m1)), ' beats ', trim(NAMES(m2)), ' on ', &
         pair_wins(m1, m2), ' of ', ntruths_run * nseeds_run, ' (truth, seed) runs and on ', truth_wins(m1, m2), &
         ' of ', ntruths_run, ' truths (median)'
  end subroutine print_pair

  !> (truth, seed) runs on which method m1's test error is below m2's.
  integer function pair_wins(m1, m2)
    integer, intent(in) :: m1, m2
    pair_wins = count(test_mse(1:nseeds_run, m1, 1:ntruths_run) < test_mse(1:nseeds_run, m2, 1:ntruths_run))
  end function pair_wins

  !> Truths on which method m1's median test error is below m2's.
  integer function truth_wins(m1, m2)
    integer, intent(in) :: m1, m2
    integer :: t
    truth_wins = 0
    do t = 1, ntruths_run
       if (median_test(m1, t) < median_test(m2, t)) truth_wins = truth_wins + 1
    end do
  end function truth_wins

  subroutine check_quick()
    real(dp) :: ratio, worst
    worst = maxval(test_mse(1:nseeds_run, ONLINE, 1))
    ratio = worst / test_mse(1, NONE, 1)
    write (*, '(a, f6.3, a, f5.2)') 'quick check: worst online seed / none = ', ratio, ', required below ', QUICK_MARGIN
    if (.not. (ratio < QUICK_MARGIN)) error stop 1
    write (*, '(a, f6.3, a)') 'quick check: worst online seed / linear = ', worst / test_mse(1, LINEAR, 1), &
         ', required below 1'
    if (.not. (worst < test_mse(1, LINEAR, 1))) error stop 1
    write (*, '(a)') 'quick check passed'
  end subroutine check_quick

  subroutine write_results()
    integer :: u, i, m, n, t
    real(dp), allocatable :: pooled(:)
    n = nseeds_run
    open (newunit=u, file=trim(outdir) // '/results.json', status='replace', action='write')
    write (u, '(a)') '{'
    write (u, '(3a)') '  "quick": ', trim(merge('true ', 'false', quick)), ','
    write (u, '(a)') '  "metric": "mean squared error of the forecast against the observations of X, over the ' // &
         'test period (every observation, leads 0.05 to 0.4 time units)",'
    write (u, '(a)') '  "coupling_mse": "diagnostic: mean squared difference between g(X_k) and the true coupling ' // &
         'term over the test period (online training never sees that term)",'
    write (u, '(a)') '  "observations": "X only, noise-free, every 0.05 time units; the forecast is re-initialised ' // &
         'by direct insertion every 0.4 time units",'
    if (quick) then
       write (u, '(a)') '  "selection": "quick run: online uses the values the full run selects on truth 1; the ' // &
            'polynomial degree is chosen on the validation period",'
    else
       write (u, '(a)') '  "selection": "online, offline: chosen on the validation period of the same truth, by the ' // &
            'median over seeds 1-3 (the *_hp_truth1 rows use those chosen on truth 1); polynomial degree: chosen ' // &
            'on the validation period of the same truth",'
    end if
    write (u, '(a, i0, a, i0, a, i0, a)') '  "periods_in_observations": {"train": ', NTRAIN, ', "validation": ', NVAL, &
         ', "test": ', NTEST, '},'
    write (u, '(a, es10.3, a, es10.3, a, i0, a, i0, a)') '  "time_units": {"dt_observation": ', DT_OBS, &
         ', "dt_forecast": ', DT, ', "analysis_every_steps": ', CYCLE, ', "observation_every_steps": ', OBS_EVERY, '},'
    write (u, '(a)', advance='no') '  "truth": {"model": "two-scale Lorenz-96", "K": 8, "J": 32, "F": 20, "h": 1, ' // &
         '"b": 10, "c": 10, "dt": 0.001, "spin_up": 10, "seeds": ['
    write (u, '(*(i0, :, ", "))', advance='no') (t, t = 1, ntruths_run)
    write (u, '(a)') ']},'
    write (u, '(a, i0, a)') '  "network": "1-', HIDDEN, '-1 tanh, input (X - mean) / std of the training observations",'
    write (u, '(a, *(i0, :, ", "))', advance='no') '  "seeds": [', (m, m = 1, n)
    write (u, '(a)') '],'
    write (u, '(a, f8.1, a)') '  "wall_s_total": ', total_seconds, ','
    write (u, '(a)') '  "truths": ['
    do t = 1, ntruths_run
       write (u, '(a, i0, a)') '    {"truth_seed": ', t, ','
       write (u, '(a)', advance='no') '     "methods": {'
       do i = 1, NMETHODS
          m = ORDER(i)
          if (.not. listed(m, t)) cycle
          if (i > 1) write (u, '(a)', advance='no') ','
          write (u, '(/, a)', advance='no') '       "' // trim(NAMES(m)) // '": {' // &
               num_list('test_mse', test_mse(1:n, m, t)) // ', "median": ' // num(median_test(m, t)) // &
               ', "min": ' // num(minval(test_mse(1:n, m, t))) // ', "max": ' // num(maxval(test_mse(1:n, m, t))) // &
               ', "median_vs_none": ' // num(median_test(m, t) / median_test(NONE, t)) // ', "wall_s": ' // &
               num(seconds(m, t)) // ', "coupling_mse_median": ' // num(median(coupling_mse(1:n, m, t))) // '}'
       end do
       write (u, '(/, a)') '     },'
       write (u, '(a, i0, a, i0, a, a, a, a, a)') '     "online": {"estimator": "rge-central", "window_steps": ', &
            best_online(t)%window, ', "q": ', best_online(t)%q, ', "lr": ', num(best_online(t)%lr), ', "mu": ', &
            num(best_online(t)%mu), ', "optimizer": "adam", "callback": "sequential"},'
       if (.not. quick) write (u, '(a, i0, a, a, a, a, a)') '     "offline": {"epochs": ', best_fit(t)%epochs, &
            ', "lr": ', num(best_fit(t)%lr), ', "weight_decay": ', num(best_fit(t)%weight_decay), ', "batch": 256},'
       write (u, '(a)') '     "linear": {"a": ' // num(linear_a(t)) // ', "b": ' // num(linear_b(t)) // '},'
       write (u, '(a, i0, a)') '     "polynomial": {"degree": ', poly_degree(t), ', ' // &
            num_list('coefficients_of_x_powers', poly_coef(0:poly_degree(t), t)) // ', ' // &
            num_list('validation_mse_by_degree', poly_val(0:last_degree, t)) // ', ' // &
            num_list('test_mse_by_degree', poly_test(0:last_degree, t)) // ', "selected_from_degrees": "0-' // &
            int_text(SELECT_DEGREE) // '"},'
       write (u, '(a)') '     "selection": ['
       if (len(selection_log(t)%s) > 0) write (u, '(a)') selection_log(t)%s(1:len(selection_log(t)%s) - 2)
       write (u, '(a)') '     ]'
       write (u, '(a)') '    }' // trim(merge(',', ' ', t < ntruths_run))
    end do
    write (u, '(a)') '  ],'
    write (u, '(a)') '  "summary": {'
    do i = 1, NMETHODS
       m = ORDER(i)
       if (.not. shown(m)) cycle
       pooled = pack(test_mse(1:n, m, 1:ntruths_run), .true.)
       write (u, '(a)', advance='no') '    "' // trim(NAMES(m)) // '": {"median_all_runs": ' // num(median(pooled)) // &
            ', "min": ' // num(minval(pooled)) // ', "max": ' // num(maxval(pooled)) // ', "truths_won_own_selection": ' &
            // won_text(m, 1) // ', "truths_won_truth1_selection": ' // won_text(m, 2) // ', ' // &
            num_list('median_per_truth', [(median_test(m, t), t = 1, ntruths_run)]) // '}'
       write (u, '(a)') ','
    end do
    if (.not. quick) then
       call write_pair(u, ONLINE, OFFLINE)
       call write_pair(u, ONLINE_HP1, OFFLINE_HP1)
       call write_pair(u, ONLINE_HP1, POLY)
       call write_pair(u, ONLINE_AUTO, ONLINE)
    end if
    write (u, '(a, i0, a, i0, a, i0, a, i0, a)') '    "online_vs_polynomial": {"runs_won": ', pair_wins(ONLINE, POLY), &
         ', "runs": ', n * ntruths_run, ', "truths_won": ', truth_wins(ONLINE, POLY), ', "truths": ', ntruths_run, '}'
    write (u, '(a)') '  }'
    write (u, '(a)') '}'
    close (u)
  end subroutine write_results

  subroutine write_pair(u, m1, m2)
    integer, intent(in) :: u, m1, m2
    write (u, '(a, i0, a, i0, a, i0, a, i0, a)') '    "' // trim(NAMES(m1)) // '_vs_' // trim(NAMES(m2)) // &
         '": {"runs_won": ', pair_wins(m1, m2), ', "runs": ', nseeds_run * ntruths_run, ', "truths_won": ', &
         truth_wins(m1, m2), ', "truths": ', ntruths_run, '},'
  end subroutine write_pair

  function won_text(m, protocol) result(s)
    integer, intent(in) :: m, protocol
    character(len=:), allocatable :: s
    if (truths_won(m, protocol) < 0) then
       s = 'null'
    else
       s = int_text(truths_won(m, protocol))
    end if
  end function won_text

  !> A number for JSON (null when it is not finite).
  function num(x) result(s)
    real(dp), intent(in) :: x
    character(len=:), allocatable :: s
    character(len=20) :: one
    if (.not. ieee_is_finite(x)) then
       s = 'null'
       return
    end if
    write (one, '(es12.5)') x
    s = trim(adjustl(one))
  end function num

  function num_list(key, values) result(s)
    character(len=*), intent(in) :: key
    real(dp), intent(in) :: values(:)
    character(len=:), allocatable :: s
    integer :: i
    s = '"' // key // '": ['
    do i = 1, size(values)
       s = s // num(values(i))
       if (i < size(values)) s = s // ', '
    end do
    s = s // ']'
  end function num_list

  subroutine log_selection(method, label, score)
    character(len=*), intent(in) :: method, label
    real(dp), intent(in) :: score
    selection_log(truth)%s = selection_log(truth)%s // '       {"method": "' // method // '", "config": "' // label // &
         '", "validation_mse_median": ' // num(score) // '},' // new_line('a')
    write (*, '(a8, 1x, a48, a, es10.3)') method, label, ' validation MSE ', score
  end subroutine log_selection

  function online_label(c) result(s)
    type(online_config), intent(in) :: c
    character(len=:), allocatable :: s
    character(len=80) :: buffer
    write (buffer, '(a, i0, a, i0, a, es8.1, a, es8.1)') 'W=', c%window, ' q=', c%q, ' lr=', c%lr, ' mu=', c%mu
    s = trim(buffer)
  end function online_label

  function fit_label(c) result(s)
    type(fit_config), intent(in) :: c
    character(len=:), allocatable :: s
    character(len=80) :: buffer
    write (buffer, '(a, i0, a, es8.1, a, es8.1)') 'epochs=', c%epochs, ' lr=', c%lr, ' weight_decay=', c%weight_decay
    s = trim(buffer)
  end function fit_label

  !> errors.dat (per forecast cycle over the run), leads.dat (test error
  !> per lead), closure.dat (g(X) per method), scatter.dat (training pairs)
  !> and training.dat (online training loss per window), for the current
  !> truth.
  subroutine write_plot_data()
    integer :: u, c, m, lead, i
    real(dp) :: xv, y(1, 1)
    character(len=*), parameter :: HEADER = '# none online offline linear polynomial'
    open (newunit=u, file=trim(outdir) // '/errors.dat', status='replace', action='write')
    write (u, '(a)') '# time ' // HEADER(3:)
    do c = 1, NOBS / LEADS
       write (u, '(f9.3, *(es12.4))') (c - 1) * LEADS * DT_OBS, &
            (sum(run_error((c - 1) * LEADS + 1:c * LEADS, m)) / LEADS, m = 1, NMAIN)
    end do
    close (u)
    open (newunit=u, file=trim(outdir) // '/leads.dat', status='replace', action='write')
    write (u, '(a)') '# lead ' // HEADER(3:)
    do lead = 1, LEADS
       write (u, '(f9.3, *(es12.4))') lead * DT_OBS, (sum(run_error(NTRAIN + NVAL + lead:NOBS:LEADS, m)) / &
            (NTEST / LEADS), m = 1, NMAIN)
    end do
    close (u)
    open (newunit=u, file=trim(outdir) // '/closure.dat', status='replace', action='write')
    write (u, '(a)') '# X ' // HEADER(3:)
    do i = 0, 200
       xv = minval(pairs_x) + i * (maxval(pairs_x) - minval(pairs_x)) / 200
       write (u, '(f9.4)', advance='no') xv
       do m = 1, NMAIN
          y = 0
          if (c_associated(closures(m)%ptr)) call zoo_model_forward_batch(closures(m), reshape([xv], [1, 1]), y)
          write (u, '(es12.4)', advance='no') y(1, 1)
       end do
       write (u, '()')
    end do
    close (u)
    open (newunit=u, file=trim(outdir) // '/scatter.dat', status='replace', action='write')
    write (u, '(a)') '# X "true coupling"'
    do i = 1, size(pairs_x, 2), 4
       write (u, '(f9.4, f10.4)') pairs_x(1, i), pairs_u(1, i)
    end do
    close (u)
    open (newunit=u, file=trim(outdir) // '/training.dat', status='replace', action='write')
    write (u, '(a, *(1x, a, i0, :))') '# time', ('seed', i, i = 1, size(online_losses, 2))
    do i = 1, size(online_losses, 1)
       write (u, '(f9.3, *(es12.4))') (i - 1) * best_online(truth)%window * DT, online_losses(i, :)
    end do
    close (u)
  end subroutine write_plot_data

  ! ---- small helpers ---------------------------------------------------------

  function int_text(i) result(s)
    integer, intent(in) :: i
    character(len=:), allocatable :: s
    character(len=20) :: buffer
    write (buffer, '(i0)') i
    s = trim(buffer)
  end function int_text

  function num_text(x) result(s)
    real(dp), intent(in) :: x
    character(len=:), allocatable :: s
    character(len=24) :: buffer
    write (buffer, '(es15.8)') x
    s = trim(adjustl(buffer))
  end function num_text

  subroutine copy_model(from, to)
    type(zoo_model), intent(in) :: from
    type(zoo_model), intent(inout) :: to
    real(dp) :: p(3 * HIDDEN + 1)
    call zoo_model_free(to)
    call zoo_model_get_params(from, p)
    call zoo_model_new_mlp(to, [1, HIDDEN, 1], 'tanh', 0_c_int64_t)
    call zoo_model_set_params(to, p)
  end subroutine copy_model

  function median(values) result(m)
    real(dp), intent(in) :: values(:)
    real(dp) :: m, sorted(size(values)), swap
    integer :: i, j, n
    sorted = values
    n = size(values)
    if (any(ieee_is_nan(values))) then
       m = ieee_value(1.0_dp, ieee_quiet_nan)
       return
    end if
    do i = 2, n
       do j = i, 2, -1
          if (sorted(j) >= sorted(j - 1)) exit
          swap = sorted(j)
          sorted(j) = sorted(j - 1)
          sorted(j - 1) = swap
       end do
    end do
    if (mod(n, 2) == 1) then
       m = sorted(n / 2 + 1)
    else
       m = (sorted(n / 2) + sorted(n / 2 + 1)) / 2
    end if
  end function median

  subroutine median_rows(a, m)
    real(dp), intent(in) :: a(:, :)
    real(dp), intent(out) :: m(:)
    integer :: i
    do i = 1, size(a, 1)
       m(i) = median(a(i, :))
    end do
  end subroutine median_rows

  subroutine clock(t)
    real(dp), intent(out) :: t
    integer(8) :: count, rate
    call system_clock(count, rate)
    t = real(count, dp) / rate
  end subroutine clock

  function elapsed(t0) result(s)
    real(dp), intent(in) :: t0
    real(dp) :: s, t
    call clock(t)
    s = t - t0
  end function elapsed

end program online_demo

!> Online training inside a production run: a reduced Lorenz-96 forecast
!> code (l96_host.f90) learns the closure of its unresolved fast
!> variables from observations while it runs, through one zoo_step every
!> W steps, and is compared with the closures a modeller would try first.
!>
!> Usage: online_demo [--quick] [output directory]
!>   --quick   the test suite's version: no hyper-parameter search (the
!>             values the full run selects), 2 seeds, no offline fits;
!>             exits 1 unless the online closure beats no closure on the
!>             test windows by a clear margin.
!>
!> Data: the two-scale model (l96_truth.f90) observed every 0.05 time
!> units: training [0, 50), validation [50, 100), test [100, 200). The
!> forecast code runs its forecast cycle (analysis every 0.4 time units)
!> through the whole record. Closures, all g(X_k) added to dX_k/dt:
!>   none     g = 0 (the host as it was)
!>   online   a 1-16-1 tanh network trained by zoo during the training
!>            period from the forecast errors alone, then frozen
!>   offline  the same network fitted (zoo_model_fit) to the true coupling
!>            term -(hc/b) sum_j Y_{j,k} at the training times
!>   linear   g = a + b X fitted by least squares to the same pairs
!> Every hyper-parameter is chosen on the validation period (median over
!> 3 seeds); the numbers are the mean squared forecast error on the test
!> period, median and [min, max] over 5 network and zoo seeds.
!> Writes results.json, errors.dat, leads.dat, closure.dat, scatter.dat
!> and training.dat (for plot_online.py).
program online_demo
  use, intrinsic :: iso_c_binding
  use zoo
  use l96_observations
  use l96_truth, only: make_truth
  use l96_host, only: run, rk4_step, sq_error, OBS_EVERY, CYCLE, DT
  use online_coupling
  implicit none

  integer, parameter :: TRUTH_SEED = 1, HIDDEN = 16, NSEEDS = 5, NSELECT = 3, QUICK_SEEDS = 2
  !> Periods in observation intervals: training, validation, test.
  integer, parameter :: NTRAIN = 1000, NVAL = 1000, NTEST = 2000
  integer, parameter :: NOBS = NTRAIN + NVAL + NTEST, LEADS = CYCLE / OBS_EVERY
  integer, parameter :: NONE = 1, ONLINE = 2, OFFLINE = 3, LINEAR = 4, NMETHODS = 4
  character(len=*), parameter :: NAMES(NMETHODS) = [character(len=8) :: 'none', 'online', 'offline', 'linear']
  !> --quick requires the online closure's test error below this fraction
  !> of no closure's (full runs measure about 0.025).
  real(dp), parameter :: QUICK_MARGIN = 0.1_dp

  !> zoo's settings for online training.
  type :: online_config
     integer :: window = 20, q = 2
     real(dp) :: lr = 0.01_dp, mu = 0.02_dp
  end type online_config
  !> zoo_model_fit's settings for the offline fit.
  type :: fit_config
     integer :: epochs = 100
     real(dp) :: lr = 0.01_dp, weight_decay = 0
  end type fit_config

  !> The searches: online window x lr (at q and mu of SEARCH_START), then
  !> q, then mu, each at the best so far; offline epochs x lr x decay.
  type(online_config), parameter :: SEARCH_START = online_config(40, 2, 0.01_dp, 0.02_dp)
  integer, parameter :: WINDOWS(3) = [20, 40, 80], QS(3) = [1, 4, 8], EPOCHS(3) = [30, 100, 300]
  real(dp), parameter :: LRS(3) = [0.01_dp, 0.03_dp, 0.1_dp], MUS(2) = [0.005_dp, 0.05_dp]
  real(dp), parameter :: FIT_LRS(2) = [0.001_dp, 0.01_dp], DECAYS(2) = [0.0_dp, 0.01_dp]
  !> What the full run selects (used by --quick).
  type(online_config), parameter :: QUICK_ONLINE = online_config(40, 4, 0.03_dp, 0.02_dp)

  real(dp), allocatable :: coupling(:, :), pairs_x(:, :), pairs_u(:, :)
  !> Test error per seed and method; the error at every observation of the
  !> whole run (median over seeds) and one closure curve per method.
  real(dp) :: test_mse(NSEEDS, NMETHODS) = 0, run_error(NOBS, NMETHODS) = 0, seconds(NMETHODS) = 0
  !> A diagnostic no method trains on: mean squared difference between
  !> g(X_k) and the true coupling term over the test period.
  real(dp) :: coupling_mse(NSEEDS, NMETHODS) = 0
  real(dp), allocatable :: online_losses(:, :)
  type(zoo_model) :: closures(NMETHODS)
  type(online_config) :: best_online
  type(fit_config) :: best_fit
  real(dp) :: x_mean, x_std, linear_a, linear_b
  integer :: nseeds_run, i, train_steps
  logical :: quick
  character(len=512) :: arg, outdir
  character(len=:), allocatable :: selection_log

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
  call execute_command_line('mkdir -p "' // trim(outdir) // '"')
  selection_log = ''

  write (*, '(a)') 'zoo online demo: a reduced Lorenz-96 forecast code learns its closure during its production run'
  call make_data()
  train_steps = NTRAIN * OBS_EVERY
  write (*, '(a, i0, a, i0, a, i0, a)') 'observations every 0.05 time units: training ', NTRAIN, &
       ', validation ', NVAL, ', test ', NTEST, ' (later in time, never trained on)'

  call evaluate_none()
  call evaluate_linear()
  if (.not. quick) call evaluate_offline()
  call evaluate_online()

  call print_table()
  call write_results()
  call write_plot_data()
  if (quick) call check_quick()
  do i = 1, NMETHODS
     call zoo_model_free(closures(i))
  end do

contains

  ! ---- data ----------------------------------------------------------------

  !> Observations of the two-scale model, the (X, true coupling) pairs of
  !> the training period, and the input normalisation (training period).
  subroutine make_data()
    allocate(obs(NX, 0:NOBS), coupling(NX, 0:NOBS))
    call make_truth(TRUTH_SEED, NOBS, obs, coupling)
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
    call new_network(seed, initial)
    call start_online_training(initial, 'estimator=rge-central q=' // int_text(config%q) // ' lr=' // &
         num_text(config%lr) // ' mu=' // num_text(config%mu) // ' seed=' // int_text(seed), &
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

  ! ---- the four methods ------------------------------------------------------

  subroutine evaluate_none()
    real(dp) :: t0
    call clock(t0)
    call new_linear(0.0_dp, 0.0_dp, closures(NONE))
    call run_frozen(closures(NONE), NOBS)
    test_mse(:, NONE) = test_error()
    coupling_mse(:, NONE) = coupling_error(closures(NONE))
    run_error(:, NONE) = sq_error
    seconds(NONE) = elapsed(t0)
  end subroutine evaluate_none

  !> Least squares of the true coupling term on X over the training pairs.
  subroutine evaluate_linear()
    real(dp) :: t0, u_mean
    call clock(t0)
    u_mean = sum(pairs_u) / size(pairs_u)
    linear_b = sum((pairs_x - x_mean) * (pairs_u - u_mean)) / sum((pairs_x - x_mean)**2)
    linear_a = u_mean - linear_b * x_mean
    call new_linear(linear_a, linear_b, closures(LINEAR))
    call run_frozen(closures(LINEAR), NOBS)
    test_mse(:, LINEAR) = test_error()
    coupling_mse(:, LINEAR) = coupling_error(closures(LINEAR))
    run_error(:, LINEAR) = sq_error
    seconds(LINEAR) = elapsed(t0)
  end subroutine evaluate_linear

  !> The supervised fit: epochs, lr and weight decay chosen by the median
  !> validation forecast error over NSELECT seeds, then every seed.
  subroutine evaluate_offline()
    type(fit_config) :: c
    type(zoo_model) :: model
    real(dp) :: score, best, t0
    real(dp), allocatable :: errors(:, :)
    integer :: ie, il, id, seed
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
                best_fit = c
             end if
          end do
       end do
    end do
    do seed = 1, NSEEDS
       call fit_offline(best_fit, seed, model)
       call run_frozen(model, NOBS)
       test_mse(seed, OFFLINE) = test_error()
       coupling_mse(seed, OFFLINE) = coupling_error(model)
       errors(:, seed) = sq_error
       if (seed == 1) call copy_model(model, closures(OFFLINE))
    end do
    call zoo_model_free(model)
    call median_rows(errors, run_error(:, OFFLINE))
    seconds(OFFLINE) = elapsed(t0)
    write (*, '(a, a)') 'offline fit selected on validation: ', fit_label(best_fit)
  end subroutine evaluate_offline

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
    type(online_config) :: c
    type(zoo_model) :: model
    real(dp) :: t0, best
    real(dp), allocatable :: errors(:, :)
    integer :: iw, il, iq, im, seed
    call clock(t0)
    allocate(errors(NOBS, NSEEDS))
    best_online = QUICK_ONLINE
    if (.not. quick) then
       best = huge(1.0_dp)
       do iw = 1, size(WINDOWS)
          do il = 1, size(LRS)
             c = online_config(WINDOWS(iw), SEARCH_START%q, LRS(il), SEARCH_START%mu)
             call consider(c, best)
          end do
       end do
       c = best_online
       do iq = 1, size(QS)
          c%q = QS(iq)
          call consider(c, best)
       end do
       c = best_online
       do im = 1, size(MUS)
          c%mu = MUS(im)
          call consider(c, best)
       end do
       write (*, '(a, a)') 'online training selected on validation: ', online_label(best_online)
       if (online_label(best_online) /= online_label(QUICK_ONLINE)) write (*, '(a)') &
            'note: --quick uses ' // online_label(QUICK_ONLINE) // '; set QUICK_ONLINE to the selection'
    end if
    do seed = 1, nseeds_run
       call run_online(best_online, seed, NOBS, model)
       test_mse(seed, ONLINE) = test_error()
       coupling_mse(seed, ONLINE) = coupling_error(model)
       errors(:, seed) = sq_error
       if (.not. allocated(online_losses)) allocate(online_losses(windows_trained, nseeds_run))
       online_losses(:, seed) = window_losses(1:windows_trained)
       if (seed == 1) call copy_model(model, closures(ONLINE))
    end do
    call zoo_model_free(model)
    call median_rows(errors(:, 1:nseeds_run), run_error(:, ONLINE))
    seconds(ONLINE) = elapsed(t0)
  end subroutine evaluate_online

  !> Online training with `c`: the median validation error over NSELECT
  !> seeds; `c` becomes best_online when it beats `best`.
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
       best_online = c
    end if
  end subroutine consider

  ! ---- reporting -------------------------------------------------------------

  subroutine print_table()
    integer :: m, n
    n = nseeds_run
    write (*, '(/, a, i0, a)') 'test mean squared forecast error (lead 0.05 to 0.4), median [min, max] over ', n, ' seeds'
    write (*, '(a8, 3a12, a12, a9, a14)') 'closure', 'median', 'min', 'max', 'vs none', 'wall s', 'g vs coupling'
    do m = 1, NMETHODS
       if (quick .and. m == OFFLINE) cycle
       write (*, '(a8, 3es12.3, f12.3, f9.1, es14.3)') NAMES(m), median(test_mse(1:n, m)), minval(test_mse(1:n, m)), &
            maxval(test_mse(1:n, m)), median(test_mse(1:n, m)) / median(test_mse(1:n, NONE)), seconds(m), &
            median(coupling_mse(1:n, m))
    end do
    write (*, '(a)') '(g vs coupling: mean squared difference between g(X_k) and the true coupling term ' // &
         'on the test period, median; online never sees that term)'
    write (*, '(a, a)') 'online: ', online_label(best_online)
    if (.not. quick) write (*, '(a, a)') 'offline: ', fit_label(best_fit)
    write (*, '(a, f8.4, a, f8.4, a)') 'linear: g = ', linear_a, ' + ', linear_b, ' X'
  end subroutine print_table

  subroutine check_quick()
    real(dp) :: ratio
    ratio = maxval(test_mse(1:nseeds_run, ONLINE)) / test_mse(1, NONE)
    write (*, '(a, f6.3, a, f5.2)') 'quick check: worst online seed / none = ', ratio, ', required below ', QUICK_MARGIN
    if (.not. (ratio < QUICK_MARGIN)) error stop 1
    write (*, '(a)') 'quick check passed'
  end subroutine check_quick

  subroutine write_results()
    integer :: u, m, n
    n = nseeds_run
    open (newunit=u, file=trim(outdir) // '/results.json', status='replace', action='write')
    write (u, '(a)') '{'
    write (u, '(3a)') '  "quick": ', trim(merge('true ', 'false', quick)), ','
    write (u, '(a)') '  "metric": "mean squared error of the forecast against the observations of X, over the ' // &
         'test period (every observation, leads 0.05 to 0.4 time units)",'
    write (u, '(a)') '  "coupling_mse": "diagnostic: mean squared difference between g(X_k) and the true coupling ' // &
         'term over the test period (online training never sees that term)",'
    write (u, '(a, i0, a, i0, a, i0, a)') '  "periods_in_observations": {"train": ', NTRAIN, ', "validation": ', NVAL, &
         ', "test": ', NTEST, '},'
    write (u, '(a, es10.3, a, es10.3, a, i0, a, i0, a)') '  "time_units": {"dt_observation": ', DT_OBS, &
         ', "dt_forecast": ', DT, ', "analysis_every_steps": ', CYCLE, ', "observation_every_steps": ', OBS_EVERY, '},'
    write (u, '(a, i0, a)') '  "truth": {"model": "two-scale Lorenz-96", "K": 8, "J": 32, "F": 20, "h": 1, ' // &
         '"b": 10, "c": 10, "dt": 0.001, "seed": ', TRUTH_SEED, '},'
    write (u, '(a, i0, a)') '  "network": "1-', HIDDEN, '-1 tanh, input (X - mean) / std of the training observations",'
    write (u, '(a, *(i0, :, ", "))', advance='no') '  "seeds": [', (m, m = 1, n)
    write (u, '(a)') '],'
    write (u, '(a)') '  "methods": {'
    do m = 1, NMETHODS
       if (quick .and. m == OFFLINE) cycle
       write (u, '(5a, es12.5, a, es12.5, a, es12.5, a, es12.5, a, f8.2, a, es12.5, a)', advance='no') '    "', trim(NAMES(m)), &
            '": {', seed_list(test_mse(1:n, m)), ', "median": ', median(test_mse(1:n, m)), ', "min": ', &
            minval(test_mse(1:n, m)), ', "max": ', maxval(test_mse(1:n, m)), ', "median_vs_none": ', &
            median(test_mse(1:n, m)) / median(test_mse(1:n, NONE)), ', "wall_s": ', seconds(m), &
            ', "coupling_mse_median": ', median(coupling_mse(1:n, m)), '}'
       if (m < NMETHODS) then
          write (u, '(a)') ','
       else
          write (u, '()')
       end if
    end do
    write (u, '(a)') '  },'
    write (u, '(a, i0, a, i0, a, es10.3, a, es10.3, a)') '  "online": {"estimator": "rge-central", "window_steps": ', &
         best_online%window, ', "q": ', best_online%q, ', "lr": ', best_online%lr, ', "mu": ', best_online%mu, &
         ', "optimizer": "adam", "callback": "sequential"},'
    if (.not. quick) write (u, '(a, i0, a, es10.3, a, es10.3, a)') '  "offline": {"epochs": ', best_fit%epochs, &
         ', "lr": ', best_fit%lr, ', "weight_decay": ', best_fit%weight_decay, ', "batch": 256},'
    write (u, '(a, es12.5, a, es12.5, a)') '  "linear": {"a": ', linear_a, ', "b": ', linear_b, '},'
    write (u, '(a)') '  "selection": ['
    if (len(selection_log) > 0) write (u, '(a)') selection_log(1:len(selection_log) - 2)
    write (u, '(a)') '  ]'
    write (u, '(a)') '}'
    close (u)
  end subroutine write_results

  function seed_list(values) result(text)
    real(dp), intent(in) :: values(:)
    character(len=:), allocatable :: text
    character(len=20) :: one
    integer :: i
    text = '"test_mse": ['
    do i = 1, size(values)
       write (one, '(es12.5)') values(i)
       text = text // trim(adjustl(one))
       if (i < size(values)) text = text // ', '
    end do
    text = text // ']'
  end function seed_list

  subroutine log_selection(method, label, score)
    character(len=*), intent(in) :: method, label
    real(dp), intent(in) :: score
    character(len=40) :: value
    write (value, '(es12.5)') score
    selection_log = selection_log // '    {"method": "' // method // '", "config": "' // label // &
         '", "validation_mse_median": ' // trim(adjustl(value)) // '},' // new_line('a')
    write (*, '(a8, 1x, a48, a, es10.3)') method, label, ' validation MSE ', score
  end subroutine log_selection

  function online_label(c) result(text)
    type(online_config), intent(in) :: c
    character(len=:), allocatable :: text
    character(len=80) :: buffer
    write (buffer, '(a, i0, a, i0, a, es8.1, a, es8.1)') 'W=', c%window, ' q=', c%q, ' lr=', c%lr, ' mu=', c%mu
    text = trim(buffer)
  end function online_label

  function fit_label(c) result(text)
    type(fit_config), intent(in) :: c
    character(len=:), allocatable :: text
    character(len=80) :: buffer
    write (buffer, '(a, i0, a, es8.1, a, es8.1)') 'epochs=', c%epochs, ' lr=', c%lr, ' weight_decay=', c%weight_decay
    text = trim(buffer)
  end function fit_label

  !> errors.dat (per forecast cycle over the run), leads.dat (test error
  !> per lead), closure.dat (g(X) per method), scatter.dat (training pairs)
  !> and training.dat (online training loss per window).
  subroutine write_plot_data()
    integer :: u, c, m, lead, i
    real(dp) :: xv, y(1, 1)
    character(len=*), parameter :: HEADER = '# none online offline linear'
    open (newunit=u, file=trim(outdir) // '/errors.dat', status='replace', action='write')
    write (u, '(a)') '# time ' // HEADER(3:)
    do c = 1, NOBS / LEADS
       write (u, '(f9.3, 4es12.4)') (c - 1) * LEADS * DT_OBS, &
            (sum(run_error((c - 1) * LEADS + 1:c * LEADS, m)) / LEADS, m = 1, NMETHODS)
    end do
    close (u)
    open (newunit=u, file=trim(outdir) // '/leads.dat', status='replace', action='write')
    write (u, '(a)') '# lead ' // HEADER(3:)
    do lead = 1, LEADS
       write (u, '(f9.3, 4es12.4)') lead * DT_OBS, (sum(run_error(NTRAIN + NVAL + lead:NOBS:LEADS, m)) / &
            (NTEST / LEADS), m = 1, NMETHODS)
    end do
    close (u)
    open (newunit=u, file=trim(outdir) // '/closure.dat', status='replace', action='write')
    write (u, '(a)') '# X ' // HEADER(3:)
    do i = 0, 200
       xv = minval(pairs_x) + i * (maxval(pairs_x) - minval(pairs_x)) / 200
       write (u, '(f9.4)', advance='no') xv
       do m = 1, NMETHODS
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
       write (u, '(f9.3, *(es12.4))') (i - 1) * best_online%window * DT, online_losses(i, :)
    end do
    close (u)
  end subroutine write_plot_data

  ! ---- small helpers ---------------------------------------------------------

  function int_text(i) result(text)
    integer, intent(in) :: i
    character(len=:), allocatable :: text
    character(len=20) :: buffer
    write (buffer, '(i0)') i
    text = trim(buffer)
  end function int_text

  function num_text(x) result(text)
    real(dp), intent(in) :: x
    character(len=:), allocatable :: text
    character(len=24) :: buffer
    write (buffer, '(es15.8)') x
    text = trim(adjustl(buffer))
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

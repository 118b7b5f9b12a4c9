!> The four methods on one data set, each with its hyper-parameters chosen
!> on the validation trajectory by the same rule (lorenz_scores'
!> select_candidate) over the grids below.
module lorenz_methods
  use, intrinsic :: iso_c_binding, only: c_double, c_int64_t
  use lorenz_system
  use lorenz_regression
  use lorenz_scores
  use lorenz_shooting
  implicit none
  private
  public :: dataset, fit_result, make_dataset, fit_derivatives, fit_weak, fit_zoo, zoo_settings

  !> Thresholds tried by every method, on scaled coefficients (0: none).
  !> The smallest true one is 0.1 (the -y of dy/dt), so the grid reaches
  !> past it: the rule has to reject thresholds that prune a true term.
  real(c_double), parameter, public :: LAMBDAS(17) = [0.0_c_double, 0.002_c_double, 0.005_c_double, &
       0.01_c_double, 0.015_c_double, 0.02_c_double, 0.03_c_double, 0.04_c_double, 0.05_c_double, &
       0.06_c_double, 0.07_c_double, 0.08_c_double, 0.09_c_double, 0.1_c_double, 0.12_c_double, &
       0.15_c_double, 0.2_c_double]
  !> Weak form: test-function exponents, and window half-widths in time
  !> units (those below 2 samples or above half the data are skipped).
  integer, parameter, public :: WEAK_POWERS(3) = [2, 4, 8]
  real(c_double), parameter, public :: WEAK_HALF_WIDTHS(8) = [0.02_c_double, 0.05_c_double, 0.1_c_double, &
       0.2_c_double, 0.3_c_double, 0.5_c_double, 0.8_c_double, 1.2_c_double]
  !> Length of the validation segments (time units).
  real(c_double), parameter, public :: VALIDATION_TIME = 0.5_c_double

  !> One draw: noisy training and validation trajectories from separate
  !> initial conditions, noise-free test states from a third.
  type :: dataset
     real(c_double) :: dt = 0, noise = 0
     integer :: every = 0, val_horizon = 0
     real(c_double), allocatable :: train(:, :), val(:, :)   ! (NVAR, 0:n)
     real(c_double) :: scale(NVAR) = 1                        ! the training samples' standard deviations
     real(c_double), allocatable :: test(:, :)                ! (NVAR, TEST_STATES)
     real(c_double) :: test_sd(NVAR) = 1
  end type dataset

  type :: fit_result
     real(c_double) :: xi(NLIB, NVAR) = 0
     character(len=160) :: hyper = ''
     integer(c_int64_t) :: evaluations = 0   ! zoo's loss evaluations
  end type fit_result

  type :: zoo_settings
     real(c_double) :: path_time = 0.5_c_double             ! segment length of stages 2 and 3
     real(c_double), allocatable :: polish_times(:), polish_lrs(:)   ! tried in stage 4
     real(c_double) :: lr = 0.003_c_double, refit_lr = 0.01_c_double
     integer :: rounds = 2, iterations = 400, refit_iterations = 300, polish_iterations = 800
     integer :: refinements = 3, refine_every = 100
  end type zoo_settings

  logical, public :: debug = .false.

  !> Candidates of one method on one data set.
  type :: pool
     integer :: n = 0
     real(c_double), allocatable :: c(:, :, :), errors(:, :)
     integer, allocatable :: terms(:)
     character(len=120), allocatable :: label(:)
  end type pool

contains

  subroutine make_dataset(dt, noise, draw, train_time, val_time, d)
    real(c_double), intent(in) :: dt, noise, train_time, val_time
    integer, intent(in) :: draw
    type(dataset), intent(out) :: d
    type(stream) :: rng
    real(c_double) :: s0(NVAR)
    real(c_double), allocatable :: test(:, :)
    integer :: n
    d%dt = dt
    d%noise = noise
    d%every = nint(dt / H_MODEL)
    ! Every draw has its own initial conditions and noise; the same draw
    ! has the same trajectories at every dt and noise level.
    rng = new_stream(1000 * draw + 1)
    s0 = on_attractor(rng)
    n = nint(train_time / dt)
    allocate (d%train(NVAR, 0:n))
    rng = new_stream(1000 * draw + 2 + nint(1000 * noise) + 7 * d%every)
    call observe(s0, d%every, n, noise, rng, d%train)
    d%scale = standard_deviation(d%train)
    rng = new_stream(1000 * draw + 3)
    s0 = on_attractor(rng)
    d%val_horizon = nint(VALIDATION_TIME / dt)
    n = nint(val_time / dt)
    allocate (d%val(NVAR, 0:n))
    rng = new_stream(1000 * draw + 4 + nint(1000 * noise) + 7 * d%every)
    call observe(s0, d%every, n, noise, rng, d%val)
    ! Test: states 1 time unit apart along a third trajectory, noise-free.
    rng = new_stream(1000 * draw + 5)
    s0 = on_attractor(rng)
    allocate (test(NVAR, 0:TEST_STATES * 100))
    call observe(s0, 1, TEST_STATES * 100, 0.0_c_double, rng, test)
    d%test = test(:, 100:TEST_STATES * 100:100)
    d%test_sd = standard_deviation(test)
  end subroutine make_dataset

  !> Finite differences of order 2 or 4 + STLSQ; lambda on validation.
  function fit_derivatives(d, order) result(r)
    type(dataset), intent(in) :: d
    integer, intent(in) :: order
    type(fit_result) :: r
    type(pool) :: candidates
    real(c_double), allocatable :: a(:, :), b(:, :)
    integer :: i
    call fd_system(d%train, d%dt, order, d%scale, a, b)
    do i = 1, size(LAMBDAS)
       call add(candidates, d, stlsq(a, b, LAMBDAS(i)), 'λ = ' // number_text(LAMBDAS(i)))
    end do
    r = chosen(candidates, d)
  end function fit_derivatives

  !> Weak SINDy: window half-width, exponent and lambda on validation.
  function fit_weak(d, lambdas) result(r)
    type(dataset), intent(in) :: d
    real(c_double), intent(in) :: lambdas(:)
    type(fit_result) :: r
    type(pool) :: candidates
    real(c_double), allocatable :: a(:, :), b(:, :)
    character(len=120) :: label
    integer :: i, j, k, m
    do j = 1, size(WEAK_HALF_WIDTHS)
       m = nint(WEAK_HALF_WIDTHS(j) / d%dt)
       if (m < 2 .or. 2 * m > ubound(d%train, 2) / 2) cycle
       do k = 1, size(WEAK_POWERS)
          call weak_system(d%train, d%dt, m, WEAK_POWERS(k), d%scale, a, b)
          do i = 1, size(lambdas)
             label = 'window ±' // number_text(m * d%dt) // ', p = ' // number_text(WEAK_POWERS(k)) // &
                  ', λ = ' // number_text(lambdas(i))
             call add(candidates, d, stlsq(a, b, lambdas(i)), label)
          end do
       end do
    end do
    r = chosen(candidates, d)
  end function fit_weak

  !> zoo through the integrator, in four stages.
  !> 1. Start: the weak form's dense least squares (no threshold; window
  !>    and exponent chosen on validation). From zero, zoo's first-order
  !>    steps crawl along the flat valleys of the collinear library.
  !> 2. Dense training through the integrator on segments of path_time,
  !>    initial states profiled out (lorenz_shooting), in rounds; the round
  !>    with the lowest validation error is kept.
  !> 3. The threshold path: for each lambda of the grid in turn, prune
  !>    below lambda and refit (once more if the refit left coefficients
  !>    below lambda); each lambda is a candidate, and the selection rule
  !>    picks one.
  !> 4. The chosen support is trained further on segments of each length
  !>    of polish_times; the one with the lowest validation error is kept.
  function fit_zoo(d, settings, seed) result(r)
    type(dataset), intent(in) :: d
    type(zoo_settings), intent(in) :: settings
    integer, intent(in) :: seed
    type(fit_result) :: r
    type(pool) :: candidates
    type(shooting), target :: p
    real(c_double) :: c(NLIB, NVAR), best_c(NLIB, NVAR), path(NLIB, NVAR, size(LAMBDAS)), best, e
    logical :: active(NLIB, NVAR), next(NLIB, NVAR)
    character(len=120) :: start
    integer(c_int64_t) :: evaluations
    integer :: i, j, round, best_round, k, horizon
    evaluations = 0
    r = fit_weak(d, [0.0_c_double])
    start = r%hyper(1:index(r%hyper, ', λ') - 1)
    c = to_scaled(r%xi, d%scale)
    active = .true.
    horizon = max(1, nint(settings%path_time / d%dt))
    call setup_segments(p, d%train, d%every, horizon, d%scale)
    best = mean_validation(c)
    best_c = c
    best_round = 0
    do round = 1, settings%rounds
       call linearize(p, from_scaled(c, d%scale), settings%refinements)
       call train(p, c, active, settings%lr, settings%iterations, settings%refine_every, seed, evaluations)
       e = mean_validation(c)
       if (debug) write (*, '(a, i3, es11.3, es11.3)') ' dbg round', round, e, coefficient_error(from_scaled(c, d%scale))
       if (e < best) then
          best = e
          best_c = c
          best_round = round
       end if
    end do
    c = best_c
    do i = 1, size(LAMBDAS)
       next = active .and. abs(c) >= LAMBDAS(i)
       do round = 1, 2
          if (all(next .eqv. active)) exit
          active = next
          c = merge(c, 0.0_c_double, active)
          call linearize(p, from_scaled(c, d%scale), settings%refinements)
          call train(p, c, active, settings%refit_lr, settings%refit_iterations, settings%refine_every, seed, &
               evaluations)
          next = active .and. abs(c) >= LAMBDAS(i)
       end do
       c = merge(c, 0.0_c_double, active)
       path(:, :, i) = c
       call add(candidates, d, c, 'λ = ' // number_text(LAMBDAS(i)))
       if (debug) write (*, '(a, f6.3, i4, es11.3, es11.3)') ' dbg lambda', LAMBDAS(i), count(active), &
            mean_validation(c), coefficient_error(from_scaled(c, d%scale))
    end do
    k = select_candidate(candidates%errors(:, 1:candidates%n), candidates%terms(1:candidates%n))
    active = path(:, :, k) /= 0
    r%xi = from_scaled(path(:, :, k), d%scale)
    best = mean_validation(path(:, :, k))
    r%hyper = 'start ' // trim(start) // '; ' // number_text(best_round * settings%iterations) // &
         ' dense iterations; ' // trim(candidates%label(k)) // '; no polish'
    do i = 1, size(settings%polish_times)
       do j = 1, size(settings%polish_lrs)
          c = path(:, :, k)
          call setup_segments(p, d%train, d%every, max(1, nint(settings%polish_times(i) / d%dt)), d%scale)
          call linearize(p, from_scaled(c, d%scale), settings%refinements)
          call train(p, c, active, settings%polish_lrs(j), settings%polish_iterations, settings%refine_every, &
               seed, evaluations)
          e = mean_validation(c)
          if (debug) write (*, '(a, f6.3, f7.4, es11.3, es11.3)') ' dbg polish', settings%polish_times(i), &
               settings%polish_lrs(j), e, coefficient_error(from_scaled(c, d%scale))
          if (e < best) then
             best = e
             r%xi = from_scaled(c, d%scale)
             r%hyper = 'start ' // trim(start) // '; ' // number_text(best_round * settings%iterations) // &
                  ' dense iterations; ' // trim(candidates%label(k)) // '; polish segments ' // &
                  number_text(settings%polish_times(i)) // ', lr ' // number_text(settings%polish_lrs(j))
          end if
       end do
    end do
    r%evaluations = evaluations
  contains
    function mean_validation(c) result(m)
      real(c_double), intent(in) :: c(NLIB, NVAR)
      real(c_double) :: m
      real(c_double), allocatable :: errors(:)
      errors = validation_errors(from_scaled(c, d%scale), d%val, d%every, d%val_horizon, d%scale)
      m = score(errors, .false.)
    end function mean_validation
  end function fit_zoo

  !> Scores a candidate (scaled coefficients c) on validation and keeps it.
  subroutine add(candidates, d, c, label)
    type(pool), intent(inout) :: candidates
    type(dataset), intent(in) :: d
    real(c_double), intent(in) :: c(NLIB, NVAR)
    character(len=*), intent(in) :: label
    real(c_double), allocatable :: errors(:)
    integer :: n
    errors = validation_errors(from_scaled(c, d%scale), d%val, d%every, d%val_horizon, d%scale)
    if (.not. allocated(candidates%c)) then
       allocate (candidates%c(NLIB, NVAR, 1024), candidates%errors(size(errors), 1024), &
            candidates%terms(1024), candidates%label(1024))
    end if
    n = candidates%n + 1
    if (n > size(candidates%terms)) error stop 'lorenz_methods: too many candidates'
    candidates%n = n
    candidates%c(:, :, n) = c
    candidates%errors(:, n) = errors
    candidates%terms(n) = count(c /= 0)
    candidates%label(n) = label
  end subroutine add

  function chosen(candidates, d) result(r)
    type(pool), intent(in) :: candidates
    type(dataset), intent(in) :: d
    type(fit_result) :: r
    integer :: k
    k = select_candidate(candidates%errors(:, 1:candidates%n), candidates%terms(1:candidates%n))
    r%xi = from_scaled(candidates%c(:, :, k), d%scale)
    r%hyper = candidates%label(k)
  end function chosen

end module lorenz_methods

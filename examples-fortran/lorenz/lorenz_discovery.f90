!> Equation discovery through a black-box integrator: Lorenz-63.
!>
!> A legacy-style RK4 integrator (step 0.01) advances a 3-variable ODE
!> whose right-hand side calls a network: the monomials of (x, y, z) up to
!> degree 2 followed by a linear layer, so the weights are the
!> coefficients of the equations (a SINDy library). zoo sees only how far
!> the integrated trajectory segments land from noisy observations of
!> Lorenz-63 (sigma = 10, rho = 28, beta = 8/3) sampled every dt: no
!> derivatives of the data. The observations come from RK4 at a step 20
!> times finer than the model's, so no method meets the data in the
!> model's own discretisation error.
!>
!> Baselines in the same program, on the same data: finite differences of
!> order 2 and 4 + STLSQ, and weak SINDy. Every method's hyper-parameters
!> are chosen on a separate validation trajectory by the same rule; the
!> test is the coefficient error against the truth and forecasts from
!> unseen states.
!>
!> Usage: lorenz_discovery [--quick | --full [FILE] | --one DT NOISE DRAW]
!>   (none)   dt = 0.1, 1% noise, one draw: every method, with equations
!>   --one    the same for one data set of the grid
!>   --full   the grid (dt, noise, 5 draws, 4 methods) into FILE, by
!>            default results/lorenz.json
!>   --quick  dt = 0.1, 1% noise, 3 draws, a cheaper zoo; stops with code 1
!>            unless zoo finds exactly the 7 terms in at least 2 draws and
!>            its median coefficient error is below FD2 + STLSQ's
program lorenz_discovery
  use, intrinsic :: iso_c_binding, only: c_double
  use lorenz_system
  use lorenz_methods
  use lorenz_report
  use lorenz_scores, only: TEST_STATES, TEST_TIME
  implicit none
  real(c_double), parameter :: TRAIN_TIME = 10, VALIDATION_SPAN = 20
  real(c_double), parameter :: DTS(3) = [0.01_c_double, 0.05_c_double, 0.1_c_double]
  real(c_double), parameter :: NOISES(3) = [0.0_c_double, 0.01_c_double, 0.05_c_double]
  integer, parameter :: DRAWS = 5
  character(len=*), parameter :: REPRODUCE = './build/examples-fortran/lorenz/lorenz_discovery --full'
  type(zoo_settings) :: full, quick
  type(run_score), allocatable :: runs(:, :, :, :)
  character(len=256) :: arg, path
  real(c_double) :: dt, noise
  integer :: draw, i, k, j

  full%polish_times = [0.5_c_double, 1.0_c_double]
  full%polish_lrs = [0.001_c_double, 0.01_c_double]
  ! The ctest's budget: one dense round and a single polish.
  quick = full
  quick%rounds = 1
  quick%path_time = 0.2_c_double
  quick%polish_times = [0.5_c_double]
  quick%polish_lrs = [0.01_c_double]

  ! LORENZ_DEBUG=1 prints zoo's stages (validation scores, path, polish).
  call get_environment_variable('LORENZ_DEBUG', arg)
  debug = len_trim(arg) > 0
  call get_command_argument(1, arg)
  select case (trim(arg))
  case ('--full')
     path = 'results/lorenz.json'
     call get_command_argument(2, arg)
     if (len_trim(arg) > 0) path = arg
     allocate (runs(NMETHODS, DRAWS, size(NOISES), size(DTS)))
     call print_header()
     do i = 1, size(DTS)
        do k = 1, size(NOISES)
           do j = 1, DRAWS
              call run_all(DTS(i), NOISES(k), j, full, .false., runs(:, j, k, i))
           end do
        end do
     end do
     call write_results(trim(path), REPRODUCE, protocol(), DTS, NOISES, runs)
     write (*, '(2a)') 'wrote ', trim(path)
  case ('--quick')
     call quick_check()
  case ('--one')
     call get_command_argument(2, arg)
     read (arg, *) dt
     call get_command_argument(3, arg)
     read (arg, *) noise
     call get_command_argument(4, arg)
     read (arg, *) draw
     allocate (runs(NMETHODS, 1, 1, 1))
     call print_header()
     call run_all(dt, noise, draw, full, .true., runs(:, 1, 1, 1))
  case ('')
     allocate (runs(NMETHODS, 1, 1, 1))
     call print_header()
     call run_all(0.1_c_double, 0.01_c_double, 1, full, .true., runs(:, 1, 1, 1))
  case default
     write (*, '(a)') 'usage: lorenz_discovery [--quick | --full [FILE] | --one DT NOISE DRAW]'
     stop 2
  end select

contains

  !> Every method on one data set of the grid.
  subroutine run_all(dt, noise, draw, settings, equations, scores)
    real(c_double), intent(in) :: dt, noise
    integer, intent(in) :: draw
    type(zoo_settings), intent(in) :: settings
    logical, intent(in) :: equations
    type(run_score), intent(out) :: scores(NMETHODS)
    type(dataset) :: d
    type(fit_result) :: r
    integer :: m
    call make_dataset(dt, noise, draw, TRAIN_TIME, VALIDATION_SPAN, d)
    do m = 1, NMETHODS
       select case (m)
       case (1)
          r = fit_derivatives(d, 2)
       case (2)
          r = fit_derivatives(d, 4)
       case (3)
          r = fit_weak(d, LAMBDAS)
       case default
          r = fit_zoo(d, settings, draw)
       end select
       scores(m) = score_run(d, r)
       call print_run(d, draw, m, scores(m))
       if (equations) call print_equations(r%xi)
    end do
    flush (6)
  end subroutine run_all

  !> The ctest: a qualitative claim over three draws, not one run.
  subroutine quick_check()
    type(dataset) :: d
    type(run_score) :: zoo_runs(3), fd2_runs(3)
    integer :: j, exact
    real(c_double) :: zoo_median, fd2_median
    call print_header()
    do j = 1, 3
       call make_dataset(0.1_c_double, 0.01_c_double, j, TRAIN_TIME, VALIDATION_SPAN, d)
       fd2_runs(j) = score_run(d, fit_derivatives(d, 2))
       call print_run(d, j, 1, fd2_runs(j))
       zoo_runs(j) = score_run(d, fit_zoo(d, quick, j))
       call print_run(d, j, NMETHODS, zoo_runs(j))
    end do
    exact = count(zoo_runs%exact)
    zoo_median = median3(zoo_runs%coef_error)
    fd2_median = median3(fd2_runs%coef_error)
    write (*, '(a, i0, a, es9.2, a, es9.2, a)') 'zoo: exact support in ', exact, &
         '/3 draws; median coefficient error ', zoo_median, ' (FD2 + STLSQ: ', fd2_median, ')'
    if (exact < 2 .or. .not. zoo_median < fd2_median) then
       write (*, '(a)') 'FAILED: zoo must find exactly the 7 terms in 2 of 3 draws and beat FD2 + STLSQ'
       stop 1
    end if
  end subroutine quick_check

  pure function median3(x) result(m)
    real(c_double), intent(in) :: x(3)
    real(c_double) :: m
    m = max(min(x(1), x(2)), min(max(x(1), x(2)), x(3)))
  end function median3

  !> The protocol, from the constants the program runs with.
  function protocol() result(text)
    character(len=:), allocatable :: text
    text = 'Data: Lorenz-63 (sigma 10, rho 28, beta 8/3) integrated by RK4 at step 0.0005 (20 substeps of &
         &the model''s step 0.01), sampled every dt in {' // list(DTS) // '}, Gaussian noise of {' // &
         list(100 * NOISES) // '}% of each variable''s standard deviation. Each of ' // number_text(DRAWS) // &
         ' draws has its own initial conditions (shared by every dt and noise level) and noise. Training: &
         &one trajectory of ' // number_text(TRAIN_TIME) // &
         ' time units. Validation: a second trajectory from another initial condition, ' // &
         number_text(VALIDATION_SPAN) // ' time units, same dt and noise, cut into segments of ' // &
         number_text(VALIDATION_TIME) // ' time units. Test: ' // number_text(TEST_STATES) // ' noise-free states 1 time &
         &unit apart on a third trajectory, forecast ' // number_text(TEST_TIME) // ' time unit by the learned and &
         &the true equations (both at step 0.0005): RMS error in standard deviations; coefficient error = &
         &||xi - xi_true|| / ||xi_true|| over the 30 coefficients of the library (1, x, y, z, x^2, xy, xz, &
         &y^2, yz, z^2); terms found, false terms, exact support = 7 found and none false. '
    text = text // 'Selection, the same for every method: a model''s validation error on a segment is its &
         &mean squared misfit (in standard deviations) after fitting the segment''s initial state by &
         &Gauss-Newton; the candidates whose mean log error exceeds the lowest by at most one standard &
         &error of the paired per-segment differences are acceptable, and the one with the fewest terms &
         &wins, ties to the lower mean log error (misfits below 1e-8 count as 1e-8 in the test, not in the &
         &tie-break). Thresholds lambda act on coefficients in scaled units &
         &(inputs / their standard deviations, derivatives / (10 x standard deviation)); grid {' // &
         list(LAMBDAS) // '} (0 = no threshold) for every method. FD2 / FD4 + STLSQ: central differences &
         &of order 2 / 4 at the samples, sequentially thresholded least squares (QR); lambda tuned. Weak &
         &SINDy: test functions (1 - u^2)^p on windows centred at every sample, half-width in {' // &
         list(WEAK_HALF_WIDTHS) // '} time units (those of at least 2 samples), p in {' // &
         list(real(WEAK_POWERS, c_double)) // '}, trapezoidal rule, STLSQ; half-width, p and lambda tuned. '
    text = text // 'zoo: the network inside the model''s RK4 (step 0.01: dt / 0.01 steps between samples), &
         &CGE-central, Adam with a cosine decay to lr / 10^4, 2 threads. Its loss: the misfit of the &
         &training trajectory cut into segments, each integrated from its own initial state, with the &
         &misfit''s first-order dependence on those states projected out (the states re-fitted by &
         &Gauss-Newton every ' // number_text(full%refine_every) // ' iterations), so noise in the observed states &
         &does not bias the coefficients. Start: the weak form''s dense least squares (lambda = 0, window &
         &and p chosen on validation). Dense training on segments of ' // number_text(full%path_time) // &
         ' time units: ' // number_text(full%rounds) // ' rounds of ' // number_text(full%iterations) // &
         ' iterations at lr ' // number_text(full%lr) // '; the round (0 = the start) with the best validation score &
         &is kept. Threshold path: for each lambda of the grid in turn, prune, refit ' // &
         number_text(full%refit_iterations) // ' iterations at lr ' // number_text(full%refit_lr) // ', prune and refit once &
         &more if the refit left coefficients below lambda; the selection rule picks the lambda. Polish of &
         &the chosen support: segments of {' // list(full%polish_times) // '} time units x lr {' // &
         list(full%polish_lrs) // '}, ' // number_text(full%polish_iterations) // ' iterations each, or none: the &
         &best validation score is kept. Loss evaluations: zoo''s, per run (the baselines integrate only to &
         &validate). Best baseline per (dt, noise): the lowest median test coefficient error among the three, &
         &in hindsight.'
  end function protocol

  function list(x) result(text)
    real(c_double), intent(in) :: x(:)
    character(len=:), allocatable :: text
    integer :: i
    text = number_text(x(1))
    do i = 2, size(x)
       text = text // ', ' // number_text(x(i))
    end do
  end function list

end program lorenz_discovery

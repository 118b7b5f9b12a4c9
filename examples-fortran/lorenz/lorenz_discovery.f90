!> Equation discovery through a black-box integrator: Lorenz-63.
!>
!> A legacy-style RK4 integrator advances a 3-variable ODE whose right-hand
!> side calls a network: polynomial features of (x, y, z) up to degree 2
!> followed by a linear layer, so the weights are the coefficients of the
!> equations (a SINDy library). zoo sees only the multi-step trajectory
!> error of short segments of observed Lorenz-63 trajectories (sigma = 10,
!> rho = 28, beta = 8/3, sampled at dt = 0.01): no derivatives and no
!> access to the true right-hand side. Sequential thresholding (prune the
!> small coefficients, train on) makes the model sparse.
!>
!> Baseline on the same data: central finite-difference derivatives plus
!> sequentially thresholded least squares (SINDy's STLSQ), below.
!>
!> Usage: lorenz_discovery [--quick]
!>   prints, for noise-free data and for 1% noise, each method's recovered
!>   terms, false positives, relative coefficient error and forecast error.
!>   --quick: noise-free only, shorter training; stops with code 1 unless
!>   zoo recovers exactly the 7 true terms.
module lorenz_problem
  use, intrinsic :: iso_c_binding
  use, intrinsic :: ieee_arithmetic, only: ieee_value, ieee_positive_inf
  use zoo
  implicit none
  integer, parameter :: NVAR = 3, NLIB = 10      ! library: 1, x, y, z, x^2, xy, xz, y^2, yz, z^2
  integer, parameter :: NDATA = 2000, NSEG = 40, HORIZON = 10
  real(c_double), parameter :: DT = 0.01_c_double
  real(c_double), parameter :: SIGMA = 10, RHO = 28, BETA = 8.0_c_double / 3
  character(len=4), parameter :: TERM_NAMES(NLIB) = &
       [character(len=4) :: '1', 'x', 'y', 'z', 'x^2', 'xy', 'xz', 'y^2', 'yz', 'z^2']

  !> The network works in scaled units, as a host code would set it up:
  !> inputs s / scale, and ds/dt = RATE * scale * output, so that every
  !> feature and coefficient is of order one.
  real(c_double), parameter :: RATE = 10

  !> What the loss callback needs.
  type :: segments
     real(c_double) :: observed(NVAR, 0:HORIZON, NSEG)
     real(c_double) :: scale(NVAR)
  end type segments

contains

  !> The true coefficients in the library's order, one column per equation.
  function true_coefficients() result(xi)
    real(c_double) :: xi(NLIB, NVAR)
    xi = 0
    xi(2, 1) = -SIGMA; xi(3, 1) = SIGMA
    xi(2, 2) = RHO; xi(3, 2) = -1; xi(7, 2) = -1
    xi(4, 3) = -BETA; xi(6, 3) = 1
  end function true_coefficients

  !> The library of one state.
  pure function library(s) result(theta)
    real(c_double), intent(in) :: s(NVAR)
    real(c_double) :: theta(NLIB)
    theta = [1.0_c_double, s(1), s(2), s(3), s(1)**2, s(1) * s(2), s(1) * s(3), s(2)**2, s(2) * s(3), s(3)**2]
  end function library

  !> One RK4 step of ds/dt = xi' library(s) for every column of s.
  subroutine rk4_coefficients(xi, s)
    real(c_double), intent(in) :: xi(NLIB, NVAR)
    real(c_double), intent(inout) :: s(:, :)
    real(c_double), dimension(NVAR, size(s, 2)) :: k1, k2, k3, k4
    call rhs(s, k1)
    call rhs(s + 0.5_c_double * DT * k1, k2)
    call rhs(s + 0.5_c_double * DT * k2, k3)
    call rhs(s + DT * k3, k4)
    s = s + DT / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
  contains
    subroutine rhs(state, ds)
      real(c_double), intent(in) :: state(:, :)
      real(c_double), intent(out) :: ds(:, :)
      integer :: j
      do j = 1, size(state, 2)
         ds(:, j) = matmul(library(state(:, j)), xi)
      end do
    end subroutine rhs
  end subroutine rk4_coefficients

  !> The legacy integrator with the network as right-hand side: one RK4
  !> step for every column of s; the network sees all columns as a batch.
  subroutine rk4_network(candidate, scale, s, stat)
    type(c_ptr), intent(in) :: candidate
    real(c_double), intent(in) :: scale(NVAR)
    real(c_double), intent(inout) :: s(:, :)
    integer, intent(out) :: stat
    real(c_double), dimension(NVAR, size(s, 2)) :: k1, k2, k3, k4
    call rhs(s, k1)
    if (stat == 0) call rhs(s + 0.5_c_double * DT * k1, k2)
    if (stat == 0) call rhs(s + 0.5_c_double * DT * k2, k3)
    if (stat == 0) call rhs(s + DT * k3, k4)
    if (stat == 0) s = s + DT / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
  contains
    subroutine rhs(state, ds)
      real(c_double), intent(in) :: state(:, :)
      real(c_double), intent(out) :: ds(:, :)
      call zoo_candidate_forward_batch(candidate, state / spread(scale, 2, size(state, 2)), ds, stat)
      ds = RATE * spread(scale, 2, size(state, 2)) * ds
    end subroutine rhs
  end subroutine rk4_network

  !> zoo's loss: the scaled mean squared error of every segment integrated
  !> HORIZON steps from its first observed state. Blow-ups give +inf,
  !> which zoo drops (nonfinite=skip).
  function trajectory_loss(userdata, candidate, loss) bind(c) result(status)
    type(c_ptr), value :: userdata, candidate
    real(c_double), intent(out) :: loss
    integer(c_int32_t) :: status
    type(segments), pointer :: p
    real(c_double) :: s(NVAR, NSEG)
    integer :: t, j, stat
    call c_f_pointer(userdata, p)
    s = p%observed(:, 0, :)
    loss = 0
    status = 0
    do t = 1, HORIZON
       call rk4_network(candidate, p%scale, s, stat)
       if (stat /= 0) then
          status = 1
          return
       end if
       if (any(abs(s) > 1e6_c_double)) then
          loss = ieee_value(loss, ieee_positive_inf)   ! the candidate blew up
          return
       end if
       do j = 1, NSEG
          loss = loss + sum(((s(:, j) - p%observed(:, t, j)) / p%scale)**2)
       end do
    end do
    loss = loss / (NVAR * NSEG * HORIZON)
  end function trajectory_loss

  !> Observations: the true system integrated by RK4 at DT from a point on
  !> the attractor, plus Gaussian noise of `noise` times each variable's
  !> standard deviation.
  subroutine observe(states, noise, seed)
    real(c_double), intent(out) :: states(NVAR, 0:NDATA)
    real(c_double), intent(in) :: noise
    integer, intent(in) :: seed
    real(c_double) :: s(NVAR, 1), xi(NLIB, NVAR), sd(NVAR), u(2)
    integer :: t, v
    integer, allocatable :: state(:)
    xi = true_coefficients()
    s(:, 1) = [-8.0_c_double, 7.0_c_double, 27.0_c_double]
    do t = 1, 500       ! onto the attractor
       call rk4_coefficients(xi, s)
    end do
    do t = 0, NDATA
       states(:, t) = s(:, 1)
       call rk4_coefficients(xi, s)
    end do
    if (noise > 0) then
       call random_seed(size=v)
       allocate (state(v))
       state = seed + [(17 * t, t = 1, v)]
       call random_seed(put=state)
       sd = standard_deviation(states)
       do t = 0, NDATA
          do v = 1, NVAR
             call random_number(u)
             states(v, t) = states(v, t) + noise * sd(v) * &
                  sqrt(-2 * log(1 - u(1))) * cos(6.283185307179586_c_double * u(2))
          end do
       end do
    end if
  end subroutine observe

  function standard_deviation(states) result(sd)
    real(c_double), intent(in) :: states(:, 0:)
    real(c_double) :: sd(NVAR)
    integer :: v, n
    n = size(states, 2)
    do v = 1, NVAR
       sd(v) = sqrt(sum((states(v, :) - sum(states(v, :)) / n)**2) / (n - 1))
    end do
  end function standard_deviation

  !> Sequentially thresholded least squares on finite-difference
  !> derivatives (the SINDy baseline).
  function stlsq(states, threshold) result(xi)
    real(c_double), intent(in) :: states(NVAR, 0:NDATA), threshold
    real(c_double) :: xi(NLIB, NVAR)
    real(c_double) :: theta(NDATA - 1, NLIB), dsdt(NDATA - 1, NVAR)
    logical :: keep(NLIB, NVAR)
    integer :: t, v, round
    do t = 1, NDATA - 1
       theta(t, :) = library(states(:, t))
       dsdt(t, :) = (states(:, t + 1) - states(:, t - 1)) / (2 * DT)
    end do
    keep = .true.
    do round = 1, 10
       do v = 1, NVAR
          xi(:, v) = least_squares(theta, dsdt(:, v), keep(:, v))
       end do
       keep = abs(xi) >= threshold
    end do
    where (.not. keep) xi = 0
  end function stlsq

  !> Least squares restricted to the kept columns (normal equations,
  !> Gaussian elimination with partial pivoting).
  function least_squares(a, b, keep) result(x)
    real(c_double), intent(in) :: a(:, :), b(:)
    logical, intent(in) :: keep(:)
    real(c_double) :: x(size(a, 2))
    real(c_double), allocatable :: m(:, :), r(:)
    integer, allocatable :: cols(:)
    integer :: n, i, k, pivot
    cols = pack([(i, i = 1, size(a, 2))], keep)
    n = size(cols)
    x = 0
    if (n == 0) return
    m = matmul(transpose(a(:, cols)), a(:, cols))
    r = matmul(transpose(a(:, cols)), b)
    do k = 1, n
       pivot = k - 1 + maxloc(abs(m(k:, k)), 1)
       m([k, pivot], :) = m([pivot, k], :)
       r([k, pivot]) = r([pivot, k])
       do i = k + 1, n
          r(i) = r(i) - m(i, k) / m(k, k) * r(k)
          m(i, :) = m(i, :) - m(i, k) / m(k, k) * m(k, :)
       end do
    end do
    do k = n, 1, -1
       r(k) = (r(k) - dot_product(m(k, k + 1:), r(k + 1:))) / m(k, k)
    end do
    x(cols) = r
  end function least_squares

  !> The network's weights as library coefficients in the original units:
  !> W is outputs x 9 features (row-major in zoo's layout), the bias is the
  !> constant term; undo the scaling of inputs and outputs.
  function coefficients_of(params, scale) result(xi)
    real(c_double), intent(in) :: params(:), scale(NVAR)
    real(c_double) :: xi(NLIB, NVAR)
    real(c_double) :: feature_scale(NLIB)
    integer :: v
    feature_scale = library(scale)
    do v = 1, NVAR
       xi(1, v) = params(3 * 9 + v)
       xi(2:, v) = params((v - 1) * 9 + 1:v * 9)
       xi(:, v) = xi(:, v) * RATE * scale(v) / feature_scale
    end do
  end function coefficients_of

  !> Terms found, false terms, relative coefficient error, and the RMS
  !> forecast error (in units of each variable's standard deviation) over
  !> 0.5 time units from 20 unseen states on the attractor.
  subroutine report(method, noise, xi, ok)
    character(len=*), intent(in) :: method
    real(c_double), intent(in) :: noise, xi(NLIB, NVAR)
    logical, intent(out) :: ok
    real(c_double) :: truth(NLIB, NVAR), fresh(NVAR, 0:NDATA), sd(NVAR)
    real(c_double) :: a(NVAR, 20), b(NVAR, 20), error, forecast
    integer :: found, false_terms, t
    truth = true_coefficients()
    found = count(xi /= 0 .and. truth /= 0)
    false_terms = count(xi /= 0 .and. truth == 0)
    error = norm2(xi - truth) / norm2(truth)
    call observe(fresh, 0.0_c_double, 0)
    sd = standard_deviation(fresh)
    ! Unseen states: further along the attractor than the training data.
    a = fresh(:, NDATA - 19 * 50:NDATA:50)
    call continue_true(a)
    b = a
    forecast = 0
    do t = 1, 50
       call rk4_coefficients(truth, a)
       call rk4_coefficients(xi, b)
       forecast = forecast + sum(((a - b) / spread(sd, 2, 20))**2)
    end do
    forecast = sqrt(forecast / (50 * 20 * NVAR))
    write (*, '(a8, f7.2, a, i4, a, i6, es13.3, es13.3)') method, 100 * noise, '%', found, '/7', &
         false_terms, error, forecast
    ok = found == 7 .and. false_terms == 0
  contains
    subroutine continue_true(s)
      real(c_double), intent(inout) :: s(:, :)
      integer :: k
      do k = 1, 3000
         call rk4_coefficients(truth, s)
      end do
    end subroutine continue_true
  end subroutine report

  subroutine print_equations(xi)
    real(c_double), intent(in) :: xi(NLIB, NVAR)
    character(len=*), parameter :: lhs(NVAR) = ['dx/dt', 'dy/dt', 'dz/dt']
    integer :: v, j
    do v = 1, NVAR
       write (*, '(4x, a, a)', advance='no') lhs(v), ' ='
       do j = 1, NLIB
          if (xi(j, v) /= 0) write (*, '(sp, f10.4, ss, 1x, a)', advance='no') xi(j, v), trim(TERM_NAMES(j))
       end do
       write (*, *)
    end do
  end subroutine print_equations

end module lorenz_problem

program lorenz_discovery
  use, intrinsic :: iso_c_binding
  use zoo
  use lorenz_problem
  implicit none
  ! Raw units for STLSQ; zoo thresholds its scaled coefficients.
  real(c_double), parameter :: THRESHOLD = 0.1_c_double, SCALED_THRESHOLD = 0.05_c_double
  ! Rounds of training, each but the last followed by a thresholding.
  integer, parameter :: PHASES = 3
  type(segments), target :: data
  real(c_double) :: states(NVAR, 0:NDATA), noise, loss, xi(NLIB, NVAR)
  real(c_double), allocatable :: params(:)
  type(zoo_model) :: model
  type(zoo_trainer) :: trainer
  character(len=16) :: arg
  logical :: quick, ok, all_ok
  integer :: level, j, phase, k, iterations, pruned, nlevels
  real(c_double), parameter :: levels(2) = [0.0_c_double, 0.01_c_double]

  call get_command_argument(1, arg)
  quick = trim(arg) == '--quick'
  nlevels = merge(1, 2, quick)
  iterations = merge(1500, 3000, quick)
  all_ok = .true.
  write (*, '(a)') 'Lorenz-63 from trajectories through a black-box RK4 integrator'
  write (*, '(a8, a8, a6, a6, a13, a13)') 'method', 'noise', 'terms', 'false', 'coef. error', 'forecast'
  do level = 1, nlevels
     noise = levels(level)
     call observe(states, noise, 7)
     data%scale = standard_deviation(states)
     do j = 1, NSEG
        data%observed(:, :, j) = states(:, (j - 1) * (NDATA / NSEG):(j - 1) * (NDATA / NSEG) + HORIZON)
     end do

     ! zoo: polynomial features (degree 2) + linear layer, from zero.
     call zoo_model_new_polynomial(model, 3, 2, 3, 1_c_int64_t)
     allocate (params(zoo_model_num_params(model)))
     params = 0
     call zoo_model_set_params(model, params)
     ! One cosine decay of the learning rate per phase.
     write (arg, '(i0)') iterations
     call zoo_trainer_new(trainer, model, 'estimator=cge-central mu=1e-6 optimizer=adam lr=0.1 ' // &
          'schedule=cosine-restarts lr_min=0.0001 threads=2 schedule_iterations=' // trim(arg))
     call zoo_model_free(model)
     do phase = 1, PHASES
        ! Each phase: train, then prune the coefficients below the threshold.
        do k = 1, iterations
           call zoo_step(trainer, trajectory_loss, userdata=c_loc(data), flags=ZOO_THREADSAFE, loss=loss)
        end do
        if (phase < PHASES) call zoo_trainer_threshold(trainer, SCALED_THRESHOLD, .true., pruned)
     end do
     call zoo_trainer_get_params(trainer, params)
     xi = coefficients_of(params, data%scale)
     call zoo_trainer_free(trainer)
     deallocate (params)
     call report('zoo', noise, xi, ok)
     if (.not. quick) call print_equations(xi)
     all_ok = all_ok .and. ok

     xi = stlsq(states, THRESHOLD)
     call report('STLSQ', noise, xi, ok)
     if (.not. quick) call print_equations(xi)
  end do
  if (quick .and. .not. all_ok) error stop 1
end program lorenz_discovery

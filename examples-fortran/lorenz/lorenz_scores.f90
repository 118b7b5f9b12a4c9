!> How every method is scored: the validation forecast error that chooses
!> hyper-parameters (noisy data only), the selection rule, and the test
!> metrics against the truth.
module lorenz_scores
  use, intrinsic :: iso_c_binding, only: c_double
  use lorenz_system
  use lorenz_shooting, only: shooting, setup_segments, linearize, segment_misfits
  implicit none
  private
  public :: validation_errors, score, select_candidate, forecast_error

  !> Test forecasts: from TEST_STATES unseen states, TEST_TIME time units.
  integer, parameter, public :: TEST_STATES = 20
  real(c_double), parameter, public :: TEST_TIME = 1
  !> Gauss-Newton steps fitting a validation segment's initial state.
  integer, parameter :: VALIDATION_STEPS = 6
  real(c_double), parameter :: RESOLUTION = 1e-8_c_double

contains

  !> The error of the model xi on each validation segment: the segment's
  !> initial state is fitted to the segment's observations for this model
  !> (Gauss-Newton, as in training), and the error is the remaining mean
  !> squared misfit in units of each variable's standard deviation. A
  !> forecast from the noisy first sample instead would favour overly
  !> dissipative models, which damp the noise of that sample.
  function validation_errors(xi, samples, every, horizon, scale) result(e)
    real(c_double), intent(in) :: xi(NLIB, NVAR), samples(:, 0:), scale(NVAR)
    integer, intent(in) :: every, horizon
    real(c_double), allocatable :: e(:)
    type(shooting) :: p
    call setup_segments(p, samples, every, horizon, scale)
    call linearize(p, xi, VALIDATION_STEPS)
    e = segment_misfits(p, xi)
  end function validation_errors

  !> A set of validation errors as one number: the mean logarithm of the
  !> segments' errors. Logarithms, because a segment near the saddle at
  !> the origin can cost a model 100 times more than the others, and a
  !> plain mean then hangs on that one segment. Errors below RESOLUTION
  !> (an RMS misfit of 10^-4 standard deviations) count as RESOLUTION:
  !> the model integrator's own error is of that order, so smaller
  !> differences say nothing about the equations.
  pure function score(errors, resolved) result(m)
    real(c_double), intent(in) :: errors(:)
    logical, intent(in) :: resolved   ! .false.: no floor (to rank fits of one support)
    real(c_double) :: m
    m = sum(log(max(errors, merge(RESOLUTION, tiny(m), resolved)))) / size(errors)
  end function score

  !> The one-standard-error rule, paired over validation segments: a
  !> candidate is acceptable when its score (above) exceeds the lowest one
  !> by at most the standard error of the per-segment differences of log
  !> errors; among the acceptable ones, the one with the fewest terms,
  !> ties to the lower score. Sparser models are preferred only where the
  !> data cannot tell them apart from the best one. (Pairing matters: the
  !> errors vary far more from segment to segment than from model to
  !> model.)
  function select_candidate(errors, terms) result(best)
    real(c_double), intent(in) :: errors(:, :)    ! (segments, candidates)
    integer, intent(in) :: terms(:)
    integer :: best
    real(c_double) :: logs(size(errors, 1), size(errors, 2)), mean(size(errors, 2)), diff(size(errors, 1))
    real(c_double) :: fine(size(errors, 2))
    real(c_double) :: excess, se
    integer :: i, lowest, n
    n = size(errors, 1)
    logs = log(max(errors, RESOLUTION))
    mean = sum(logs, 1) / n
    fine = sum(log(max(errors, tiny(se))), 1) / n
    lowest = minloc(mean, 1)
    best = lowest
    do i = 1, size(mean)
       diff = logs(:, i) - logs(:, lowest)
       excess = sum(diff) / n
       se = sqrt(sum((diff - excess)**2) / (n - 1) / n)
       if (excess <= se) then
          if (terms(i) < terms(best) .or. (terms(i) == terms(best) .and. fine(i) < fine(best))) best = i
       end if
    end do
  end function select_candidate

  !> RMS forecast error of the equations xi against the true system, both
  !> integrated at the data's fine step, over TEST_TIME from each column
  !> of `states`, in units of each variable's standard deviation. A huge
  !> value when the model blows up.
  function forecast_error(xi, states, sd) result(rms)
    real(c_double), intent(in) :: xi(NLIB, NVAR), states(:, :), sd(NVAR)
    real(c_double) :: rms
    real(c_double) :: a(NVAR, size(states, 2)), b(NVAR, size(states, 2)), h
    integer :: t, n, j
    h = H_MODEL / DATA_SUBSTEPS
    n = nint(TEST_TIME / H_MODEL)
    a = states
    b = states
    rms = 0
    do t = 1, n
       call advance(true_coefficients(), h, DATA_SUBSTEPS, a)
       call advance(xi, h, DATA_SUBSTEPS, b)
       do j = 1, size(states, 2)
          rms = rms + sum(((a(:, j) - b(:, j)) / sd)**2)
       end do
    end do
    rms = sqrt(rms / (n * size(states, 2) * NVAR))
  end function forecast_error

end module lorenz_scores

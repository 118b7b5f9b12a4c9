!> Lorenz-63, its polynomial library, integrators and the observations.
!>
!> Two integrators, on purpose different: the model's RK4 takes steps of
!> H_MODEL, the data come from RK4 at H_MODEL / DATA_SUBSTEPS, so that no
!> method can reach the data by reproducing the generator's own
!> discretisation error.
module lorenz_system
  use, intrinsic :: iso_c_binding, only: c_double
  use, intrinsic :: iso_fortran_env, only: int64
  implicit none
  private

  integer, parameter, public :: NVAR = 3, NLIB = 10   ! library: 1, x, y, z, x^2, xy, xz, y^2, yz, z^2
  real(c_double), parameter, public :: SIGMA = 10, RHO = 28, BETA = 8.0_c_double / 3
  !> The model's integrator step; sampling intervals are multiples of it.
  real(c_double), parameter, public :: H_MODEL = 0.01_c_double
  integer, parameter, public :: DATA_SUBSTEPS = 20
  !> Scaled units: inputs s / scale and ds/dt = RATE * scale * output, so
  !> that every feature and every coefficient is of order one. Thresholds
  !> of every method apply to coefficients in these units.
  real(c_double), parameter, public :: RATE = 10
  character(len=3), parameter, public :: TERM_NAMES(NLIB) = &
       [character(len=3) :: '1', 'x', 'y', 'z', 'x^2', 'xy', 'xz', 'y^2', 'yz', 'z^2']

  !> A reproducible stream (L'Ecuyer's combined LCG): the same numbers
  !> with every compiler, unlike random_number.
  type, public :: stream
     integer(int64) :: s1 = 1, s2 = 1
  end type stream

  public :: true_coefficients, library, rk4_step, advance, on_attractor, observe
  public :: standard_deviation, to_scaled, from_scaled, new_stream, uniform, normal
  public :: support_counts, coefficient_error, number_text

contains

  !> The true coefficients in the library's order, one column per equation.
  pure function true_coefficients() result(xi)
    real(c_double) :: xi(NLIB, NVAR)
    xi = 0
    xi(2, 1) = -SIGMA; xi(3, 1) = SIGMA
    xi(2, 2) = RHO; xi(3, 2) = -1; xi(7, 2) = -1
    xi(4, 3) = -BETA; xi(6, 3) = 1
  end function true_coefficients

  pure function library(s) result(theta)
    real(c_double), intent(in) :: s(NVAR)
    real(c_double) :: theta(NLIB)
    theta = [1.0_c_double, s(1), s(2), s(3), s(1)**2, s(1) * s(2), s(1) * s(3), s(2)**2, s(2) * s(3), s(3)**2]
  end function library

  !> One RK4 step of ds/dt = xi' library(s), step h, for every column of s.
  pure subroutine rk4_step(xi, h, s)
    real(c_double), intent(in) :: xi(NLIB, NVAR), h
    real(c_double), intent(inout) :: s(:, :)
    real(c_double), dimension(NVAR, size(s, 2)) :: k1, k2, k3, k4
    call rhs(s, k1)
    call rhs(s + 0.5_c_double * h * k1, k2)
    call rhs(s + 0.5_c_double * h * k2, k3)
    call rhs(s + h * k3, k4)
    s = s + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
  contains
    pure subroutine rhs(state, ds)
      real(c_double), intent(in) :: state(:, :)
      real(c_double), intent(out) :: ds(:, :)
      integer :: j
      do j = 1, size(state, 2)
         ds(:, j) = matmul(library(state(:, j)), xi)
      end do
    end subroutine rhs
  end subroutine rk4_step

  !> n steps of h; columns leaving |s| < 1e4 are frozen at a huge value so
  !> that callers see a blow-up instead of overflows.
  pure subroutine advance(xi, h, n, s)
    real(c_double), intent(in) :: xi(NLIB, NVAR), h
    integer, intent(in) :: n
    real(c_double), intent(inout) :: s(:, :)
    integer :: k
    do k = 1, n
       call rk4_step(xi, h, s)
       if (any(abs(s) > 1e4_c_double)) then
          where (abs(s) > 1e4_c_double .or. s /= s) s = 1e4_c_double
       end if
    end do
  end subroutine advance

  !> A state on the attractor: a random start near the origin, then 20 time
  !> units of the true system.
  function on_attractor(rng) result(s)
    type(stream), intent(inout) :: rng
    real(c_double) :: s(NVAR)
    real(c_double) :: a(NVAR, 1)
    integer :: v
    do v = 1, NVAR
       a(v, 1) = 10 * (2 * uniform(rng) - 1)
    end do
    a(3, 1) = a(3, 1) + 25
    call advance(true_coefficients(), H_MODEL / DATA_SUBSTEPS, nint(20 / (H_MODEL / DATA_SUBSTEPS)), a)
    s = a(:, 1)
  end function on_attractor

  !> n + 1 samples, every `every` model steps, of the true system from s0,
  !> integrated at the fine step; then Gaussian noise of `noise` times each
  !> variable's standard deviation (over these samples).
  subroutine observe(s0, every, n, noise, rng, samples)
    real(c_double), intent(in) :: s0(NVAR), noise
    integer, intent(in) :: every, n
    type(stream), intent(inout) :: rng
    real(c_double), intent(out) :: samples(NVAR, 0:n)
    real(c_double) :: s(NVAR, 1), sd(NVAR)
    integer :: t, v
    s(:, 1) = s0
    samples(:, 0) = s0
    do t = 1, n
       call advance(true_coefficients(), H_MODEL / DATA_SUBSTEPS, every * DATA_SUBSTEPS, s)
       samples(:, t) = s(:, 1)
    end do
    if (noise > 0) then
       sd = standard_deviation(samples)
       do t = 0, n
          do v = 1, NVAR
             samples(v, t) = samples(v, t) + noise * sd(v) * normal(rng)
          end do
       end do
    end if
  end subroutine observe

  function standard_deviation(states) result(sd)
    real(c_double), intent(in) :: states(:, :)
    real(c_double) :: sd(NVAR)
    integer :: v, n
    n = size(states, 2)
    do v = 1, NVAR
       sd(v) = sqrt(sum((states(v, :) - sum(states(v, :)) / n)**2) / (n - 1))
    end do
  end function standard_deviation

  !> Coefficients in scaled units (see RATE) and back.
  pure function to_scaled(xi, scale) result(c)
    real(c_double), intent(in) :: xi(NLIB, NVAR), scale(NVAR)
    real(c_double) :: c(NLIB, NVAR)
    integer :: v
    do v = 1, NVAR
       c(:, v) = xi(:, v) * library(scale) / (RATE * scale(v))
    end do
  end function to_scaled

  pure function from_scaled(c, scale) result(xi)
    real(c_double), intent(in) :: c(NLIB, NVAR), scale(NVAR)
    real(c_double) :: xi(NLIB, NVAR)
    integer :: v
    do v = 1, NVAR
       xi(:, v) = c(:, v) * RATE * scale(v) / library(scale)
    end do
  end function from_scaled

  !> True terms found and false terms, against the true support.
  pure subroutine support_counts(xi, found, false_terms)
    real(c_double), intent(in) :: xi(NLIB, NVAR)
    integer, intent(out) :: found, false_terms
    real(c_double) :: truth(NLIB, NVAR)
    truth = true_coefficients()
    found = count(xi /= 0 .and. truth /= 0)
    false_terms = count(xi /= 0 .and. truth == 0)
  end subroutine support_counts

  !> ||xi - xi_true|| / ||xi_true|| over all 30 coefficients.
  pure function coefficient_error(xi) result(e)
    real(c_double), intent(in) :: xi(NLIB, NVAR)
    real(c_double) :: e
    real(c_double) :: truth(NLIB, NVAR)
    truth = true_coefficients()
    e = norm2(xi - truth) / norm2(truth)
  end function coefficient_error

  function new_stream(seed) result(rng)
    integer, intent(in) :: seed
    type(stream) :: rng
    integer :: k
    real(c_double) :: discard
    rng%s1 = 1 + mod(int(seed, int64) * 7919_int64 + 12345_int64, 2147483562_int64)
    rng%s2 = 1 + mod(int(seed, int64) * 104729_int64 + 678_int64, 2147483398_int64)
    do k = 1, 10
       discard = uniform(rng)
    end do
  end function new_stream

  !> Uniform in (0, 1).
  function uniform(rng) result(u)
    type(stream), intent(inout) :: rng
    real(c_double) :: u
    integer(int64) :: z
    rng%s1 = mod(40014_int64 * rng%s1, 2147483563_int64)
    rng%s2 = mod(40692_int64 * rng%s2, 2147483399_int64)
    z = rng%s1 - rng%s2
    if (z < 1) z = z + 2147483562_int64
    u = real(z, c_double) / 2147483563.0_c_double
  end function uniform

  function normal(rng) result(g)
    type(stream), intent(inout) :: rng
    real(c_double) :: g
    real(c_double) :: u1, u2
    u1 = uniform(rng)
    u2 = uniform(rng)
    g = sqrt(-2 * log(u1)) * cos(6.283185307179586_c_double * u2)
  end function normal

  !> A number as people write it: 20, 0.5, 0.0005 (six decimals at most).
  function number_text(x) result(text)
    class(*), intent(in) :: x
    character(len=:), allocatable :: text
    character(len=40) :: buffer
    integer :: n
    select type (x)
    type is (integer)
       write (buffer, '(i0)') x
    type is (real(c_double))
       write (buffer, '(f0.6)') x
       buffer = adjustl(buffer)
       n = len_trim(buffer)
       do while (buffer(n:n) == '0')
          n = n - 1
       end do
       if (buffer(n:n) == '.') n = n - 1
       buffer = buffer(1:n)
       if (buffer(1:1) == '.') buffer = '0' // buffer
       if (buffer(1:2) == '-.') buffer = '-0' // buffer(2:)
       if (n == 0) buffer = '0'
    class default
       buffer = '?'
    end select
    text = trim(buffer)
  end function number_text

end module lorenz_system

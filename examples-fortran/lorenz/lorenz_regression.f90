!> The baselines' regressions: finite-difference derivatives (2nd and 4th
!> order) or the weak form, then sequentially thresholded least squares.
!> Everything works in scaled units (lorenz_system's RATE), the same units
!> in which zoo's coefficients are thresholded.
module lorenz_regression
  use, intrinsic :: iso_c_binding, only: c_double
  use lorenz_system
  implicit none
  private
  public :: stlsq, least_squares, fd_system, weak_system

contains

  !> Sequentially thresholded least squares: fit, drop the coefficients
  !> below lambda, refit on the rest until the support stops changing.
  function stlsq(a, b, lambda) result(c)
    real(c_double), intent(in) :: a(:, :), b(:, :), lambda
    real(c_double) :: c(NLIB, NVAR)
    logical :: keep(NLIB, NVAR), next(NLIB, NVAR)
    integer :: v, round
    keep = .true.
    do round = 1, 2 * NLIB
       do v = 1, NVAR
          c(:, v) = least_squares(a, b(:, v), keep(:, v))
       end do
       next = keep .and. abs(c) >= lambda
       if (all(next .eqv. keep)) exit
       keep = next
    end do
    where (.not. keep) c = 0
  end function stlsq

  !> Least squares restricted to the kept columns, by Householder QR (the
  !> normal equations would square the library's condition number).
  function least_squares(a, b, keep) result(x)
    real(c_double), intent(in) :: a(:, :), b(:)
    logical, intent(in) :: keep(:)
    real(c_double) :: x(size(a, 2))
    real(c_double), allocatable :: q(:, :), r(:), v(:)
    integer, allocatable :: cols(:)
    integer :: n, m, i, k
    real(c_double) :: alpha, vnorm
    cols = pack([(i, i = 1, size(a, 2))], keep)
    n = size(cols)
    m = size(a, 1)
    x = 0
    if (n == 0 .or. m < n) return
    q = a(:, cols)
    r = b
    do k = 1, n
       v = q(k:, k)
       alpha = -sign(norm2(v), v(1))
       v(1) = v(1) - alpha
       vnorm = dot_product(v, v)
       if (vnorm > 0) then
          do i = k, n
             q(k:, i) = q(k:, i) - 2 * v * dot_product(v, q(k:, i)) / vnorm
          end do
          r(k:) = r(k:) - 2 * v * dot_product(v, r(k:)) / vnorm
       end if
    end do
    do k = n, 1, -1
       if (q(k, k) == 0) then
          r(k) = 0
       else
          r(k) = (r(k) - dot_product(q(k, k + 1:n), r(k + 1:n))) / q(k, k)
       end if
    end do
    x(cols) = r(1:n)
  end function least_squares

  !> Library rows and derivative targets from central finite differences
  !> of order 2 or 4 at the interior samples, in scaled units.
  subroutine fd_system(samples, dt, order, scale, a, b)
    real(c_double), intent(in) :: samples(:, 0:), dt, scale(NVAR)
    integer, intent(in) :: order
    real(c_double), allocatable, intent(out) :: a(:, :), b(:, :)
    integer :: n, i, w, row
    n = ubound(samples, 2)
    w = order / 2
    allocate (a(n + 1 - 2 * w, NLIB), b(n + 1 - 2 * w, NVAR))
    do i = w, n - w
       row = i - w + 1
       a(row, :) = library(samples(:, i) / scale)
       if (order == 2) then
          b(row, :) = (samples(:, i + 1) - samples(:, i - 1)) / (2 * dt)
       else
          b(row, :) = (8 * (samples(:, i + 1) - samples(:, i - 1)) - (samples(:, i + 2) - samples(:, i - 2))) &
               / (12 * dt)
       end if
       b(row, :) = b(row, :) / (RATE * scale)
    end do
  end subroutine fd_system

  !> The weak form on windows of 2 m + 1 samples centred at every sample:
  !> with the test function phi(u) = (1 - u^2)^p, u in [-1, 1] over the
  !> window, integral(phi ds/dt) = -integral(phi' s), so no derivative of
  !> the data is taken. The trapezoidal rule is exact up to high order
  !> here because phi and its first p - 1 derivatives vanish at both ends.
  subroutine weak_system(samples, dt, m, p, scale, a, b)
    real(c_double), intent(in) :: samples(:, 0:), dt, scale(NVAR)
    integer, intent(in) :: m, p
    real(c_double), allocatable, intent(out) :: a(:, :), b(:, :)
    real(c_double) :: phi(-m:m), dphi(-m:m), u
    real(c_double), allocatable :: theta(:, :)
    integer :: n, i, k, row
    n = ubound(samples, 2)
    do k = -m, m
       u = real(k, c_double) / m
       phi(k) = (1 - u**2)**p
       dphi(k) = -2 * p * u * (1 - u**2)**(p - 1) / (m * dt)
    end do
    ! Rows normalised by the test function's integral: each row is then a
    ! local average of the equation, of the size of a pointwise one.
    dphi = dphi / sum(phi)
    phi = phi / sum(phi)
    allocate (theta(0:n, NLIB), a(n + 1 - 2 * m, NLIB), b(n + 1 - 2 * m, NVAR))
    do i = 0, n
       theta(i, :) = library(samples(:, i) / scale)
    end do
    do i = m, n - m
       row = i - m + 1
       a(row, :) = matmul(phi, theta(i - m:i + m, :))
       b(row, :) = -matmul(samples(:, i - m:i + m), dphi) / (RATE * scale)
    end do
  end subroutine weak_system

end module lorenz_regression

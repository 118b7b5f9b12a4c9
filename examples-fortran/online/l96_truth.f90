!> The observations of the online demo and the model that makes them.
!>
!> - l96_observations: what the forecast code sees, X observed every
!>   DT_OBS time units (in a real code: read from a file).
!> - l96_truth: the two-scale Lorenz-96 system (Lorenz 1996), NX slow
!>   variables X_k, each coupled to J fast ones Y_{j,k} (k = 1 .. NX):
!>     dX_k/dt     = -X_{k-1} (X_{k-2} - X_{k+1}) - X_k + F - (h c / b) sum_j Y_{j,k}
!>     dY_{j,k}/dt = -c b Y_{j+1,k} (Y_{j+2,k} - Y_{j-1,k}) - c Y_{j,k} + (h c / b) X_k
!>   with NX = 8, J = 32, F = 20, h = 1, b = c = 10 (the setting of Arnold,
!>   Moroz and Palmer 2013), integrated by RK4 with dt = 0.001: five times
!>   finer than the forecast code, which never makes the data.
module l96_observations
  implicit none
  integer, parameter :: dp = kind(1.0d0)
  !> Slow variables.
  integer, parameter :: NX = 8
  !> Time between observations.
  real(dp), parameter :: DT_OBS = 0.05_dp
  !> obs(:, j): X observed at time j * DT_OBS, j = 0 .. size(obs, 2) - 1.
  real(dp), allocatable :: obs(:, :)
end module l96_observations

module l96_truth
  use l96_observations, only: dp, NX, DT_OBS
  implicit none
  private
  public :: make_truth, J, H, B, C, F_TRUTH, DT_FINE

  integer, parameter :: J = 32
  real(dp), parameter :: H = 1, B = 10, C = 10, F_TRUTH = 20, DT_FINE = 0.001_dp
  !> Time discarded before the first observation (the attractor is reached).
  real(dp), parameter :: SPIN_UP = 10

contains

  !> Observations x_obs(:, 0:nobs) of X and the true coupling term
  !> u(:, 0:nobs) = -(h c / b) sum_j Y_{j,k} at the same times, from a
  !> random initial state drawn from `seed`.
  subroutine make_truth(seed, nobs, x_obs, u)
    integer, intent(in) :: seed, nobs
    real(dp), intent(out) :: x_obs(NX, 0:nobs), u(NX, 0:nobs)
    real(dp) :: x(NX), y(J * NX)
    integer :: i, per_obs
    call initial_state(seed, x, y)
    per_obs = nint(DT_OBS / DT_FINE)
    do i = 1, nint(SPIN_UP / DT_FINE)
       call rk4(x, y)
    end do
    do i = 0, nobs
       if (i > 0) call advance(per_obs)
       x_obs(:, i) = x
       u(:, i) = coupling(y)
    end do
  contains
    subroutine advance(n)
      integer, intent(in) :: n
      integer :: s
      do s = 1, n
         call rk4(x, y)
      end do
    end subroutine advance
  end subroutine make_truth

  !> A state near the unstable fixed point X = F, Y = 0, with small
  !> deterministic perturbations drawn from `seed` (a linear congruential
  !> sequence, so the data are the same with every compiler).
  subroutine initial_state(seed, x, y)
    integer, intent(in) :: seed
    real(dp), intent(out) :: x(NX), y(J * NX)
    integer(8) :: state
    integer :: i
    state = 12345_8 + 7919_8 * seed
    do i = 1, NX
       x(i) = F_TRUTH + 0.5_dp * uniform()
    end do
    do i = 1, J * NX
       y(i) = 0.1_dp * uniform()
    end do
  contains
    function uniform() result(r)
      real(dp) :: r
      state = modulo(state * 1103515245_8 + 12345_8, 2147483648_8)
      r = 2 * real(state, dp) / 2147483648.0_dp - 1
    end function uniform
  end subroutine initial_state

  !> -(h c / b) sum_j Y_{j,k} for every k.
  pure function coupling(y) result(u)
    real(dp), intent(in) :: y(J * NX)
    real(dp) :: u(NX)
    u = -(H * C / B) * sum(reshape(y, [J, NX]), dim=1)
  end function coupling

  pure subroutine tendencies(x, y, dx, dy)
    real(dp), intent(in) :: x(NX), y(J * NX)
    real(dp), intent(out) :: dx(NX), dy(J * NX)
    integer :: i, n
    n = J * NX
    dx = coupling(y)
    do i = 1, NX
       dx(i) = dx(i) - x(wrap(i - 1, NX)) * (x(wrap(i - 2, NX)) - x(wrap(i + 1, NX))) - x(i) + F_TRUTH
    end do
    do i = 1, n
       dy(i) = -C * B * y(wrap(i + 1, n)) * (y(wrap(i + 2, n)) - y(wrap(i - 1, n))) - C * y(i) &
            + (H * C / B) * x((i - 1) / J + 1)
    end do
  end subroutine tendencies

  pure function wrap(i, n) result(w)
    integer, intent(in) :: i, n
    integer :: w
    w = modulo(i - 1, n) + 1
  end function wrap

  subroutine rk4(x, y)
    real(dp), intent(inout) :: x(NX), y(J * NX)
    real(dp) :: dx(NX, 4), dy(J * NX, 4)
    call tendencies(x, y, dx(:, 1), dy(:, 1))
    call tendencies(x + 0.5_dp * DT_FINE * dx(:, 1), y + 0.5_dp * DT_FINE * dy(:, 1), dx(:, 2), dy(:, 2))
    call tendencies(x + 0.5_dp * DT_FINE * dx(:, 2), y + 0.5_dp * DT_FINE * dy(:, 2), dx(:, 3), dy(:, 3))
    call tendencies(x + DT_FINE * dx(:, 3), y + DT_FINE * dy(:, 3), dx(:, 4), dy(:, 4))
    x = x + DT_FINE / 6 * (dx(:, 1) + 2 * dx(:, 2) + 2 * dx(:, 3) + dx(:, 4))
    y = y + DT_FINE / 6 * (dy(:, 1) + 2 * dy(:, 2) + 2 * dy(:, 3) + dy(:, 4))
  end subroutine rk4

end module l96_truth

!> A legacy-style forecast code for the slow variables of Lorenz-96:
!> module globals, a tendency routine with a fixed signature and one main
!> time loop. It knows only X; the coupling to the unresolved fast
!> variables is missing from its equations.
!>
!> The production run is a forecast cycle: every CYCLE steps the state is
!> re-initialised from the observation (direct insertion), then forecast
!> with RK4; the squared error against every observation is recorded.
!>
!> l96_host_uncoupled.f90 is the code as it was before zoo; l96_host.f90
!> is the same code with the lines marked "! zoo" added or changed.
module l96_host
  use l96_observations, only: dp, NX, obs
  implicit none
  real(dp), parameter :: F = 20, DT = 0.005_dp
  !> Steps between observations (DT_OBS / DT) and between analyses.
  integer, parameter :: OBS_EVERY = 10, CYCLE = 80
  !> The model state.
  real(dp) :: x(NX)
  !> sq_error(j): mean squared forecast error at observation j.
  real(dp), allocatable :: sq_error(:)

contains

  !> dX/dt of the resolved dynamics.
  subroutine tendency(x, dxdt)
    real(dp), intent(in) :: x(NX)
    real(dp), intent(out) :: dxdt(NX)
    real(dp) :: xh(-1:NX + 1)
    integer :: k
    xh(1:NX) = x
    xh(-1:0) = x(NX - 1:NX)
    xh(NX + 1) = x(1)
    do k = 1, NX
       dxdt(k) = -xh(k - 1) * (xh(k - 2) - xh(k + 1)) - xh(k) + F
    end do
  end subroutine tendency

  !> One classical Runge-Kutta step of length DT.
  subroutine rk4_step(x)
    real(dp), intent(inout) :: x(NX)
    real(dp) :: k1(NX), k2(NX), k3(NX), k4(NX)
    call tendency(x, k1)
    call tendency(x + 0.5_dp * DT * k1, k2)
    call tendency(x + 0.5_dp * DT * k2, k3)
    call tendency(x + DT * k3, k4)
    x = x + DT / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
  end subroutine rk4_step

  !> The production run: nsteps steps of the forecast cycle from step 0.
  subroutine run(nsteps)
    integer, intent(in) :: nsteps
    integer :: n
    if (allocated(sq_error)) deallocate(sq_error)
    allocate(sq_error(nsteps / OBS_EVERY))
    do n = 0, nsteps - 1
       if (mod(n, CYCLE) == 0) x = obs(:, n / OBS_EVERY)
       call rk4_step(x)
       if (mod(n + 1, OBS_EVERY) == 0) sq_error((n + 1) / OBS_EVERY) = sum((x - obs(:, (n + 1) / OBS_EVERY))**2) / NX
    end do
  end subroutine run

end module l96_host

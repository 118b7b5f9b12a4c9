!> 1D viscous Burgers, u_t + (u^2/2)_x = nu u_xx on a periodic domain of
!> length 2*pi, written the way a legacy finite-volume code is: plain
!> arrays, explicit loops, fixed parameters.
!>
!> - fine_solve: the reference. NFINE cells, MUSCL reconstruction with a
!>   minmod limiter, Rusanov flux, central diffusion, SSP-RK2.
!> - coarse_upwind_step: the low-fidelity solver of the correction task.
!>   NCOARSE cells, first-order Rusanov flux, forward Euler, a large step.
!> - coarse_central_step: the low-fidelity solver of the closure task.
!>   NCOARSE cells, non-dissipative central flux, SSP-RK3, a diffusion
!>   coefficient per cell (physical nu plus the closure's eddy viscosity).
!> All routines are recursive so that zoo may call them from several
!> threads at once (no static locals).
module burgers_solvers
  use, intrinsic :: iso_c_binding, only: dp => c_double
  implicit none
  private
  public :: dp, NFINE, NCOARSE, RATIO, DT_COARSE, NU, MODES, PI
  public :: initial_condition, fine_solve, downsample, coarse_upwind_step, coarse_central_step
  public :: rng_state, next_uniform

  real(dp), parameter :: PI = 3.14159265358979323846_dp
  integer, parameter :: NFINE = 512, NCOARSE = 32, RATIO = NFINE / NCOARSE
  !> Coarse time step; the fine solver takes FINE_PER_COARSE steps per coarse step.
  real(dp), parameter :: DT_COARSE = 0.1_dp
  integer, parameter :: FINE_PER_COARSE = 40
  !> Physical viscosity: an input of the code, set before any solve and
  !> only read afterwards (also by zoo's threads).
  real(dp) :: nu = 0.01_dp
  !> Fourier modes of the initial conditions (set like nu): with one, each
  !> initial condition steepens into a single dominant shock.
  integer :: modes = 4

contains

  !> A random smooth periodic field: `modes` Fourier modes with amplitudes
  !> decaying as 1/k, random phases, plus a random mean, scaled to
  !> max |u| = amplitude.
  !> Drawn with next_uniform, so it is identical everywhere.
  recursive subroutine initial_condition(seed, amplitude, x, u)
    integer, intent(in) :: seed
    real(dp), intent(in) :: amplitude
    real(dp), intent(in) :: x(:)
    real(dp), intent(out) :: u(:)
    integer(kind=8) :: state
    integer :: k
    real(dp) :: a, phase
    state = rng_state(seed)
    u = 0
    do k = 1, modes
       a = next_uniform(state) * 2 - 1
       phase = 2 * PI * next_uniform(state)
       u = u + a / k * sin(k * x + phase)
    end do
    u = u + 0.3_dp * (next_uniform(state) * 2 - 1)
    u = amplitude * u / maxval(abs(u))
  end subroutine initial_condition

  !> The generator state for `seed` (any integer).
  pure function rng_state(seed) result(state)
    integer, intent(in) :: seed
    integer(kind=8) :: state
    state = 1 + modulo(12345_8 + 7919_8 * seed, 2147483646_8)
  end function rng_state

  !> A uniform number in (0, 1) from the Park-Miller "minimal standard"
  !> generator (multiplier 48271, modulus 2^31 - 1). Every product fits in
  !> 64 bits: a 64-bit LCG would rely on signed overflow, which Fortran
  !> leaves undefined, and its draws changed with the optimization level.
  recursive function next_uniform(state) result(r)
    integer(kind=8), intent(inout) :: state
    real(dp) :: r
    state = modulo(48271_8 * state, 2147483647_8)
    r = real(state, dp) / 2147483647.0_dp
  end function next_uniform

  !> Cell centres of an n-cell grid of [0, 2 pi).
  pure function centres(n) result(x)
    integer, intent(in) :: n
    real(dp) :: x(n)
    integer :: i
    x = [((i - 0.5_dp) * 2 * PI / n, i = 1, n)]
  end function centres

  !> Rusanov flux of Burgers between left and right states.
  elemental function rusanov(ul, ur) result(f)
    real(dp), intent(in) :: ul, ur
    real(dp) :: f
    f = 0.25_dp * (ul * ul + ur * ur) - 0.5_dp * max(abs(ul), abs(ur)) * (ur - ul)
  end function rusanov

  elemental function minmod(a, b) result(m)
    real(dp), intent(in) :: a, b
    real(dp) :: m
    m = 0.5_dp * (sign(1.0_dp, a) + sign(1.0_dp, b)) * min(abs(a), abs(b))
  end function minmod

  !> du/dt of the fine scheme (MUSCL + Rusanov + central diffusion).
  recursive subroutine fine_rhs(u, dudt)
    real(dp), intent(in) :: u(NFINE)
    real(dp), intent(out) :: dudt(NFINE)
    real(dp) :: slope(NFINE), flux(0:NFINE), dx
    integer :: i, ip, im
    dx = 2 * PI / NFINE
    do i = 1, NFINE
       ip = modulo(i, NFINE) + 1
       im = modulo(i - 2, NFINE) + 1
       slope(i) = minmod(u(i) - u(im), u(ip) - u(i))
    end do
    do i = 1, NFINE
       ip = modulo(i, NFINE) + 1
       flux(i) = rusanov(u(i) + 0.5_dp * slope(i), u(ip) - 0.5_dp * slope(ip)) &
            - NU * (u(ip) - u(i)) / dx
    end do
    flux(0) = flux(NFINE)
    dudt = -(flux(1:NFINE) - flux(0:NFINE - 1)) / dx
  end subroutine fine_rhs

  !> Solves from u0 for nsteps coarse steps; trajectory(:, n) is the
  !> fine solution averaged onto the coarse grid at time n * DT_COARSE.
  recursive subroutine fine_solve(seed, amplitude, nsteps, trajectory)
    integer, intent(in) :: seed, nsteps
    real(dp), intent(in) :: amplitude
    real(dp), intent(out) :: trajectory(NCOARSE, 0:nsteps)
    real(dp) :: u(NFINE), stage(NFINE), k1(NFINE), k2(NFINE), dt
    integer :: n, s
    dt = DT_COARSE / FINE_PER_COARSE
    call initial_condition(seed, amplitude, centres(NFINE), u)
    trajectory(:, 0) = downsample(u)
    do n = 1, nsteps
       do s = 1, FINE_PER_COARSE
          call fine_rhs(u, k1)
          stage = u + dt * k1
          call fine_rhs(stage, k2)
          u = 0.5_dp * (u + stage + dt * k2)
       end do
       trajectory(:, n) = downsample(u)
    end do
  end subroutine fine_solve

  !> Cell averages of a fine field on the coarse grid.
  pure function downsample(fine) result(coarse)
    real(dp), intent(in) :: fine(NFINE)
    real(dp) :: coarse(NCOARSE)
    integer :: i
    do i = 1, NCOARSE
       coarse(i) = sum(fine((i - 1) * RATIO + 1:i * RATIO)) / RATIO
    end do
  end function downsample

  !> One step of the correction task's low-fidelity solver: first-order
  !> Rusanov, forward Euler, step DT_COARSE. Overwrites u with S(u).
  recursive subroutine coarse_upwind_step(u)
    real(dp), intent(inout) :: u(NCOARSE)
    real(dp) :: flux(0:NCOARSE), dx
    integer :: i, ip
    dx = 2 * PI / NCOARSE
    do i = 1, NCOARSE
       ip = modulo(i, NCOARSE) + 1
       flux(i) = rusanov(u(i), u(ip)) - NU * (u(ip) - u(i)) / dx
    end do
    flux(0) = flux(NCOARSE)
    u = u - DT_COARSE / dx * (flux(1:NCOARSE) - flux(0:NCOARSE - 1))
  end subroutine coarse_upwind_step

  !> du/dt of the closure task's scheme: central advective flux and a
  !> diffusion coefficient per cell, averaged onto faces.
  recursive subroutine central_rhs(u, diffusivity, dudt)
    real(dp), intent(in) :: u(NCOARSE), diffusivity(NCOARSE)
    real(dp), intent(out) :: dudt(NCOARSE)
    real(dp) :: flux(0:NCOARSE), dx
    integer :: i, ip
    dx = 2 * PI / NCOARSE
    do i = 1, NCOARSE
       ip = modulo(i, NCOARSE) + 1
       flux(i) = 0.25_dp * (u(i)**2 + u(ip)**2) &
            - 0.5_dp * (diffusivity(i) + diffusivity(ip)) * (u(ip) - u(i)) / dx
    end do
    flux(0) = flux(NCOARSE)
    dudt = -(flux(1:NCOARSE) - flux(0:NCOARSE - 1)) / dx
  end subroutine central_rhs

  !> One SSP-RK3 step of the closure task's solver with the per-cell
  !> diffusion coefficient `diffusivity` (held fixed during the step).
  recursive subroutine coarse_central_step(u, diffusivity)
    real(dp), intent(inout) :: u(NCOARSE)
    real(dp), intent(in) :: diffusivity(NCOARSE)
    real(dp) :: k(NCOARSE), u1(NCOARSE), u2(NCOARSE)
    call central_rhs(u, diffusivity, k)
    u1 = u + DT_COARSE * k
    call central_rhs(u1, diffusivity, k)
    u2 = 0.75_dp * u + 0.25_dp * (u1 + DT_COARSE * k)
    call central_rhs(u2, diffusivity, k)
    u = u / 3 + 2.0_dp / 3 * (u2 + DT_COARSE * k)
  end subroutine coarse_central_step

end module burgers_solvers

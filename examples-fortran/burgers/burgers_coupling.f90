!> The coarse Burgers solvers with their network couplings, as a host code
!> would add them, and the loss and error measures of the demo.
!>
!> - Correction task: after each coarse step S, every cell gets
!>   u_i <- S(u)_i + CORRECTION_SCALE * (f_i - mean(f)), where
!>   f_i = f(S(u)_{i-1}, S(u)_i, S(u)_{i+1}); removing the mean keeps the
!>   scheme conservative.
!> - Closure task: before each coarse step, every cell gets an eddy
!>   viscosity nu_t,i = CLOSURE_SCALE * softplus(f(u_{i-2}, ..., u_{i+2}))
!>   >= 0, which the solver adds to nu inside its diffusion operator.
!> The network is a zoo candidate (inside a loss callback), a trained zoo
!> model, a constant or a Smagorinsky-type eddy viscosity (the closure
!> baselines), or absent (SRC).
module burgers_coupling
  use, intrinsic :: iso_c_binding
  use zoo
  use burgers_solvers
  implicit none
  private
  public :: CORRECTION, CLOSURE, CORRECTION_SCALE, CLOSURE_SCALE, CORRECTION_INPUTS, CLOSURE_INPUTS
  public :: dataset, coupling, task, make_dataset, rollout, rollout_loss, test_errors
  public :: correction_pairs, training_loss, interpolated
  public :: NET_NONE, NET_CANDIDATE, NET_MODEL, NET_CONSTANT, NET_SMAGORINSKY

  !> Coupling kinds: none (SRC), a zoo candidate, a zoo model, a constant
  !> eddy viscosity, and nu_t = (c dx)^2 |du/dx| with c = constant.
  integer, parameter :: NET_NONE = 0, NET_CANDIDATE = 1, NET_MODEL = 2, NET_CONSTANT = 3, NET_SMAGORINSKY = 4

  integer, parameter :: CORRECTION = 1, CLOSURE = 2
  integer, parameter :: CORRECTION_INPUTS = 3, CLOSURE_INPUTS = 5
  real(dp), parameter :: CORRECTION_SCALE = 0.1_dp, CLOSURE_SCALE = 0.05_dp

  !> Reference trajectories on the coarse grid: ref(:, n, ic).
  type :: dataset
     integer :: nics = 0, nsteps = 0
     real(dp), allocatable :: ref(:, :, :)
  end type dataset

  !> What provides the network's outputs during a rollout.
  type :: coupling
     integer :: kind = NET_NONE   !< one of the NET_* kinds
     type(c_ptr) :: candidate = c_null_ptr
     type(zoo_model) :: model
     real(dp) :: constant = 0
  end type coupling

  !> What a loss callback needs (passed to zoo as userdata). The reference
  !> is observed only every `stride` coarse steps: the loss compares the
  !> rollout with it at those steps alone.
  type :: task
     integer :: kind = CORRECTION
     integer :: stride = 1
     type(dataset) :: train
  end type task

contains

  !> Reference trajectories of nics random initial conditions.
  subroutine make_dataset(data, first_seed, nics, nsteps, amplitude)
    type(dataset), intent(out) :: data
    integer, intent(in) :: first_seed, nics, nsteps
    real(dp), intent(in) :: amplitude
    integer :: ic
    data%nics = nics
    data%nsteps = nsteps
    allocate(data%ref(NCOARSE, 0:nsteps, nics))
    do ic = 1, nics
       call fine_solve(first_seed + ic - 1, amplitude, nsteps, data%ref(:, :, ic))
    end do
  end subroutine make_dataset

  !> Columns of x are the stencils of u around each cell (periodic).
  pure subroutine stencils(u, width, x)
    real(dp), intent(in) :: u(NCOARSE)
    integer, intent(in) :: width
    real(dp), intent(out) :: x(width, NCOARSE)
    integer :: i, j, half
    half = width / 2
    do i = 1, NCOARSE
       do j = 1, width
          x(j, i) = u(modulo(i + j - half - 2, NCOARSE) + 1)
       end do
    end do
  end subroutine stencils

  !> The network's outputs y(1, :) at the stencils x.
  recursive subroutine network(net, x, y, stat)
    type(coupling), intent(in) :: net
    real(dp), intent(in) :: x(:, :)
    real(dp), intent(out) :: y(:, :)
    integer, intent(out) :: stat
    stat = 0
    select case (net%kind)
    case (NET_CANDIDATE)
       call zoo_candidate_forward_batch(net%candidate, x, y, stat)
    case (NET_MODEL)
       call zoo_model_forward_batch(net%model, x, y, stat)
    case default
       y = net%constant
    end select
  end subroutine network

  !> The coarse solver's time loop for one initial condition, with the
  !> network calls of the task. traj(:, n) is the state after step n.
  recursive subroutine rollout(kind, net, u0, nsteps, traj, stat)
    integer, intent(in) :: kind, nsteps
    type(coupling), intent(in) :: net
    real(dp), intent(in) :: u0(NCOARSE)
    real(dp), intent(out) :: traj(NCOARSE, nsteps)
    integer, intent(out) :: stat
    real(dp) :: u(NCOARSE), x(CLOSURE_INPUTS, NCOARSE), y(1, NCOARSE), diffusivity(NCOARSE)
    integer :: n
    u = u0
    stat = 0
    do n = 1, nsteps
       if (kind == CORRECTION) then
          call coarse_upwind_step(u)
          if (net%kind /= NET_NONE) then
             call stencils(u, CORRECTION_INPUTS, x(1:CORRECTION_INPUTS, :))
             call network(net, x(1:CORRECTION_INPUTS, :), y, stat)
             if (stat /= 0) return
             ! Conservative: the correction moves mass between cells, never
             ! adds any (its mean is removed), so rollouts cannot drift.
             u = u + CORRECTION_SCALE * (y(1, :) - sum(y(1, :)) / NCOARSE)
          end if
       else
          diffusivity = NU
          if (net%kind == NET_CONSTANT) then
             diffusivity = NU + net%constant
          else if (net%kind == NET_SMAGORINSKY) then
             ! (c dx)^2 |du/dx| with the central difference of the cell.
             diffusivity = NU + net%constant**2 * (2 * PI / NCOARSE) * 0.5_dp &
                  * abs(cshift(u, 1) - cshift(u, -1))
          else if (net%kind /= NET_NONE) then
             call stencils(u, CLOSURE_INPUTS, x)
             call network(net, x, y, stat)
             if (stat /= 0) return
             diffusivity = NU + CLOSURE_SCALE * softplus(y(1, :))
          end if
          call coarse_central_step(u, diffusivity)
       end if
       traj(:, n) = u
    end do
  end subroutine rollout

  elemental function softplus(z) result(s)
    real(dp), intent(in) :: z
    real(dp) :: s
    s = max(z, 0.0_dp) + log(1 + exp(-abs(z)))
  end function softplus

  !> Mean squared error of rollouts over a dataset at the observed steps
  !> (every `stride`-th); NaN when a rollout blows up, which zoo then drops.
  recursive function training_loss(kind, net, data, stat, stride) result(loss)
    integer, intent(in) :: kind
    type(coupling), intent(in) :: net
    type(dataset), intent(in) :: data
    integer, intent(out) :: stat
    integer, intent(in), optional :: stride
    real(dp) :: loss
    real(dp) :: traj(NCOARSE, data%nsteps)
    integer :: ic, n, every, observed
    every = 1
    if (present(stride)) every = stride
    loss = 0
    observed = 0
    do ic = 1, data%nics
       call rollout(kind, net, data%ref(:, 0, ic), data%nsteps, traj, stat)
       if (stat /= 0) return
       do n = every, data%nsteps, every
          loss = loss + sum((traj(:, n) - data%ref(:, n, ic))**2)
          observed = observed + 1
       end do
    end do
    loss = loss / (real(NCOARSE, dp) * observed)
  end function training_loss

  !> zoo's loss callback: the training rollout loss of one candidate.
  recursive function rollout_loss(userdata, candidate, loss) bind(c) result(status)
    type(c_ptr), value :: userdata, candidate
    real(c_double), intent(out) :: loss
    integer(c_int32_t) :: status
    type(task), pointer :: t
    type(coupling) :: net
    integer :: stat
    call c_f_pointer(userdata, t)
    net%kind = NET_CANDIDATE
    net%candidate = candidate
    loss = training_loss(t%kind, net, t%train, stat, t%stride)
    status = int(stat, c_int32_t)
  end function rollout_loss

  !> Mean absolute error over a dataset: overall (at the observed steps,
  !> every `stride`-th; all when absent) and per step. A rollout that
  !> blows up gives an infinite error (a diverged model, not a crash).
  subroutine test_errors(kind, net, data, mae, per_step, stride)
    use, intrinsic :: ieee_arithmetic, only: ieee_value, ieee_positive_inf, ieee_is_finite
    integer, intent(in) :: kind
    type(coupling), intent(in) :: net
    type(dataset), intent(in) :: data
    real(dp), intent(out) :: mae, per_step(data%nsteps)
    integer, intent(in), optional :: stride
    real(dp) :: traj(NCOARSE, data%nsteps)
    integer :: ic, n, stat, every
    every = 1
    if (present(stride)) every = stride
    per_step = 0
    do ic = 1, data%nics
       call rollout(kind, net, data%ref(:, 0, ic), data%nsteps, traj, stat)
       if (stat /= 0) error stop 'zoo: network evaluation failed in a test rollout'
       do n = 1, data%nsteps
          per_step(n) = per_step(n) + sum(abs(traj(:, n) - data%ref(:, n, ic))) / (NCOARSE * data%nics)
       end do
    end do
    mae = sum(per_step(every::every)) / size(per_step(every::every))
    if (.not. ieee_is_finite(mae)) mae = ieee_value(mae, ieee_positive_inf)
  end subroutine test_errors

  !> One-step supervised pairs of the correction task: inputs are the
  !> stencils of S(ref_n), targets what the correction should add. With
  !> `noise` > 0 (noise injection, the usual cure for drift) the step
  !> starts from ref_n plus Gaussian noise of that standard deviation and
  !> the target still leads to ref_{n+1}: the network learns to pull a
  !> perturbed state back. `state` is the noise generator's state.
  subroutine correction_pairs(data, x, y, noise, state)
    type(dataset), intent(in) :: data
    real(dp), allocatable, intent(out) :: x(:, :), y(:, :)
    real(dp), intent(in), optional :: noise
    integer(kind=8), intent(inout), optional :: state
    real(dp) :: s(NCOARSE)
    integer :: ic, n, col, i
    allocate(x(CORRECTION_INPUTS, NCOARSE * data%nsteps * data%nics), y(1, NCOARSE * data%nsteps * data%nics))
    col = 0
    do ic = 1, data%nics
       do n = 0, data%nsteps - 1
          s = data%ref(:, n, ic)
          if (present(noise)) then
             do i = 1, NCOARSE
                s(i) = s(i) + noise * gaussian(state)
             end do
          end if
          call coarse_upwind_step(s)
          call stencils(s, CORRECTION_INPUTS, x(:, col + 1:col + NCOARSE))
          y(1, col + 1:col + NCOARSE) = (data%ref(:, n + 1, ic) - s) / CORRECTION_SCALE
          col = col + NCOARSE
       end do
    end do
  end subroutine correction_pairs

  !> The dataset a method sees when the reference is observed only every
  !> `stride` steps and filled in by linear interpolation in time (what a
  !> one-step fit needs; the ends of the record are observed).
  function interpolated(data, stride) result(filled)
    type(dataset), intent(in) :: data
    integer, intent(in) :: stride
    type(dataset) :: filled
    integer :: n, before, after
    real(dp) :: w
    filled = data
    do n = 1, data%nsteps
       before = (n / stride) * stride
       after = min(before + stride, data%nsteps)
       if (before == n .or. after == before) cycle
       w = real(n - before, dp) / (after - before)
       filled%ref(:, n, :) = (1 - w) * data%ref(:, before, :) + w * data%ref(:, after, :)
    end do
  end function interpolated

  !> A standard normal number (Box-Muller on burgers_solvers' generator):
  !> identical on every compiler and platform, unlike random_number.
  function gaussian(state) result(g)
    integer(kind=8), intent(inout) :: state
    real(dp) :: g, u1, u2
    u1 = next_uniform(state)
    u2 = next_uniform(state)
    g = sqrt(-2 * log(u1)) * cos(2 * PI * u2)
  end function gaussian

end module burgers_coupling

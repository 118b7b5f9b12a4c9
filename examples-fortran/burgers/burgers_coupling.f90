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
!> model, a constant (the closure baseline) or absent (SRC).
module burgers_coupling
  use, intrinsic :: iso_c_binding
  use zoo
  use burgers_solvers
  implicit none
  private
  public :: CORRECTION, CLOSURE, CORRECTION_SCALE, CLOSURE_SCALE, CORRECTION_INPUTS, CLOSURE_INPUTS
  public :: dataset, coupling, task, make_dataset, rollout, rollout_loss, test_errors
  public :: correction_pairs, training_loss

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
     integer :: kind = 0                       !< 0 none, 1 candidate, 2 model, 3 constant
     type(c_ptr) :: candidate = c_null_ptr
     type(zoo_model) :: model
     real(dp) :: constant = 0
  end type coupling

  !> What a loss callback needs (passed to zoo as userdata).
  type :: task
     integer :: kind = CORRECTION
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
    case (1)
       call zoo_candidate_forward_batch(net%candidate, x, y, stat)
    case (2)
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
          if (net%kind /= 0) then
             call stencils(u, CORRECTION_INPUTS, x(1:CORRECTION_INPUTS, :))
             call network(net, x(1:CORRECTION_INPUTS, :), y, stat)
             if (stat /= 0) return
             ! Conservative: the correction moves mass between cells, never
             ! adds any (its mean is removed), so rollouts cannot drift.
             u = u + CORRECTION_SCALE * (y(1, :) - sum(y(1, :)) / NCOARSE)
          end if
       else
          diffusivity = NU
          if (net%kind == 3) then
             diffusivity = NU + net%constant
          else if (net%kind /= 0) then
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

  !> Mean squared error of rollouts over a dataset (NaN when a rollout
  !> blows up, which zoo then drops).
  recursive function training_loss(kind, net, data, stat) result(loss)
    integer, intent(in) :: kind
    type(coupling), intent(in) :: net
    type(dataset), intent(in) :: data
    integer, intent(out) :: stat
    real(dp) :: loss
    real(dp) :: traj(NCOARSE, data%nsteps)
    integer :: ic
    loss = 0
    do ic = 1, data%nics
       call rollout(kind, net, data%ref(:, 0, ic), data%nsteps, traj, stat)
       if (stat /= 0) return
       loss = loss + sum((traj - data%ref(:, 1:, ic))**2)
    end do
    loss = loss / (real(NCOARSE, dp) * data%nsteps * data%nics)
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
    net%kind = 1
    net%candidate = candidate
    loss = training_loss(t%kind, net, t%train, stat)
    status = int(stat, c_int32_t)
  end function rollout_loss

  !> Mean absolute error over a test set: overall and per step.
  subroutine test_errors(kind, net, data, mae, per_step)
    integer, intent(in) :: kind
    type(coupling), intent(in) :: net
    type(dataset), intent(in) :: data
    real(dp), intent(out) :: mae, per_step(data%nsteps)
    real(dp) :: traj(NCOARSE, data%nsteps)
    integer :: ic, n, stat
    per_step = 0
    do ic = 1, data%nics
       call rollout(kind, net, data%ref(:, 0, ic), data%nsteps, traj, stat)
       if (stat /= 0) error stop 'zoo: network evaluation failed in a test rollout'
       do n = 1, data%nsteps
          per_step(n) = per_step(n) + sum(abs(traj(:, n) - data%ref(:, n, ic))) / (NCOARSE * data%nics)
       end do
    end do
    mae = sum(per_step) / data%nsteps
  end subroutine test_errors

  !> One-step supervised pairs of the correction task: inputs are the
  !> stencils of S(ref_n), targets what the correction should add.
  subroutine correction_pairs(data, x, y)
    type(dataset), intent(in) :: data
    real(dp), allocatable, intent(out) :: x(:, :), y(:, :)
    real(dp) :: s(NCOARSE)
    integer :: ic, n, col
    allocate(x(CORRECTION_INPUTS, NCOARSE * data%nsteps * data%nics), y(1, NCOARSE * data%nsteps * data%nics))
    col = 0
    do ic = 1, data%nics
       do n = 0, data%nsteps - 1
          s = data%ref(:, n, ic)
          call coarse_upwind_step(s)
          call stencils(s, CORRECTION_INPUTS, x(:, col + 1:col + NCOARSE))
          y(1, col + 1:col + NCOARSE) = (data%ref(:, n + 1, ic) - s) / CORRECTION_SCALE
          col = col + NCOARSE
       end do
    end do
  end subroutine correction_pairs

end module burgers_coupling

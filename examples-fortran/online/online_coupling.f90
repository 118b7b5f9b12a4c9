!> The coupling of the forecast code (l96_host.f90) to zoo: everything
!> but the host's lines marked "! zoo" lives here.
!>
!> The host's tendency calls closure_slot; this module points it at a
!> frozen model or at a trainer. online_window, called by the host before
!> every step, runs one zoo_step every W steps of the training period:
!> each candidate forecasts the next W steps from a copy of the current
!> state, with the host's own step routine, and is scored against the
!> observations in that window. Inside the step the slot runs the
!> candidate being evaluated; between steps (the production run itself)
!> it runs the trainer's current weights.
module online_coupling
  use, intrinsic :: iso_c_binding
  use zoo
  use l96_observations, only: dp, NX, obs
  implicit none
  private
  public :: closure_slot, zoo_slot_forward, online_window
  public :: use_frozen_closure, start_online_training, stop_online_training, host_step
  public :: window_losses, windows_trained

  !> The closure g(X_k) the host's tendency adds.
  type(zoo_slot) :: closure_slot

  !> The host's step routine: advances a state by one time step.
  abstract interface
     subroutine host_step(x)
       import :: dp, NX
       real(dp), intent(inout) :: x(NX)
     end subroutine host_step
  end interface

  !> What a training step's callback needs: the state it starts from and
  !> where the window lies.
  type :: window
     real(dp) :: start(NX) = 0
     integer :: first_step = 0, nsteps = 0
  end type window

  type(zoo_trainer) :: trainer
  procedure(host_step), pointer :: step_of_host => null()
  !> Training windows: every window_steps steps while the window ends by
  !> step train_until; the host observes every obs_every steps.
  integer :: window_steps = 1, train_until = -1, obs_every = 1
  !> The loss of each training step: the mean over its candidates, which
  !> is the loss at the weights before the update up to O(mu^2).
  real(dp), allocatable :: window_losses(:)
  integer :: windows_trained = 0

contains

  !> The host's closure becomes the frozen `model` (no training).
  subroutine use_frozen_closure(model)
    type(zoo_model), intent(in) :: model
    call stop_online_training()
    call zoo_slot_new_model(closure_slot, model)
  end subroutine use_frozen_closure

  !> The host's closure becomes a trainer of `model` with zoo `options`,
  !> trained on windows of `steps` steps until step `until`; `step` is the
  !> host's step routine and it observes every `every` steps.
  subroutine start_online_training(model, options, steps, until, step, every)
    type(zoo_model), intent(in) :: model
    character(len=*), intent(in) :: options
    integer, intent(in) :: steps, until, every
    procedure(host_step) :: step
    call stop_online_training()
    call zoo_trainer_new(trainer, model, options)
    call zoo_slot_new(closure_slot, trainer)
    step_of_host => step
    window_steps = steps
    train_until = until
    obs_every = every
    windows_trained = 0
    if (allocated(window_losses)) deallocate(window_losses)
    allocate(window_losses(max(until / steps, 1)))
  end subroutine start_online_training

  !> Frees the slot and the trainer; `trained`, when present, first
  !> receives the trainer's weights as a new model.
  subroutine stop_online_training(trained)
    type(zoo_model), intent(inout), optional :: trained
    if (present(trained)) call zoo_trainer_copy_model(trainer, trained)
    call zoo_slot_free(closure_slot)
    call zoo_trainer_free(trainer)
    train_until = -1
  end subroutine stop_online_training

  !> Called by the host before step n + 1 with its state x: at the start
  !> of every training window, one zoo_step over that window.
  subroutine online_window(x, n)
    real(dp), intent(in) :: x(NX)
    integer, intent(in) :: n
    type(window), target :: w
    real(c_double) :: loss
    if (n + window_steps > train_until .or. mod(n, window_steps) /= 0) return
    w%start = x
    w%first_step = n
    w%nsteps = window_steps
    call zoo_step(trainer, window_loss, userdata=c_loc(w), loss=loss)
    windows_trained = windows_trained + 1
    window_losses(windows_trained) = loss
  end subroutine online_window

  !> zoo's loss callback: the candidate, reached by the host's tendency
  !> through the slot, forecasts the window from a copy of its start; the
  !> loss is the mean squared error against the observations in it.
  !> Thread-safe: recursive, no saved locals, reads shared data only.
  recursive function window_loss(userdata, candidate, loss) bind(c) result(status)
    type(c_ptr), value :: userdata, candidate
    real(c_double), intent(out) :: loss
    integer(c_int32_t) :: status
    type(window), pointer :: w
    real(dp) :: x(NX)
    integer :: i, step, count
    call c_f_pointer(userdata, w)
    x = w%start
    loss = 0
    count = 0
    do i = 1, w%nsteps
       call step_of_host(x)
       step = w%first_step + i
       if (mod(step, obs_every) == 0) then
          loss = loss + sum((x - obs(:, step / obs_every))**2)
          count = count + 1
       end if
    end do
    loss = loss / (NX * max(count, 1))
    status = 0
  end function window_loss

end module online_coupling

!> Times training iterations of the flagship closure (burgers_demo's study
!> (b), sharp regime) through the demo's own solver and coupling modules:
!> a 5-16-1 tanh network, rge-central q=16 (32 candidates), each candidate
!> 8 rollouts of 20 steps of the 32-cell central solver, the network
!> called once per step on the 32 cells' stencils. One thread, so the
!> time per iteration / 32 is the cost of one candidate evaluation.
!>
!> Usage: closure_bench ITERATIONS [DUMP]
!> Prints one JSON line: {"iterations": n, "candidates": c, "seconds": [...],
!> "solver_seconds": [...]}, the latter the same rollouts with a constant
!> nu_t instead of the network: the solver's share of an iteration.
!> With DUMP it first records one iteration (not timed) and writes the
!> reference data, every candidate's parameters and its loss to DUMP, so
!> another implementation can recompute the same losses.
!> Keeps a copy of each candidate's parameters and loss. A module
!> procedure, not an internal one, so that passing it to zoo needs no
!> trampoline (an executable stack).
module closure_record
  use, intrinsic :: iso_c_binding
  use zoo
  use burgers_coupling, only: rollout_loss
  implicit none
  !> Row c+1 holds candidate c: its parameters, then its loss.
  real(c_double), allocatable :: recorded(:, :)

contains

  recursive function record_loss(userdata, candidate, loss) bind(c) result(status)
    type(c_ptr), value :: userdata, candidate
    real(c_double), intent(out) :: loss
    integer(c_int32_t) :: status
    integer :: c, d
    status = rollout_loss(userdata, candidate, loss)
    c = zoo_candidate_index(candidate)
    d = size(recorded, 1) - 1
    call zoo_candidate_get_params(candidate, recorded(1:d, c + 1))
    recorded(d + 1, c + 1) = loss
  end function record_loss

end module closure_record

program closure_bench
  use, intrinsic :: iso_c_binding
  use zoo
  use burgers_solvers
  use burgers_coupling
  use closure_record
  implicit none

  ! The demo's closure study: sharp regime, its training set and options.
  integer, parameter :: NTRAIN = 8, STEPS_TRAIN = 20, TRAIN_SEED = 1, HIDDEN = 16
  real(dp), parameter :: SHARP_NU = 0.01_dp, SHARP_AMPLITUDE = 1.5_dp
  character(len=*), parameter :: OPTIONS = &
       'estimator=rge-central q=16 mu=0.001 optimizer=adam threads=1 seed=2 lr=0.01'
  integer, parameter :: NPARAMS = CLOSURE_INPUTS * HIDDEN + HIDDEN + HIDDEN + 1

  type(task), target :: t
  type(zoo_model) :: model
  type(zoo_trainer) :: trainer
  type(coupling) :: constant
  real(dp), allocatable :: seconds(:), solver_seconds(:)
  real(dp) :: total
  integer :: iterations, k, c, ncand, stat
  integer(kind=8) :: start, now, rate
  character(len=512) :: arg, dump

  if (command_argument_count() < 1) error stop 'usage: closure_bench ITERATIONS [DUMP]'
  call get_command_argument(1, arg)
  read (arg, *) iterations
  dump = ''
  if (command_argument_count() >= 2) call get_command_argument(2, dump)

  nu = SHARP_NU
  call make_dataset(t%train, TRAIN_SEED, NTRAIN, STEPS_TRAIN, SHARP_AMPLITUDE)
  t%kind = CLOSURE
  call zoo_model_new_mlp(model, [CLOSURE_INPUTS, HIDDEN, 1], 'tanh', 9_c_int64_t)
  call zoo_trainer_new(trainer, model, OPTIONS)
  ncand = zoo_trainer_num_candidates(trainer)

  ! One untimed iteration: page in code and data, size workspaces.
  if (len_trim(dump) > 0) then
     allocate (recorded(NPARAMS + 1, ncand))
     call zoo_step(trainer, record_loss, userdata=c_loc(t))
     call write_dump(trim(dump))
  else
     call zoo_step(trainer, rollout_loss, userdata=c_loc(t))
  end if

  allocate (seconds(iterations))
  do k = 1, iterations
     call system_clock(start, rate)
     call zoo_step(trainer, rollout_loss, userdata=c_loc(t))
     call system_clock(now)
     seconds(k) = real(now - start, dp) / rate
  end do

  constant%kind = NET_CONSTANT
  constant%constant = 0.01_dp
  allocate (solver_seconds(iterations))
  total = 0
  do k = 1, iterations
     call system_clock(start, rate)
     do c = 1, ncand
        total = total + training_loss(CLOSURE, constant, t%train, stat)
     end do
     call system_clock(now)
     solver_seconds(k) = real(now - start, dp) / rate
  end do
  if (.not. total > 0) error stop 'closure_bench: the constant-closure rollouts failed'

  write (*, '(a, i0, a, i0, a)', advance='no') '{"iterations": ', iterations, ', "candidates": ', ncand, &
       ', "seconds": '
  call write_list(seconds)
  write (*, '(a)', advance='no') ', "solver_seconds": '
  call write_list(solver_seconds)
  write (*, '(a)') '}'
  call zoo_trainer_free(trainer)
  call zoo_model_free(model)

contains

  subroutine write_list(values)
    real(dp), intent(in) :: values(:)
    integer :: i
    write (*, '(a)', advance='no') '['
    do i = 1, size(values)
       write (*, '(es12.5, a)', advance='no') values(i), merge(', ', '] ', i < size(values))
    end do
  end subroutine write_list

  !> Plain text, full precision: sizes, nu, ref(:, :, ic) per initial
  !> condition (one step per line), then per candidate its parameters
  !> followed by its loss.
  subroutine write_dump(path)
    character(len=*), intent(in) :: path
    integer :: unit, ic, n, c
    open (newunit=unit, file=path, status='replace', action='write')
    write (unit, '(5i8)') NCOARSE, STEPS_TRAIN, NTRAIN, ncand, NPARAMS
    write (unit, '(es25.17e3)') nu
    do ic = 1, NTRAIN
       do n = 0, STEPS_TRAIN
          write (unit, '(*(1x, es25.17e3))') t%train%ref(:, n, ic)
       end do
    end do
    do c = 1, ncand
       write (unit, '(*(1x, es25.17e3))') recorded(:, c)
    end do
    close (unit)
  end subroutine write_dump

end program closure_bench

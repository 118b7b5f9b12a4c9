! Network slots from Fortran: a legacy routine with a fixed signature
! (`tendency(x, y)`, no candidate argument) reaches the network through a
! module-level slot. Training through it must give the same weights as
! passing the candidate explicitly, sequentially and with ZOO_THREADSAFE
! on 2 threads, and with an OpenMP loop over cells inside the callback;
! outside training the slot runs the trainer's weights. Ends with
! "N passed, N failed".
module slot_host
  use, intrinsic :: iso_c_binding
  use zoo
  implicit none
  integer, parameter :: cells = 48
  type(zoo_slot) :: net            ! the one line a legacy code adds
  real(c_double) :: x(2, cells)
  !> OpenMP over cells inside the callback: with a sequential step the
  !> slot binds the candidate for every thread; inside a ZOO_THREADSAFE
  !> step only zoo's own threads have a candidate, so the loop stays serial.
  logical :: cells_in_parallel = .true.
contains
  ! The host's fixed-signature routine: one cell at a time.
  recursive subroutine tendency(state, out)
    real(c_double), intent(in) :: state(2)
    real(c_double), intent(out) :: out(1)
    call zoo_slot_forward(net, state, out)
  end subroutine tendency

  recursive function loss_of(y) result(l)
    real(c_double), intent(in) :: y(:)
    real(c_double) :: l
    l = sum((y - 0.3_c_double)**2)
  end function loss_of

  recursive function through_slot(userdata, candidate, loss) bind(c) result(status)
    type(c_ptr), value :: userdata, candidate
    real(c_double), intent(out) :: loss
    integer(c_int32_t) :: status
    real(c_double) :: y(cells)
    integer :: i
    !$omp parallel do schedule(dynamic) if(cells_in_parallel)
    do i = 1, cells
       call tendency(x(:, i), y(i:i))
    end do
    !$omp end parallel do
    loss = loss_of(y)
    status = 0
  end function through_slot

  recursive function through_candidate(userdata, candidate, loss) bind(c) result(status)
    type(c_ptr), value :: userdata, candidate
    real(c_double), intent(out) :: loss
    integer(c_int32_t) :: status
    real(c_double) :: y(1, cells)
    call zoo_candidate_forward_batch(candidate, x, y)
    loss = loss_of(y(1, :))
    status = 0
  end function through_candidate
end module slot_host

program slots
  use slot_host
  implicit none
  integer :: passed = 0, failed = 0, i, flags
  real(c_double) :: reference(17), got(17), by_slot(1, cells), by_model(1, cells)
  type(zoo_model) :: model, copy
  type(zoo_trainer) :: trainer

  do i = 1, cells
     x(:, i) = [real(modulo(i * 37, 101), c_double) / 50 - 1, real(modulo(i * 11, 29), c_double) / 14 - 1]
  end do
  call zoo_model_new_mlp(model, [2, 4, 1], 'tanh', 3_c_int64_t)

  call train('threads=1', through_candidate, 0, reference)
  call train('threads=1', through_slot, 0, got)
  call expect(all(got == reference), 'sequential step through a slot (OpenMP over cells)')
  flags = ZOO_THREADSAFE
  cells_in_parallel = .false.
  call train('threads=2', through_slot, flags, got)
  call expect(all(got == reference), 'thread-safe step on 2 threads through a slot')

  ! Outside training the slot runs the trainer's current weights.
  call zoo_trainer_new(trainer, model, 'estimator=rge-central q=2 lr=0.1')
  call zoo_slot_new(net, trainer)
  call zoo_step(trainer, through_candidate)
  call zoo_slot_forward(net, x, by_slot)
  call zoo_trainer_copy_model(trainer, copy)
  call zoo_model_forward_batch(copy, x, by_model)
  call expect(all(by_slot == by_model), 'outside training: the current weights')
  call zoo_trainer_free(trainer)
  block
    integer :: stat
    call zoo_slot_forward(net, x, by_slot, stat=stat)
    call expect(stat == ZOO_BAD_STATE, 'a slot whose trainer was freed')
  end block
  call zoo_slot_free(net)
  call zoo_slot_free(net)
  call zoo_model_free(copy)
  call zoo_model_free(model)
  print '(i0, " passed, ", i0, " failed")', passed, failed
  if (failed > 0) error stop 1

contains
  subroutine train(threads, callback, flags, params)
    character(len=*), intent(in) :: threads
    procedure(zoo_loss_callback) :: callback
    integer, intent(in) :: flags
    real(c_double), intent(out) :: params(:)
    type(zoo_trainer) :: t
    integer :: k
    call zoo_trainer_new(t, model, 'estimator=rge-central q=3 lr=0.05 seed=8 ' // threads)
    call zoo_slot_new(net, t)
    do k = 1, 4
       call zoo_step(t, callback, flags=flags)
    end do
    call zoo_trainer_get_params(t, params)
    call zoo_slot_free(net)
    call zoo_trainer_free(t)
  end subroutine train

  subroutine expect(ok, what)
    logical, intent(in) :: ok
    character(len=*), intent(in) :: what
    if (ok) then
       passed = passed + 1
    else
       failed = failed + 1
       print '("FAIL: ", a)', what
    end if
  end subroutine expect
end program slots

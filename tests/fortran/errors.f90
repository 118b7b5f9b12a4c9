!> Failures of calls made without `stat`.
!>   errors handler   a registered handler receives the status and zoo's
!>                    message, and the failed routine returns; `stat` still
!>                    bypasses the handler; ends with "N passed, N failed".
!>   errors stop      no handler: a call without `stat` fails inside a
!>                    ZOO_THREADSAFE callback on one of zoo's threads
!>                    (threads=2); the program must print zoo's message as
!>                    the first line on stderr and stop with status 1
!>                    (tests/fortran/check_stderr.cmake checks it).
module errors_checks
  use, intrinsic :: iso_c_binding
  use zoo
  implicit none
  integer :: passed = 0, failed = 0
  integer :: handled = 0, last_status = ZOO_OK
  character(len=:), allocatable :: last_message
contains
  subroutine expect(condition, what)
    logical, intent(in) :: condition
    character(len=*), intent(in) :: what
    if (condition) then
       passed = passed + 1
    else
       failed = failed + 1
       write (*, '(2a)') 'FAIL: ', what
    end if
  end subroutine expect

  !> Logs and returns (called on the main thread only in this program).
  recursive subroutine record(status, message)
    integer, intent(in) :: status
    character(len=*), intent(in) :: message
    handled = handled + 1
    last_status = status
    last_message = message
  end subroutine record

  !> Candidate 5 asks for a forward pass with 3 inputs on a 2-input
  !> network, without `stat`; the others evaluate normally.
  recursive function failing_loss(userdata, candidate, loss) bind(c) result(status)
    type(c_ptr), value :: userdata, candidate
    real(c_double), intent(out) :: loss
    integer(c_int32_t) :: status
    real(c_double) :: x(3), y(1)
    integer :: inputs
    inputs = 2
    if (zoo_candidate_index(candidate) == 5) inputs = 3
    x = 0.5_c_double
    y = 0
    call zoo_candidate_forward(candidate, x(1:inputs), y)
    loss = y(1)**2
    status = 0
  end function failing_loss
end module errors_checks

program errors
  use, intrinsic :: iso_c_binding
  use, intrinsic :: iso_fortran_env, only: output_unit
  use zoo
  use errors_checks
  implicit none
  character(len=16) :: mode
  type(zoo_model) :: model
  type(zoo_trainer) :: trainer
  integer :: n, stat
  real(c_double) :: loss

  call get_command_argument(1, mode)
  select case (mode)
  case ('handler')
     call zoo_set_error_handler(record)
     call zoo_model_new_mlp(model, [2, 0, 1], 'tanh', 1_c_int64_t)
     call expect(handled == 1 .and. last_status == ZOO_INVALID_ARGUMENT, 'the handler receives the status')
     call expect(index(last_message, 'zoo: zoo_model_new_mlp failed (ZOO_INVALID_ARGUMENT): ') == 1 &
          .and. index(last_message, 'layer size 1 is 0') > 0, 'the handler receives zoo''s message')
     call expect(.not. c_associated(model%ptr), 'the failed routine returns with its outputs untouched')
     n = zoo_model_num_params(model)
     call expect(handled == 2 .and. last_status == ZOO_NULL_POINTER .and. n == 0, &
          'a function returns after the handler')
     call zoo_model_new_mlp(model, [2, 0, 1], 'tanh', 1_c_int64_t, stat=stat)
     call expect(handled == 2 .and. stat == ZOO_INVALID_ARGUMENT, 'stat bypasses the handler')
     call zoo_model_new_mlp(model, [2, 4, 1], 'tanh', 1_c_int64_t)
     call zoo_trainer_new(trainer, model, 'q=0')
     call expect(handled == 3 .and. last_status == ZOO_INVALID_OPTION .and. index(last_message, 'q') > 0, &
          'option errors reach the handler')
     call zoo_trainer_new(trainer, model, 'q=8')
     call zoo_model_free(model)
     call zoo_step(trainer, failing_loss, loss=loss)
     call expect(handled == 4 .and. last_status == ZOO_BAD_SIZE .and. &
          index(last_message, 'zoo: zoo_candidate_forward failed (ZOO_BAD_SIZE)') == 1, &
          'inside a callback, the handler receives the failure and the callback goes on')
     call expect(zoo_trainer_iteration(trainer) == 1, 'the step completes once the handler returned')
     call zoo_trainer_free(trainer)
     call zoo_set_error_handler()
     call zoo_model_new_mlp(model, [2, 0, 1], 'tanh', 1_c_int64_t, stat=stat)
     call expect(handled == 4 .and. stat == ZOO_INVALID_ARGUMENT, 'the default is restored')
     write (*, '(i0, a, i0, a)') passed, ' passed, ', failed, ' failed'
     if (failed > 0) error stop 1
  case ('stop')
     call zoo_model_new_mlp(model, [2, 4, 1], 'tanh', 1_c_int64_t)
     call zoo_trainer_new(trainer, model, 'q=8 threads=2')
     call zoo_model_free(model)
     write (*, '(a)') 'training with threads=2'
     call zoo_step(trainer, failing_loss, flags=ZOO_THREADSAFE)
     write (*, '(a)') 'not reached: the step should have stopped the program'
     flush (output_unit)
  case default
     error stop 'usage: errors handler|stop'
  end select
end program errors

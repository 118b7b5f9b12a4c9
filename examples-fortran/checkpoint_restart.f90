!> Checkpoint and restart from Fortran: a run stopped and resumed in a new
!> process ends with the same weights, bit for bit, as one that never
!> stopped.
!>
!> Usage: checkpoint_restart_fortran N FROM TO
!>   trains until iteration N, starting from the trainer checkpoint FROM
!>   ('-' = a fresh trainer), saves the trainer to TO and prints the
!>   weights in hexadecimal (equal text means equal bits).
module sine_fit
  use, intrinsic :: iso_c_binding
  use zoo
  implicit none
contains
  !> The black box: fit sin(3x) on 16 points.
  function loss_fn(userdata, candidate, loss) bind(c) result(status)
    type(c_ptr), value :: userdata, candidate
    real(c_double), intent(out) :: loss
    integer(c_int32_t) :: status
    real(c_double) :: x(1, 16), y(1, 16)
    integer :: i, stat
    x(1, :) = [(-1 + 2 * (i - 1) / 15.0_c_double, i = 1, 16)]
    call zoo_candidate_forward_batch(candidate, x, y, stat)
    loss = sum((y(1, :) - sin(3 * x(1, :)))**2) / 16
    status = int(stat, c_int32_t)
  end function loss_fn
end module sine_fit

program checkpoint_restart
  use, intrinsic :: iso_c_binding
  use zoo
  use sine_fit
  implicit none
  type(zoo_model) :: model
  type(zoo_trainer) :: trainer
  character(len=4096) :: arg, from, to
  integer(c_int64_t) :: iterations, k
  real(c_double), allocatable :: params(:)
  integer :: i

  if (command_argument_count() < 3) then
     write (*, '(a)') 'usage: checkpoint_restart_fortran N FROM TO'
     error stop 2
  end if
  call get_command_argument(1, arg)
  read (arg, *) iterations
  call get_command_argument(2, from)
  call get_command_argument(3, to)

  call zoo_model_new_mlp(model, [1, 12, 1], 'tanh', 7_c_int64_t)
  call zoo_trainer_new(trainer, model, 'estimator=rge-central q=6 optimizer=adam lr=0.02 seed=11')
  call zoo_model_free(model)
  if (trim(from) /= '-') call zoo_trainer_restore(trainer, trim(from))
  do k = zoo_trainer_iteration(trainer), iterations - 1
     call zoo_step(trainer, loss_fn)
  end do
  call zoo_trainer_save(trainer, trim(to))

  allocate (params(zoo_trainer_num_params(trainer)))
  call zoo_trainer_get_params(trainer, params)
  write (*, '(a, i0, a)', advance='no') 'iteration ', iterations, ' weights'
  do i = 1, size(params)
     write (*, '(1x, z16.16)', advance='no') params(i)
  end do
  write (*, *)
  call zoo_trainer_free(trainer)
end program checkpoint_restart

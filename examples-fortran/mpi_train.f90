!> Training across MPI ranks from Fortran: zoo links no MPI; the program
!> gives it an allreduce callback (MPI_Allreduce with MPI_IN_PLACE) and its
!> rank and size. The ranks share the candidates (partition=candidates);
!> the weights are bit-identical whatever the number of ranks.
!>
!> Usage: mpirun -np N mpi_train_fortran [iterations]
!> Rank 0 prints the final loss and the weights in hexadecimal; exits 1
!> when the ranks diverged or the loss did not fall.
module mpi_coupling
  use, intrinsic :: iso_c_binding
  use mpi
  use zoo
  implicit none
  integer, parameter :: NPOINTS = 64
  real(c_double) :: x(NPOINTS), measured(NPOINTS)
contains
  function allreduce(userdata, values, n) bind(c) result(status)
    type(c_ptr), value :: userdata, values
    integer(c_size_t), value :: n
    integer(c_int32_t) :: status
    real(c_double), pointer :: v(:)
    integer :: ierr
    call c_f_pointer(values, v, [n])
    call MPI_Allreduce(MPI_IN_PLACE, v, int(n), MPI_DOUBLE_PRECISION, MPI_SUM, MPI_COMM_WORLD, ierr)
    status = merge(0_c_int32_t, 1_c_int32_t, ierr == MPI_SUCCESS)
  end function allreduce

  !> The black box: a saturating, quantizing sensor.
  elemental function sensor(v) result(s)
    real(c_double), intent(in) :: v
    real(c_double) :: s
    s = anint(1000 * tanh(2 * v)) / 1000
  end function sensor

  recursive function loss(userdata, candidate, value) bind(c) result(status)
    type(c_ptr), value :: userdata, candidate
    real(c_double), intent(out) :: value
    integer(c_int32_t) :: status
    real(c_double) :: y(1, NPOINTS)
    integer :: stat
    call zoo_candidate_forward_batch(candidate, reshape(x, [1, NPOINTS]), y, stat)
    value = sum((sensor(y(1, :)) - measured)**2) / NPOINTS
    status = int(stat, c_int32_t)
  end function loss
end module mpi_coupling

program mpi_train
  use, intrinsic :: iso_c_binding
  use mpi
  use zoo
  use mpi_coupling
  implicit none
  type(zoo_model) :: model
  type(zoo_trainer) :: trainer
  integer :: ierr, rank, nranks, i, k, iterations
  character(len=32) :: arg
  real(c_double) :: first, last
  real(c_double), allocatable :: params(:)
  logical :: consistent

  call MPI_Init(ierr)
  call MPI_Comm_rank(MPI_COMM_WORLD, rank, ierr)
  call MPI_Comm_size(MPI_COMM_WORLD, nranks, ierr)
  iterations = 150
  if (command_argument_count() > 0) then
     call get_command_argument(1, arg)
     read (arg, *) iterations
  end if
  x = [(-1 + 2 * real(i - 1, c_double) / (NPOINTS - 1), i = 1, NPOINTS)]
  measured = sensor(0.4_c_double * sin(3 * x))

  call zoo_model_new_mlp(model, [1, 8, 1], 'tanh', 1_c_int64_t)
  call zoo_trainer_new(trainer, model, 'estimator=rge-central q=8 mu=0.01 lr=0.03 seed=3')
  call zoo_model_free(model)
  call zoo_trainer_set_communicator(trainer, allreduce, rank, nranks)
  do k = 1, iterations
     call zoo_step(trainer, loss, loss=last)
     if (k == 1) first = last
  end do
  consistent = zoo_trainer_check_consistency(trainer)
  allocate(params(zoo_trainer_num_params(trainer)))
  call zoo_trainer_get_params(trainer, params)
  if (rank == 0) then
     write (*, '(i0, a, es13.6, a, es13.6, a, l1)') nranks, ' ranks: loss ', first, ' -> ', last, &
          ', ranks consistent: ', consistent
     do i = 1, size(params)
        write (*, '(a, z16.16)') 'weight ', transfer(params(i), 0_c_int64_t)
     end do
  end if
  call zoo_trainer_free(trainer)
  call MPI_Finalize(ierr)
  if (.not. (consistent .and. last < 0.5_c_double * first)) error stop 1
end program mpi_train

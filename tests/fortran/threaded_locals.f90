!> A ZOO_THREADSAFE callback with a large local array, as a legacy solver
!> holds its work space: training with threads=1 and threads=2 must give
!> bit-identical weights. Built with the flags the README recommends
!> (-frecursive for gfortran) and a `recursive` callback, the array lives
!> on each thread's stack. Were it static (gfortran moves local arrays
!> above -fmax-stack-var-size, 64 KiB by default, to static storage in a
!> procedure that is not recursive), both threads would smooth the same
!> array and the losses, hence the weights, would differ.
module threaded_locals_loss
  use, intrinsic :: iso_c_binding
  use zoo
  implicit none
  private
  public :: smoothed_loss
  integer, parameter :: nwork = 20000, npoints = 64
contains
  !> Fits sin(3x) on [-1, 1] through a smoothing pass over a work array of
  !> 20000 doubles (160 kB): each pass reads what the previous one wrote.
  recursive function smoothed_loss(userdata, candidate, loss) bind(c) result(status)
    type(c_ptr), value :: userdata, candidate
    real(c_double), intent(out) :: loss
    integer(c_int32_t) :: status
    real(c_double) :: work(nwork)
    real(c_double) :: x(1, npoints), y(1, npoints)
    integer :: i, j, pass, stat
    loss = 0
    status = 1
    do i = 1, npoints
       x(1, i) = -1 + 2 * real(i - 1, c_double) / (npoints - 1)
    end do
    call zoo_candidate_forward_batch(candidate, x, y, stat)
    if (stat /= ZOO_OK) return
    do i = 1, nwork
       j = 1 + mod(i - 1, npoints)
       work(i) = y(1, j) - sin(3 * x(1, j))
    end do
    do pass = 1, 8
       do i = 2, nwork
          work(i) = 0.5_c_double * (work(i) + work(i - 1))
       end do
    end do
    loss = sum(work**2) / nwork
    status = 0
  end function smoothed_loss
end module threaded_locals_loss

program threaded_locals
  use, intrinsic :: iso_c_binding
  use zoo
  use threaded_locals_loss
  implicit none
  type(zoo_model) :: model
  type(zoo_trainer) :: serial, threaded
  real(c_double), allocatable :: start(:), w1(:), w2(:)
  real(c_double) :: first_loss, loss
  integer :: k, n

  call zoo_model_new_mlp(model, [1, 16, 1], 'tanh', 7_c_int64_t)
  call zoo_trainer_new(serial, model, 'estimator=rge-central q=16 lr=0.05 seed=3 threads=1')
  call zoo_trainer_new(threaded, model, 'estimator=rge-central q=16 lr=0.05 seed=3 threads=2')
  n = zoo_model_num_params(model)
  allocate(start(n), w1(n), w2(n))
  call zoo_model_get_params(model, start)
  call zoo_model_free(model)
  do k = 1, 15
     call zoo_step(serial, smoothed_loss, flags=ZOO_THREADSAFE, loss=loss)
     if (k == 1) first_loss = loss
     call zoo_step(threaded, smoothed_loss, flags=ZOO_THREADSAFE)
  end do
  call zoo_trainer_get_params(serial, w1)
  call zoo_trainer_get_params(threaded, w2)
  call zoo_trainer_free(serial)
  call zoo_trainer_free(threaded)
  write (*, '(a, es10.3, a, es10.3)') 'loss ', first_loss, ' -> ', loss
  write (*, '(a, es10.3)') 'largest weight difference, threads=1 vs threads=2: ', maxval(abs(w1 - w2))
  if (all(w1 == start)) error stop 'training did not change the weights'
  if (.not. all(w1 == w2)) error stop 'threads=2 differs from threads=1: the callback shares its locals'
  write (*, '(a)') 'threads=1 and threads=2: bit-identical weights'
end program threaded_locals

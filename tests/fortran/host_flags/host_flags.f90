!> Built with the host's flags (-fno-automatic -finit-local-zero
!> -fdefault-real-8 -Wall -Werror) like zoo.f90 itself: a ZOO_THREADSAFE
!> callback asks zoo_candidate_index 2000 times per call from 2 threads,
!> and the weights trained with threads=2 must equal those with threads=1.
!> Under -fno-automatic, a module whose procedures were not recursive
!> would keep zoo_candidate_index's locals in static storage shared by
!> the threads, and the index would change under a caller's feet.
module host_flags_loss
  use, intrinsic :: iso_c_binding
  use zoo
  implicit none
  private
  public :: index_loss, max_candidates
  integer, parameter :: max_candidates = 64
contains
  !> userdata: integer seen(max_candidates), seen(i + 1) counts the calls
  !> for candidate i whose index stayed the same 2000 times in a row (each
  !> candidate is evaluated on one thread, so no two threads share an
  !> element). The loss depends on the index, so a wrong index would also
  !> change the weights.
  recursive function index_loss(userdata, candidate, loss) bind(c) result(status)
    type(c_ptr), value :: userdata, candidate
    real(c_double), intent(out) :: loss
    integer(c_int32_t) :: status
    integer, pointer :: seen(:)
    real(c_double) :: x(2), y(1)
    integer :: first, k
    logical :: steady
    call c_f_pointer(userdata, seen, [max_candidates])
    loss = 0
    status = 1
    first = zoo_candidate_index(candidate)
    if (first < 0 .or. first >= max_candidates) return
    steady = .true.
    do k = 1, 2000
       if (zoo_candidate_index(candidate) /= first) steady = .false.
    end do
    x = [0.25_c_double, -0.5_c_double]
    call zoo_candidate_forward(candidate, x, y)
    loss = (y(1) - 0.3_c_double)**2 + 1.0e-3_c_double * first
    if (.not. steady) return
    seen(first + 1) = seen(first + 1) + 1
    status = 0
  end function index_loss
end module host_flags_loss

program host_flags
  use, intrinsic :: iso_c_binding
  use zoo
  use host_flags_loss
  implicit none
  type(zoo_model) :: model
  type(zoo_trainer) :: serial, threaded
  integer, target :: seen_serial(max_candidates), seen_threaded(max_candidates)
  real(c_double) :: w1(17), w2(17)
  integer :: k, candidates, stat

  seen_serial = 0
  seen_threaded = 0
  call zoo_model_new_mlp(model, [2, 4, 1], 'tanh', 5_c_int64_t)
  call zoo_trainer_new(serial, model, 'estimator=rge-central q=8 lr=0.05 seed=1 threads=1')
  call zoo_trainer_new(threaded, model, 'estimator=rge-central q=8 lr=0.05 seed=1 threads=2')
  call zoo_model_free(model)
  candidates = zoo_trainer_num_candidates(serial)
  do k = 1, 10
     call zoo_step(serial, index_loss, userdata=c_loc(seen_serial), flags=ZOO_THREADSAFE, stat=stat)
     if (stat /= ZOO_OK) error stop 'threads=1: a candidate saw its index change'
     call zoo_step(threaded, index_loss, userdata=c_loc(seen_threaded), flags=ZOO_THREADSAFE, stat=stat)
     if (stat /= ZOO_OK) error stop 'threads=2: a candidate saw its index change'
  end do
  if (any(seen_threaded(1:candidates) /= 10) .or. any(seen_threaded(candidates + 1:) /= 0)) &
       error stop 'threads=2: zoo_candidate_index did not give each index once per step'
  if (any(seen_serial /= seen_threaded)) error stop 'threads=1 and threads=2 saw different indices'
  call zoo_trainer_get_params(serial, w1)
  call zoo_trainer_get_params(threaded, w2)
  call zoo_trainer_free(serial)
  call zoo_trainer_free(threaded)
  if (.not. all(w1 == w2)) error stop 'threads=2 trained to other weights than threads=1'
  write (*, '(a, i0, a)') 'host flags: ', candidates, ' candidates x 10 steps, indices steady, threads=1 == threads=2'
end program host_flags

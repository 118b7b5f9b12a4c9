!> zoo quickstart (Fortran): learn the nonlinear spring of an oscillator
!> through a legacy-style integrator that zoo cannot see into.
!>
!> The integrator advances x'' = -c x' - x + f(x) for NTRAJ initial
!> conditions with velocity Verlet and writes positions rounded to 4
!> decimals, as a code with fixed-format output would. A network replaces
!> the unknown force f(x) = -0.5 x^3; zoo trains it from trajectory errors
!> alone against a reference run with the true force, with central
!> coordinate-wise estimates (two integrations per weight per iteration).
!>
!> Prints the loss falling; stops with code 1 unless the final loss is
!> below 5% of the initial one.
module oscillator
  use, intrinsic :: iso_c_binding
  use zoo
  implicit none
  integer, parameter :: NTRAJ = 4, NSTEPS = 80
  real(c_double), parameter :: DT = 0.05_c_double, DAMPING = 0.1_c_double

  !> What the loss callback needs, passed to zoo as userdata.
  type :: problem
     real(c_double) :: reference(NTRAJ, NSTEPS)
  end type problem

contains

  pure function true_force(x) result(f)
    real(c_double), intent(in) :: x(:)
    real(c_double) :: f(size(x))
    f = -0.5_c_double * x**3
  end function true_force

  !> The legacy integrator. With a candidate it asks the network for the
  !> force (all trajectories as one batch); without, it uses the true force.
  subroutine integrate(trajectory, candidate, stat)
    real(c_double), intent(out) :: trajectory(NTRAJ, NSTEPS)
    type(c_ptr), intent(in), optional :: candidate
    integer, intent(out) :: stat
    real(c_double) :: x(NTRAJ), v(NTRAJ), f(1, NTRAJ), a(NTRAJ)
    integer :: t
    x = [-1.5_c_double, -0.5_c_double, 0.8_c_double, 1.6_c_double]
    v = 0
    stat = 0
    call force(x, a)
    do t = 1, NSTEPS
       x = x + DT * v + 0.5_c_double * DT**2 * a
       x = anint(x * 1e4_c_double) / 1e4_c_double
       v = v + 0.5_c_double * DT * a
       call force(x, a)
       if (stat /= 0) return
       v = (v + 0.5_c_double * DT * a) / (1 + 0.5_c_double * DT * DAMPING)
       trajectory(:, t) = x
    end do
  contains
    subroutine force(pos, acc)
      real(c_double), intent(in) :: pos(NTRAJ)
      real(c_double), intent(out) :: acc(NTRAJ)
      if (present(candidate)) then
         call zoo_candidate_forward_batch(candidate, reshape(pos, [1, NTRAJ]), f, stat)
         acc = -pos - DAMPING * v + f(1, :)
      else
         acc = -pos - DAMPING * v + true_force(pos)
      end if
    end subroutine force
  end subroutine integrate

  !> zoo's loss callback: integrate with this candidate's network.
  function trajectory_loss(userdata, candidate, loss) bind(c) result(status)
    type(c_ptr), value :: userdata
    type(c_ptr), value :: candidate
    real(c_double), intent(out) :: loss
    integer(c_int32_t) :: status
    type(problem), pointer :: p
    real(c_double) :: trajectory(NTRAJ, NSTEPS)
    integer :: stat
    call c_f_pointer(userdata, p)
    call integrate(trajectory, candidate, stat)
    loss = sum((trajectory - p%reference)**2) / size(trajectory)
    status = int(stat, c_int32_t)
  end function trajectory_loss

end module oscillator

program quickstart
  use, intrinsic :: iso_c_binding
  use zoo
  use oscillator
  implicit none
  type(zoo_model) :: model
  type(zoo_trainer) :: trainer
  type(problem), target :: p
  real(c_double) :: initial, final, loss
  real(c_double), parameter :: threshold = 0.05_c_double
  integer, parameter :: iterations = 400
  integer :: k, stat

  call integrate(p%reference, stat=stat)
  call zoo_model_new_mlp(model, [1, 8, 1], 'tanh', 11_c_int64_t)
  call zoo_trainer_new(trainer, model, 'estimator=cge-central mu=0.01 optimizer=adam lr=0.02')
  call zoo_model_free(model)   ! the trainer holds its own copy
  call zoo_model_free(model)   ! freeing twice is harmless

  call zoo_evaluate(trainer, trajectory_loss, initial, userdata=c_loc(p))
  write (*, '(3a)') 'zoo ', zoo_version(), ': oscillator force through a rounding Verlet integrator'
  write (*, '(a, es11.4)') 'initial trajectory loss ', initial
  do k = 1, iterations
     call zoo_step(trainer, trajectory_loss, userdata=c_loc(p), loss=loss)
     if (mod(k, 80) == 0) write (*, '(a, i5, a, es11.4)') 'iteration ', k, '  loss ', loss
  end do
  call zoo_evaluate(trainer, trajectory_loss, final, userdata=c_loc(p))
  call zoo_trainer_free(trainer)

  write (*, '(a, es11.4, a, f6.3, a, f5.2, a)') 'final trajectory loss ', final, ' = ', final / initial, &
       ' x initial (threshold ', threshold, ')'
  if (final >= threshold * initial) error stop 1
end program quickstart

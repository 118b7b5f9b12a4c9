!> zoo's side: the model is a polynomial network inside a legacy-style RK4
!> integrator, and zoo sees only how far the integrated segments land from
!> the observations (multiple shooting). No derivative of the data is
!> taken, so coarse sampling costs it nothing but model steps.
module lorenz_shooting
  use, intrinsic :: iso_c_binding
  use, intrinsic :: ieee_arithmetic, only: ieee_value, ieee_positive_inf
  use zoo
  use lorenz_system
  implicit none
  private
  public :: shooting, setup_segments, shooting_loss, linearize, segment_misfits, train
  public :: coefficients_of, params_of

  integer, parameter, public :: NPARAMS = NVAR * (NLIB - 1) + NVAR

  !> What the loss callback reads; written only between steps.
  type :: shooting
     integer :: nseg = 0, horizon = 0, every = 0   ! segments, samples per segment, model steps per sample
     real(c_double), allocatable :: observed(:, :, :)   ! (NVAR, 0:horizon, nseg)
     real(c_double), allocatable :: start(:, :)         ! (NVAR, nseg): each segment's initial state
     real(c_double), allocatable :: basis(:, :, :, :)   ! (NVAR, 0:horizon, NVAR, nseg): see linearize
     logical :: project = .false.
     real(c_double) :: scale(NVAR) = 1
  end type shooting

contains

  !> Cuts the training samples into disjoint segments of `horizon` samples
  !> (consecutive segments share an end point); the initial states start
  !> as the observed first samples.
  subroutine setup_segments(p, samples, every, horizon, scale)
    type(shooting), intent(out) :: p
    real(c_double), intent(in) :: samples(:, 0:), scale(NVAR)
    integer, intent(in) :: every, horizon
    integer :: j
    p%horizon = horizon
    p%every = every
    p%nseg = ubound(samples, 2) / horizon
    p%scale = scale
    allocate (p%observed(NVAR, 0:horizon, p%nseg), p%start(NVAR, p%nseg))
    do j = 1, p%nseg
       p%observed(:, :, j) = samples(:, (j - 1) * horizon:j * horizon)
       p%start(:, j) = samples(:, (j - 1) * horizon)
    end do
  end subroutine setup_segments

  !> One RK4 step of H_MODEL for every column of s, the network being the
  !> right-hand side; it sees all columns as one batch.
  recursive subroutine rk4_network(candidate, scale, s, stat)
    type(c_ptr), intent(in) :: candidate
    real(c_double), intent(in) :: scale(NVAR)
    real(c_double), intent(inout) :: s(:, :)
    integer, intent(out) :: stat
    real(c_double), dimension(NVAR, size(s, 2)) :: k1, k2, k3, k4
    real(c_double), parameter :: h = H_MODEL
    call rhs(s, k1)
    if (stat == 0) call rhs(s + 0.5_c_double * h * k1, k2)
    if (stat == 0) call rhs(s + 0.5_c_double * h * k2, k3)
    if (stat == 0) call rhs(s + h * k3, k4)
    if (stat == 0) s = s + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
  contains
    recursive subroutine rhs(state, ds)
      real(c_double), intent(in) :: state(:, :)
      real(c_double), intent(out) :: ds(:, :)
      real(c_double) :: x(NVAR, size(state, 2))
      integer :: j
      do j = 1, size(state, 2)
         x(:, j) = state(:, j) / scale
      end do
      call zoo_candidate_forward_batch(candidate, x, ds, stat)
      do j = 1, size(state, 2)
         ds(:, j) = RATE * scale * ds(:, j)
      end do
    end subroutine rhs
  end subroutine rk4_network

  !> zoo's loss: the mean squared misfit, in units of each variable's
  !> standard deviation, of every segment integrated from its initial
  !> state, over its samples (the first one included). With p%project,
  !> the part of each segment's misfit that a change of its initial state
  !> would remove (to first order, the span of p%basis) is not counted:
  !> the loss is then that of the best initial states for this candidate,
  !> so noise in the observed states does not bias the coefficients.
  !> A blow-up gives +inf, which zoo drops (nonfinite=skip). Thread-safe:
  !> recursive, writes only its locals.
  recursive function shooting_loss(userdata, candidate, loss) bind(c) result(status)
    type(c_ptr), value :: userdata, candidate
    real(c_double), intent(out) :: loss
    integer(c_int32_t) :: status
    type(shooting), pointer :: p
    real(c_double), allocatable :: s(:, :), r(:, :, :)
    integer :: k, m, j, i, stat
    call c_f_pointer(userdata, p)
    s = p%start
    allocate (r(NVAR, 0:p%horizon, p%nseg))
    status = 0
    do k = 0, p%horizon
       do m = 1, merge(0, p%every, k == 0)
          call rk4_network(candidate, p%scale, s, stat)
          if (stat /= 0) then
             status = 1
             return
          end if
       end do
       if (any(abs(s) > 1e4_c_double)) then
          loss = ieee_value(loss, ieee_positive_inf)
          return
       end if
       do j = 1, p%nseg
          r(:, k, j) = (s(:, j) - p%observed(:, k, j)) / p%scale
       end do
    end do
    loss = sum(r**2)
    if (p%project) then
       do j = 1, p%nseg
          do i = 1, NVAR
             loss = loss - sum(p%basis(:, :, i, j) * r(:, :, j))**2
          end do
       end do
    end if
    loss = loss / (NVAR * p%nseg * (p%horizon + 1))
  end function shooting_loss

  !> Linearises the misfit in the initial states for the model xi: takes
  !> `steps` Gauss-Newton steps on each segment's initial state, then
  !> stores an orthonormal basis of the misfit's sensitivity to it (the
  !> directions shooting_loss projects out). Sensitivities come from
  !> finite differences of the model's trajectories.
  subroutine linearize(p, xi, steps)
    type(shooting), intent(inout) :: p
    real(c_double), intent(in) :: xi(NLIB, NVAR)
    integer, intent(in) :: steps
    real(c_double), parameter :: DELTA = 1e-6_c_double
    real(c_double) :: s(NVAR, 4 * p%nseg), r(NVAR, 0:p%horizon, p%nseg), jac(NVAR, 0:p%horizon, NVAR, p%nseg)
    real(c_double) :: jtj(NVAR, NVAR), jtr(NVAR), step(NVAR), q(NVAR, 0:p%horizon, NVAR)
    integer :: it, k, j, v, i
    logical :: good
    if (.not. allocated(p%basis)) allocate (p%basis(NVAR, 0:p%horizon, NVAR, p%nseg))
    do it = 0, steps
       do v = 0, NVAR
          s(:, v * p%nseg + 1:(v + 1) * p%nseg) = p%start
          if (v > 0) s(v, v * p%nseg + 1:(v + 1) * p%nseg) = p%start(v, :) + DELTA * p%scale(v)
       end do
       do k = 0, p%horizon
          if (k > 0) call advance(xi, H_MODEL, p%every, s)
          do j = 1, p%nseg
             r(:, k, j) = (s(:, j) - p%observed(:, k, j)) / p%scale
             do v = 1, NVAR
                jac(:, k, v, j) = (s(:, v * p%nseg + j) - s(:, j)) / (DELTA * p%scale)
             end do
          end do
       end do
       do j = 1, p%nseg
          ! Orthonormal columns by Gram-Schmidt; a segment the model cannot
          ! follow (blow-up) keeps its state and loses its projection.
          q = jac(:, :, :, j)
          good = all(abs(r(:, :, j)) < 1e3_c_double)
          do i = 1, NVAR
             do v = 1, i - 1
                q(:, :, i) = q(:, :, i) - sum(q(:, :, v) * q(:, :, i)) * q(:, :, v)
             end do
             good = good .and. norm2(q(:, :, i)) > 1e-8_c_double
             if (good) q(:, :, i) = q(:, :, i) / norm2(q(:, :, i))
          end do
          if (.not. good) then
             p%basis(:, :, :, j) = 0
             cycle
          end if
          p%basis(:, :, :, j) = q
          if (it == steps) cycle
          do v = 1, NVAR
             do i = 1, NVAR
                jtj(v, i) = sum(jac(:, :, v, j) * jac(:, :, i, j))
             end do
             jtr(v) = sum(jac(:, :, v, j) * r(:, :, j))
          end do
          step = -solve3(jtj, jtr)
          ! Steps of more than half a standard deviation are cut back to it:
          ! far from the solution the linearisation cannot be trusted.
          if (all(step == step)) then
             if (maxval(abs(step)) > 0.5_c_double) step = step * 0.5_c_double / maxval(abs(step))
             p%start(:, j) = p%start(:, j) + step * p%scale
          end if
       end do
    end do
    p%project = .true.
  contains
    pure function solve3(a, b) result(x)
      real(c_double), intent(in) :: a(NVAR, NVAR), b(NVAR)
      real(c_double) :: x(NVAR)
      real(c_double) :: det
      det = a(1, 1) * (a(2, 2) * a(3, 3) - a(2, 3) * a(3, 2)) - a(1, 2) * (a(2, 1) * a(3, 3) - a(2, 3) * a(3, 1)) &
           + a(1, 3) * (a(2, 1) * a(3, 2) - a(2, 2) * a(3, 1))
      x(1) = b(1) * (a(2, 2) * a(3, 3) - a(2, 3) * a(3, 2)) - a(1, 2) * (b(2) * a(3, 3) - a(2, 3) * b(3)) &
           + a(1, 3) * (b(2) * a(3, 2) - a(2, 2) * b(3))
      x(2) = a(1, 1) * (b(2) * a(3, 3) - a(2, 3) * b(3)) - b(1) * (a(2, 1) * a(3, 3) - a(2, 3) * a(3, 1)) &
           + a(1, 3) * (a(2, 1) * b(3) - b(2) * a(3, 1))
      x(3) = a(1, 1) * (a(2, 2) * b(3) - b(2) * a(3, 2)) - a(1, 2) * (a(2, 1) * b(3) - b(2) * a(3, 1)) &
           + b(1) * (a(2, 1) * a(3, 2) - a(2, 2) * a(3, 1))
      x = x / det
    end function solve3
  end subroutine linearize

  !> Each segment's mean squared misfit (as shooting_loss, unprojected)
  !> for the model xi from the current initial states.
  function segment_misfits(p, xi) result(e)
    type(shooting), intent(in) :: p
    real(c_double), intent(in) :: xi(NLIB, NVAR)
    real(c_double) :: e(p%nseg)
    real(c_double) :: s(NVAR, p%nseg)
    integer :: k, j
    s = p%start
    e = 0
    do k = 0, p%horizon
       if (k > 0) call advance(xi, H_MODEL, p%every, s)
       do j = 1, p%nseg
          e(j) = e(j) + sum(((s(:, j) - p%observed(:, k, j)) / p%scale)**2)
       end do
    end do
    e = e / (NVAR * (p%horizon + 1))
  end function segment_misfits

  !> `iterations` of zoo (CGE, Adam, one cosine decay from lr) from the
  !> scaled coefficients c, training those marked active (the others are
  !> pruned, zero); c receives the result, evaluations adds the losses
  !> evaluated. Every `refine_every` iterations (0: never) the segments'
  !> initial states are re-estimated for the current coefficients: the
  !> states and the coefficients converge together. A step that fails
  !> (every candidate blew up) ends the training with the last weights.
  subroutine train(p, c, active, lr, iterations, refine_every, seed, evaluations)
    type(shooting), intent(inout), target :: p
    real(c_double), intent(inout) :: c(NLIB, NVAR)
    logical, intent(in) :: active(NLIB, NVAR)
    real(c_double), intent(in) :: lr
    integer, intent(in) :: iterations, refine_every, seed
    integer(c_int64_t), intent(inout) :: evaluations
    type(zoo_model) :: model
    type(zoo_trainer) :: trainer
    real(c_double) :: params(NPARAMS), loss
    character(len=200) :: options
    integer :: k, stat
    call zoo_model_new_polynomial(model, NVAR, 2, NVAR, int(seed, c_int64_t))
    params = params_of(merge(c, 0.0_c_double, active))
    call zoo_model_set_params(model, params)
    ! The decay to lr / 10^4 lets Adam settle to the precision of clean data.
    write (options, '(a, g0, a, g0, a, i0, a, i0)') 'estimator=cge-central mu=1e-6 optimizer=adam lr=', &
         lr, ' lr_min=', lr / 10000, ' schedule=cosine threads=2 schedule_iterations=', iterations, ' seed=', seed
    call zoo_trainer_new(trainer, model, trim(options))
    call zoo_model_free(model)
    call zoo_trainer_set_mask(trainer, params_of(merge(1.0_c_double, 0.0_c_double, active)) /= 0)
    do k = 1, iterations
       call zoo_step(trainer, shooting_loss, userdata=c_loc(p), flags=ZOO_THREADSAFE, loss=loss, stat=stat)
       if (stat /= ZOO_OK) exit
       if (refine_every > 0) then
          if (mod(k, refine_every) == 0) then
             call zoo_trainer_get_params(trainer, params)
             call linearize(p, from_scaled(coefficients_of(params), p%scale), 1)
          end if
       end if
    end do
    evaluations = evaluations + int(min(k, iterations), c_int64_t) * zoo_trainer_num_candidates(trainer)
    call zoo_trainer_get_params(trainer, params)
    call zoo_trainer_free(trainer)
    c = coefficients_of(params)
  end subroutine train

  !> The network's weights are the scaled coefficients: W (outputs x 9
  !> features, row-major in zoo's layout) for the monomials, the biases
  !> for the constant term.
  pure function coefficients_of(params) result(c)
    real(c_double), intent(in) :: params(NPARAMS)
    real(c_double) :: c(NLIB, NVAR)
    integer :: v
    do v = 1, NVAR
       c(1, v) = params(NVAR * (NLIB - 1) + v)
       c(2:, v) = params((v - 1) * (NLIB - 1) + 1:v * (NLIB - 1))
    end do
  end function coefficients_of

  pure function params_of(c) result(params)
    real(c_double), intent(in) :: c(NLIB, NVAR)
    real(c_double) :: params(NPARAMS)
    integer :: v
    do v = 1, NVAR
       params(NVAR * (NLIB - 1) + v) = c(1, v)
       params((v - 1) * (NLIB - 1) + 1:v * (NLIB - 1)) = c(2:, v)
    end do
  end function params_of

end module lorenz_shooting

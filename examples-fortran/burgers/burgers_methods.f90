!> How each method of the demo is trained, with validation deciding when
!> to stop: zeroth-order training through the coarse solver (ZO-SOL), the
!> supervised one-step fit (NON, optionally with noise injection) and the
!> closure baselines (a constant and a Smagorinsky-type eddy viscosity,
!> both fitted on the training rollout loss by a scan and golden-section
!> search).
module burgers_methods
  use, intrinsic :: iso_c_binding
  use zoo
  use burgers_solvers
  use burgers_coupling
  implicit none
  private
  public :: trained_model, initial_model, train_zo, fit_non, fit_constant, validation_error

  !> ZO-SOL checks its validation error every CHECK_EVERY iterations and
  !> keeps the best weights; NON does so every 5 epochs for the first 100
  !> epochs, then every CHUNK_EPOCHS.
  integer, parameter :: CHECK_EVERY = 25, CHUNK_EPOCHS = 25

  !> A trained model with what training it cost and where it stopped.
  type :: trained_model
     type(zoo_model) :: model
     real(dp) :: validation = huge(1.0_dp), fit_r2 = -1
     integer :: rollouts = 0, stopped_at = 0
  end type trained_model

contains

  !> The starting network of every method: a 16-unit tanh MLP drawn from
  !> `net_seed`. Corrections start at zero (output layer 0, so every
  !> method starts from SRC); a warm closure starts at the constant
  !> eddy viscosity `warm` (output weights 0, bias softplus^-1).
  subroutine initial_model(kind, net_seed, model, warm)
    integer, intent(in) :: kind, net_seed
    type(zoo_model), intent(inout) :: model
    real(dp), intent(in), optional :: warm
    real(dp), allocatable :: params(:)
    integer :: inputs
    inputs = merge(CORRECTION_INPUTS, CLOSURE_INPUTS, kind == CORRECTION)
    call zoo_model_free(model)
    call zoo_model_new_mlp(model, [inputs, 16, 1], 'tanh', int(net_seed, c_int64_t))
    allocate(params(inputs * 16 + 16 + 16 + 1))
    call zoo_model_get_params(model, params)
    if (kind == CORRECTION) then
       params(size(params) - 16:) = 0
    else if (present(warm)) then
       params(size(params) - 16:size(params) - 1) = 0
       params(size(params)) = log(exp(max(warm, 1e-6_dp) / CLOSURE_SCALE) - 1)
    end if
    call zoo_model_set_params(model, params)
  end subroutine initial_model

  !> Mean absolute error of a model's rollouts on `data` at the observed
  !> steps (every `stride`-th).
  real(dp) function validation_error(kind, model, data, stride) result(mae)
    integer, intent(in) :: kind, stride
    type(zoo_model), intent(in) :: model
    type(dataset), intent(in) :: data
    type(coupling) :: net
    real(dp) :: per_step(data%nsteps)
    net%kind = NET_MODEL
    net%model = model
    call test_errors(kind, net, data, mae, per_step, stride)
  end function validation_error

  !> ZO-SOL: `iterations` zoo steps through the coarse solver on the
  !> training rollout loss of task `t`; returns the weights of the best
  !> validation error seen every CHECK_EVERY iterations. When `log` is
  !> not 0 (an open unit; newunit numbers are negative), writes one JSON
  !> line of metrics per iteration to it.
  subroutine train_zo(t, validation, start, options, iterations, trained, log, label)
    type(task), target, intent(inout) :: t
    type(dataset), intent(in) :: validation
    type(zoo_model), intent(in) :: start
    character(len=*), intent(in) :: options, label
    integer, intent(in) :: iterations, log
    type(trained_model), intent(inout) :: trained
    type(zoo_trainer) :: trainer
    type(zoo_model) :: current
    integer :: k, stat
    real(dp) :: loss, error
    call zoo_trainer_new(trainer, start, options)
    call zoo_model_free(trained%model)
    call zoo_trainer_copy_model(trainer, trained%model)
    trained%validation = validation_error(t%kind, trained%model, validation, t%stride)
    trained%rollouts = 0
    trained%stopped_at = 0
    do k = 1, iterations
       call zoo_step(trainer, rollout_loss, userdata=c_loc(t), flags=ZOO_THREADSAFE, loss=loss, stat=stat)
       if (stat /= ZOO_OK) then
          write (*, '(4a)') '  ', label, ': iteration failed, stopping early: ', zoo_last_error()
          exit
       end if
       trained%rollouts = trained%rollouts + int(zoo_trainer_metric(trainer, 'evaluations'))
       if (log /= 0) write (log, '(3a, i0, a, es12.5, a, i0, a, i0, a, es12.5, a, es12.5, a)') &
            '{"method": "', label, '", "iteration": ', k - 1, ', "loss": ', loss, &
            ', "evaluations": ', int(zoo_trainer_metric(trainer, 'evaluations')), &
            ', "dropped": ', int(zoo_trainer_metric(trainer, 'dropped')), &
            ', "grad_norm": ', zoo_trainer_metric(trainer, 'grad_norm'), &
            ', "lr": ', zoo_trainer_metric(trainer, 'lr'), '}'
       if (mod(k, CHECK_EVERY) /= 0 .and. k /= iterations) cycle
       call zoo_trainer_copy_model(trainer, current)
       error = validation_error(t%kind, current, validation, t%stride)
       if (error < trained%validation) then
          trained%validation = error
          trained%stopped_at = k
          call zoo_model_free(trained%model)
          trained%model = current
          current%ptr = c_null_ptr
       else
          call zoo_model_free(current)
       end if
    end do
    call zoo_trainer_free(trainer)
  end subroutine train_zo

  !> NON: the correction fitted with exact gradients (zoo_model_fit, Adam)
  !> to one-step pairs of `pairs_data`, for at most `max_epochs` epochs in
  !> chunks (each a zoo_model_fit call, which starts Adam afresh); keeps the
  !> weights of the best rollout
  !> validation error after each chunk. With `noise` > 0 every chunk draws
  !> fresh input noise (noise injection). fit_r2 is measured on the
  !> noise-free pairs.
  subroutine fit_non(pairs_data, validation, stride, start, lr, noise, fit_seed, max_epochs, trained)
    type(dataset), intent(in) :: pairs_data, validation
    integer, intent(in) :: stride, fit_seed, max_epochs
    type(zoo_model), intent(in) :: start
    real(dp), intent(in) :: lr, noise
    type(trained_model), intent(inout) :: trained
    type(zoo_model) :: current
    real(dp), allocatable :: x(:, :), y(:, :), xn(:, :), yn(:, :), params(:), predicted(:, :)
    real(dp) :: error, variance, fit_loss
    integer(kind=8) :: state
    integer :: epoch, nparams, chunk
    character(len=128) :: options
    call correction_pairs(pairs_data, x, y)
    variance = sum((y - sum(y) / size(y))**2) / size(y)
    allocate(predicted(1, size(y, 2)))
    nparams = int(zoo_model_num_params(start))
    allocate(params(nparams))
    call zoo_model_get_params(start, params)
    call zoo_model_free(current)
    call zoo_model_new_mlp(current, [CORRECTION_INPUTS, 16, 1], 'tanh', 1_c_int64_t)
    call zoo_model_set_params(current, params)
    call zoo_model_free(trained%model)
    call zoo_model_new_mlp(trained%model, [CORRECTION_INPUTS, 16, 1], 'tanh', 1_c_int64_t)
    call zoo_model_set_params(trained%model, params)
    trained%validation = validation_error(CORRECTION, current, validation, stride)
    trained%stopped_at = 0
    trained%rollouts = 0
    call zoo_model_forward_batch(current, x, predicted)
    trained%fit_r2 = 1 - sum((predicted - y)**2) / size(y) / variance
    state = rng_state(1000003 * fit_seed)
    epoch = 0
    do while (epoch < max_epochs)
       ! Rollouts can be best after a few epochs (sparse observations,
       ! noise injection): check every 5 epochs early, every 25 later.
       chunk = merge(5, CHUNK_EPOCHS, epoch < 100)
       epoch = epoch + chunk
       write (options, '(a, i0, a, es9.3, a, i0)') 'epochs=', chunk, ' batch=512 lr=', lr, ' seed=', &
            fit_seed * 100000 + epoch
       if (noise > 0) then
          call correction_pairs(pairs_data, xn, yn, noise, state)
          call zoo_model_fit(current, xn, yn, trim(options), fit_loss)
       else
          call zoo_model_fit(current, x, y, trim(options), fit_loss)
       end if
       error = validation_error(CORRECTION, current, validation, stride)
       if (error < trained%validation) then
          trained%validation = error
          trained%stopped_at = epoch
          call zoo_model_get_params(current, params)
          call zoo_model_set_params(trained%model, params)
          call zoo_model_forward_batch(current, x, predicted)
          trained%fit_r2 = 1 - sum((predicted - y)**2) / size(y) / variance
       end if
    end do
    call zoo_model_free(current)
  end subroutine fit_non

  !> The coupling constant in [lower, upper] with the lowest training
  !> rollout loss of task `t` (the closure baselines' one parameter,
  !> fitted like any parameter on the training data): the best point of a
  !> uniform scan, refined by golden-section search between its
  !> neighbours. The scan keeps the search off a local minimum, and a
  !> rollout that blows up counts as an infinite loss, so the search never
  !> walks into the unstable range.
  subroutine fit_constant(t, kind, lower, upper, best, evaluations)
    use, intrinsic :: ieee_arithmetic, only: ieee_is_finite
    type(task), intent(in) :: t
    integer, intent(in) :: kind
    real(dp), intent(in) :: lower, upper
    real(dp), intent(out) :: best
    integer, intent(out) :: evaluations
    real(dp), parameter :: golden = 0.6180339887498949_dp
    integer, parameter :: SCAN_POINTS = 11
    real(dp) :: a, b, c, d, fc, fd, h, scan(SCAN_POINTS)
    integer :: i, j
    h = (upper - lower) / (SCAN_POINTS - 1)
    do i = 1, SCAN_POINTS
       scan(i) = loss_at(lower + (i - 1) * h)
    end do
    evaluations = SCAN_POINTS
    j = minloc(scan, 1)
    a = lower + max(j - 2, 0) * h
    b = lower + min(j, SCAN_POINTS - 1) * h
    c = b - golden * (b - a)
    d = a + golden * (b - a)
    fc = loss_at(c)
    fd = loss_at(d)
    evaluations = evaluations + 2
    do while (b - a > 1e-4_dp * (upper - lower))
       if (fc < fd) then
          b = d
          d = c
          fd = fc
          c = b - golden * (b - a)
          fc = loss_at(c)
       else
          a = c
          c = d
          fc = fd
          d = a + golden * (b - a)
          fd = loss_at(d)
       end if
       evaluations = evaluations + 1
    end do
    best = 0.5_dp * (a + b)
    evaluations = evaluations + 1
    if (loss_at(best) > scan(j)) best = lower + (j - 1) * h
  contains
    real(dp) function loss_at(value)
      real(dp), intent(in) :: value
      type(coupling) :: net
      integer :: stat
      net%kind = kind
      net%constant = value
      loss_at = training_loss(t%kind, net, t%train, stat, t%stride)
      if (.not. ieee_is_finite(loss_at)) loss_at = huge(1.0_dp)
    end function loss_at
  end subroutine fit_constant

end module burgers_methods

!> Fortran binding checks: optional stat instead of error stop, messages,
!> idempotent frees, option strings, and an ask/tell loop that must give
!> bit-identical weights to zoo_step. Ends with "N passed, N failed".
module api_checks
  use, intrinsic :: iso_c_binding
  use zoo
  implicit none
  integer :: passed = 0, failed = 0
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

  !> Loss of a network at three fixed inputs.
  function fit_loss(userdata, candidate, loss) bind(c) result(status)
    type(c_ptr), value :: userdata, candidate
    real(c_double), intent(out) :: loss
    integer(c_int32_t) :: status
    real(c_double) :: x(2, 3), y(1, 3)
    integer :: stat
    x = reshape([0.1_c_double, 0.2_c_double, -0.5_c_double, 0.4_c_double, 0.9_c_double, -0.3_c_double], [2, 3])
    call zoo_candidate_forward_batch(candidate, x, y, stat)
    loss = sum((y(1, :) - [1.0_c_double, -1.0_c_double, 0.5_c_double])**2)
    status = int(stat, c_int32_t)
  end function fit_loss

  !> The same loss from parameters alone, as a host running its own network would.
  function loss_of(trainer, id) result(loss)
    type(zoo_trainer), intent(inout) :: trainer
    integer(c_int64_t), intent(in) :: id
    real(c_double) :: loss
    real(c_double) :: x(2, 3), y(1, 3)
    x = reshape([0.1_c_double, 0.2_c_double, -0.5_c_double, 0.4_c_double, 0.9_c_double, -0.3_c_double], [2, 3])
    call zoo_forward_batch(trainer, id, x, y)
    loss = sum((y(1, :) - [1.0_c_double, -1.0_c_double, 0.5_c_double])**2)
  end function loss_of
  !> Dataset mode: outputs should all be 0.5.
  function outputs_loss(userdata, y, ny, loss) bind(c) result(status)
    type(c_ptr), value :: userdata, y
    integer(c_size_t), value :: ny
    real(c_double), intent(out) :: loss
    integer(c_int32_t) :: status
    real(c_double), pointer :: v(:)
    call c_f_pointer(y, v, [ny])
    loss = sum((v - 0.5_c_double)**2) / ny
    status = 0
  end function outputs_loss

  function outputs_adjoint(userdata, y, ny, loss, grad_y) bind(c) result(status)
    type(c_ptr), value :: userdata, y, grad_y
    integer(c_size_t), value :: ny
    real(c_double), intent(out) :: loss
    integer(c_int32_t) :: status
    real(c_double), pointer :: v(:), g(:)
    call c_f_pointer(y, v, [ny])
    call c_f_pointer(grad_y, g, [ny])
    loss = sum((v - 0.5_c_double)**2) / ny
    g = 2 * (v - 0.5_c_double) / ny
    status = 0
  end function outputs_adjoint

  !> Per-row losses of the same black box (one output per row).
  function outputs_losses(userdata, y, ny, losses, nrows) bind(c) result(status)
    type(c_ptr), value :: userdata, y, losses
    integer(c_size_t), value :: ny, nrows
    integer(c_int32_t) :: status
    real(c_double), pointer :: v(:), l(:)
    call c_f_pointer(y, v, [ny])
    call c_f_pointer(losses, l, [nrows])
    l = (v - 0.5_c_double)**2 / nrows
    status = 0
  end function outputs_losses
end module api_checks

program api
  use, intrinsic :: iso_c_binding
  use zoo
  use api_checks
  implicit none
  type(zoo_model) :: model, copy
  type(zoo_trainer) :: stepped, asked
  integer :: stat, count, i, k
  character(len=32) :: value
  real(c_double) :: params(17), other(17), loss, y(1)
  integer(c_int64_t) :: ids(40), id
  logical :: got, updated, mask(17)
  real(c_double) :: many_x(2, 3, 4), many_y(1, 3, 4), shared_y(1, 3, 4), y3(1, 3)

  call expect(zoo_version() /= '', 'version')
  call expect(zoo_version_number() == ZOO_VERSION_MAJOR * 1000000 + ZOO_VERSION_MINOR * 1000 &
       + ZOO_VERSION_PATCH, 'version number of the library and the module')
  call expect(zoo_status_name(ZOO_BAD_SIZE) == 'ZOO_BAD_SIZE', 'status name')

  call zoo_model_new_mlp(model, [2, 0, 1], 'tanh', 1_c_int64_t, stat=stat)
  call expect(stat == ZOO_INVALID_ARGUMENT, 'zero layer width is rejected')
  call expect(index(zoo_last_error(), 'layer size 1 is 0') > 0, 'message names the layer')
  call zoo_model_new_mlp(model, [2, 4, 1], 'swish', 1_c_int64_t, stat=stat)
  call expect(stat == ZOO_INVALID_OPTION .and. index(zoo_last_error(), 'swish') > 0, 'bad activation')
  call zoo_model_new_mlp(model, [2, 4, 1], 'tanh', 1_c_int64_t, stat=stat)
  call expect(stat == ZOO_OK, 'model created')
  call expect(zoo_model_num_params(model) == 17, 'parameter count')
  call zoo_model_get_params(model, params(1:16), stat=stat)
  call expect(stat == ZOO_BAD_SIZE, 'short parameter array')
  call zoo_model_forward(model, [0.1_c_double, 0.2_c_double, 0.3_c_double], y, stat=stat)
  call expect(stat == ZOO_BAD_SIZE .and. index(zoo_last_error(), 'inputs') > 0, 'forward with 3 inputs')

  call zoo_trainer_new(stepped, model, 'learning_rate=1', stat=stat)
  call expect(stat == ZOO_UNKNOWN_OPTION .and. index(zoo_last_error(), 'learning_rate') > 0, 'unknown option')
  call zoo_trainer_new(stepped, model, 'estimator=rge-forward q=5 lr=0.05 seed=9', stat=stat)
  call expect(stat == ZOO_OK, 'trainer created')
  call zoo_trainer_new(asked, model, 'estimator=rge-forward q=5 lr=0.05 seed=9')
  call zoo_model_free(model)
  call zoo_model_free(model)
  call expect(.not. c_associated(model%ptr), 'free nulls the handle and is idempotent')

  call zoo_trainer_get(stepped, 'q', value)
  call expect(value == '5', 'zoo_trainer_get')
  call zoo_trainer_set(stepped, 'q', '0', stat=stat)
  call expect(stat == ZOO_INVALID_OPTION, 'bad value')
  call zoo_trainer_get(stepped, 'estimator', value(1:4), stat=stat)
  call expect(stat == ZOO_BAD_SIZE, 'value buffer too short')
  call expect(zoo_trainer_num_candidates(stepped) == 6, 'candidates per iteration')
  loss = zoo_trainer_metric(stepped, 'loss', stat=stat)
  call expect(stat == ZOO_BAD_STATE, 'no metrics before the first iteration')

  ! The same iterations through zoo_step and through ask/tell with batches
  ! of 4, told in reverse order: the weights must be bit-identical.
  do k = 1, 5
     call zoo_step(stepped, fit_loss)
     updated = .false.
     do while (.not. updated)
        call zoo_ask_batch(asked, ids(1:4), count)
        do i = count, 1, -1
           call zoo_tell(asked, ids(i), loss_of(asked, ids(i)), updated)
        end do
     end do
  end do
  call zoo_trainer_get_params(stepped, params)
  call zoo_trainer_get_params(asked, other)
  call expect(all(params == other), 'ask/tell equals zoo_step bit for bit')
  call expect(zoo_trainer_iteration(asked) == 5, 'five iterations')
  call expect(zoo_trainer_metric(stepped, 'evaluations') == 6, 'evaluations metric')

  call zoo_ask(asked, id, got)
  call expect(got, 'ask opens an iteration')
  call zoo_ask_batch(asked, ids(1:4), count)
  many_x(:, :, 1:count) = reshape([(0.1_c_double * i - 0.7_c_double, i = 1, 6 * count)], [2, 3, count])
  call zoo_forward_many(asked, ids(1:count), many_x(:, :, 1:count), many_y(:, :, 1:count))
  call zoo_forward_many(asked, ids(1:count), many_x(:, :, 1), shared_y(:, :, 1:count))
  do i = 1, count
     call zoo_forward_batch(asked, ids(i), many_x(:, :, i), y3)
     call expect(all(y3 == many_y(:, :, i)), 'zoo_forward_many equals zoo_forward_batch per candidate')
     call zoo_forward_batch(asked, ids(i), many_x(:, :, 1), y3)
     call expect(all(y3 == shared_y(:, :, i)), 'zoo_forward_many with shared inputs')
  end do
  call zoo_forward_many(asked, ids(1:count), many_x(:, 1:2, 1:count), many_y(:, :, 1:count), stat=stat)
  call expect(stat == ZOO_BAD_SIZE, 'zoo_forward_many checks sizes')
  call zoo_tell(asked, id, 1.0_c_double)
  call zoo_tell(asked, id, 1.0_c_double, stat=stat)
  call expect(stat == ZOO_BAD_CANDIDATE .and. index(zoo_last_error(), 'already told') > 0, 'tell twice')
  call zoo_trainer_set_params(asked, params, stat=stat)
  call expect(stat == ZOO_BAD_STATE, 'set_params during an open iteration')
  call zoo_abort_iteration(asked)
  call zoo_trainer_get_params(asked, other)
  call expect(all(params == other), 'abort changes nothing')

  ! Sparsity: pruning, masks and a ZO-GraSP pruning through zoo_step.
  call zoo_trainer_prune(stepped, 'snip', 0.5_c_double, stat=stat)
  call expect(stat == ZOO_INVALID_OPTION .and. index(zoo_last_error(), 'magnitude') > 0, 'unknown pruning method')
  call zoo_trainer_prune(stepped, 'magnitude', 0.5_c_double)
  call expect(zoo_trainer_num_active(stepped) == 17 - 6, 'magnitude pruning to 50% per layer')
  call zoo_trainer_get_mask(stepped, mask)
  call zoo_trainer_get_params(stepped, params)
  call expect(all(params == 0 .or. mask), 'pruned weights are zero')
  call zoo_trainer_begin_zo_grasp(stepped, 0.75_c_double, 0.01_c_double)
  call zoo_trainer_set_mask(stepped, mask, stat=stat)
  call expect(stat == ZOO_BAD_STATE, 'mask frozen during ZO-GraSP')
  call zoo_step(stepped, fit_loss)
  call zoo_step(stepped, fit_loss)
  call expect(zoo_trainer_num_active(stepped) == 17 - 9, 'ZO-GraSP pruned to 75% per layer')
  call expect(zoo_trainer_iteration(stepped) == 5, 'ZO-GraSP iterations do not count')
  mask = .false.
  call zoo_trainer_set_mask(stepped, mask, stat=stat)
  call expect(stat == ZOO_INVALID_ARGUMENT, 'an all-pruned mask is rejected')
  call zoo_trainer_get_params(stepped, params)

  call zoo_trainer_copy_model(stepped, copy)
  block
    type(zoo_trainer) :: data_mode
    real(c_double) :: inputs(2, 3), first, last
    inputs = reshape([0.1_c_double, 0.2_c_double, -0.3_c_double, 0.4_c_double, 0.9_c_double, -0.8_c_double], [2, 3])
    call zoo_trainer_new(data_mode, copy, 'q=8 lr=0.05')
    do k = 1, 40
       call zoo_step_outputs(data_mode, inputs, outputs_loss, loss=last)
       if (k == 1) first = last
    end do
    call expect(last < 0.2_c_double * first, 'dataset mode: output-space steps reduce the loss')
    call zoo_step_adjoint(data_mode, inputs, outputs_adjoint, loss=last)
    call expect(zoo_trainer_metric(data_mode, 'evaluations') == 1, 'adjoint step: one evaluation')
    call zoo_step_outputs(data_mode, inputs(:, 1:2), outputs_loss, stat=stat)
    call expect(stat == ZOO_OK, 'dataset mode takes any number of rows')
    call zoo_trainer_free(data_mode)
  end block
  block
    type(zoo_trainer) :: by_callback, by_tells
    real(c_double) :: inputs(2, 3), y(1, 3), losses(3), before(17), after(17), first_loss
    integer(c_int64_t) :: ids(2)
    integer :: got
    logical :: updated
    inputs = reshape([0.1_c_double, 0.2_c_double, -0.3_c_double, 0.4_c_double, 0.9_c_double, -0.8_c_double], [2, 3])
    call zoo_trainer_new(by_callback, copy, 'estimator=cge-central lr=0.05')
    call zoo_trainer_new(by_tells, copy, 'estimator=cge-central lr=0.05')
    call zoo_trainer_set_batch(by_tells, inputs, per_sample=.true.)
    call zoo_trainer_set_batch(by_tells, inputs(:, 1:2), stat=stat)
    call zoo_trainer_set_batch(by_tells, inputs(1:1, :), stat=stat)
    call expect(stat == ZOO_BAD_SIZE, 'set_batch checks the inputs per row')
    do k = 1, 4
       call zoo_step_output_samples(by_callback, inputs, outputs_losses)
       call zoo_trainer_set_batch(by_tells, inputs, per_sample=.true.)
       call zoo_ask_batch(by_tells, ids, got)
       call expect(got == 2, 'per-sample CGE over one output: 2 candidates')
       call zoo_candidate_outputs(by_tells, ids(2), y)
       losses = (y(1, :) - 0.5_c_double)**2 / 3
       call zoo_tell_samples(by_tells, ids(2), losses, updated)
       call zoo_candidate_outputs(by_tells, ids(1), y)
       losses = (y(1, :) - 0.5_c_double)**2 / 3
       call zoo_tell_samples(by_tells, ids(1), losses(1:2), stat=stat)
       call expect(stat == ZOO_BAD_SIZE, 'tell_samples checks the number of losses')
       call zoo_tell_samples(by_tells, ids(1), losses, updated)
       call expect(updated, 'the last tell updates')
    end do
    call zoo_trainer_get_params(by_callback, before)
    call zoo_trainer_get_params(by_tells, after)
    call expect(all(before == after), 'per-sample ask/tell equals zoo_step_output_samples')
    call zoo_trainer_clear_batch(by_tells)
    call zoo_trainer_set_data_term(by_tells, inputs, reshape([0.5_c_double, 0.5_c_double], [2, 1]), 1.0_c_double, &
         stat=stat)
    call expect(stat == ZOO_BAD_SIZE, 'data term targets are outputs x rows')
    call zoo_trainer_set_data_term(by_tells, inputs, reshape([0.5_c_double, 0.5_c_double, 0.5_c_double], [1, 3]), &
         2.0_c_double)
    call zoo_step_outputs(by_tells, inputs, outputs_loss, loss=first_loss)
    call expect(abs(zoo_trainer_metric(by_tells, 'data_loss') - 2 * first_loss) < 1e-5_c_double, &
         'data term: weight times the same mean squared error')
    call zoo_trainer_clear_data_term(by_tells)
    call zoo_trainer_free(by_callback)
    call zoo_trainer_free(by_tells)
  end block
  block
    type(zoo_trainer) :: loaded
    type(zoo_model) :: saved_model
    real(c_double) :: reloaded(17)
    character(len=*), parameter :: path = 'zoo_fortran_api.safetensors'
    call zoo_trainer_save(stepped, path)
    call zoo_trainer_load(loaded, path)
    call zoo_trainer_get_params(loaded, reloaded)
    call expect(all(reloaded == params) .and. zoo_trainer_iteration(loaded) == zoo_trainer_iteration(stepped), &
         'a loaded trainer has the saved weights and iteration')
    call zoo_trainer_restore(loaded, 'no-such-file.safetensors', stat=stat)
    call expect(stat == ZOO_IO_ERROR, 'restoring a missing file is an I/O error')
    call zoo_model_load(saved_model, path)
    call zoo_model_save(saved_model, path)
    call zoo_trainer_restore(loaded, path, stat=stat)
    call expect(stat == ZOO_BAD_CHECKPOINT, 'a model checkpoint does not restore a trainer')
    call zoo_model_free(saved_model)
    call zoo_trainer_free(loaded)
    open (newunit=k, file=path)
    close (k, status='delete')
  end block
  block
    real(c_double) :: mu, report(ZOO_MU_SCAN_REPORT), before(size(params)), after(size(params))
    call zoo_trainer_get_params(stepped, before)
    call zoo_scan_mu(stepped, fit_loss, 3, mu, report=report)
    call zoo_trainer_get_params(stepped, after)
    call expect(all(before == after), 'a mu scan leaves the weights as they were')
    call expect(report(8) == 1 + 2 * 3 * ZOO_MU_SCAN_RADII, 'the scan reports its evaluations')
    call expect(report(9) == 1e-9_c_double .and. report(8 + ZOO_MU_SCAN_RADII) == 0.1_c_double, &
         'the report lists the radii')
    ! A smooth network loss: central differences are accurate from tiny
    ! radii up to its curvature scale, and the recommended mu lies inside.
    call expect(report(4) <= 1e-6_c_double .and. report(5) >= 1e-3_c_double, 'a smooth loss is accurate widely')
    call expect(mu > 0 .and. mu < report(5), 'the recommended mu is inside the accurate range')
    call zoo_scan_mu(stepped, fit_loss, 0, mu, stat=stat)
    call expect(stat == ZOO_INVALID_ARGUMENT, 'a scan without directions is refused')
    call zoo_scan_mu(stepped, fit_loss, 2, mu, report=report(1:5), stat=stat)
    call expect(stat == ZOO_BAD_SIZE, 'a short report array is refused')
  end block
  call zoo_model_get_params(copy, other)
  call expect(all(params == other), 'copied model holds the weights')
  call zoo_model_free(copy)
  call zoo_trainer_free(stepped)
  call zoo_trainer_free(asked)
  call zoo_trainer_free(asked)

  write (*, '(i0, a, i0, a)') passed, ' passed, ', failed, ' failed'
  if (failed > 0) error stop 1
end program api

!> Fortran binding of zoo: train neural networks through black-box solvers
!> with zeroth-order optimization.
!>
!> Compile this file with your own compiler (the CMake package does it as
!> target zoo::fortran) and `use zoo`. Conventions:
!> - Handles are derived types holding a C pointer, null until created.
!>   The *_free routines are idempotent: freeing twice, or freeing a handle
!>   never created, does nothing.
!> - Every routine takes an optional integer `stat`. When present it
!>   receives the status (ZOO_OK = 0 on success) and the program goes on;
!>   when absent and the call fails, the routine prints zoo's message as
!>   the first line on error_unit and stops the program (exit status 1),
!>   unless the host registered a handler (zoo_set_error_handler).
!> - Arrays are contiguous real(c_double). A batch of n inputs is x(inputs, n):
!>   each column is one row of the C API's row-major layout.
!> - Loss callbacks are bind(c) functions matching zoo_loss_callback; they
!>   receive your userdata (a c_ptr from c_loc, or c_null_ptr) and a
!>   candidate handle valid only during the call.
!> - Safe on several threads whatever the host's flags (-fno-automatic,
!>   -finit-local-zero, -fdefault-real-8, ...): every procedure is
!>   recursive, kinds are spelled out, no local is saved or initialised
!>   in its declaration, and no function with a deferred-length result is
!>   called inside the module. The only module variables are the error
!>   handler and the flag of a stop under way. New procedures keep these
!>   rules.
!> Plain Fortran 2008 with iso_c_binding.
module zoo
  use, intrinsic :: iso_c_binding
  use, intrinsic :: iso_fortran_env, only: error_unit, output_unit
  implicit none
  private

  public :: zoo_model, zoo_trainer, zoo_loss_callback
  public :: zoo_version, zoo_version_number, zoo_status_name, zoo_last_error
  public :: zoo_error_handler, zoo_set_error_handler
  public :: zoo_model_new_mlp, zoo_model_free, zoo_model_num_params, zoo_model_num_active
  public :: zoo_model_get_params, zoo_model_set_params, zoo_model_forward, zoo_model_forward_batch
  public :: zoo_model_fit
  public :: zoo_trainer_new, zoo_trainer_free, zoo_trainer_set, zoo_trainer_get
  public :: zoo_trainer_num_params, zoo_trainer_get_params, zoo_trainer_set_params
  public :: zoo_trainer_copy_model, zoo_trainer_iteration, zoo_trainer_num_candidates, zoo_trainer_metric
  public :: zoo_step, zoo_evaluate, zoo_scan_mu
  public :: zoo_candidate_forward, zoo_candidate_forward_batch, zoo_candidate_index, zoo_candidate_get_params
  public :: zoo_ask, zoo_ask_batch, zoo_forward, zoo_forward_batch, zoo_forward_many, zoo_candidate_params, zoo_tell
  public :: zoo_abort_iteration
  public :: zoo_model_prune, zoo_model_prune_layers, zoo_model_get_mask, zoo_model_set_mask
  public :: zoo_trainer_prune, zoo_trainer_get_mask, zoo_trainer_set_mask, zoo_trainer_num_active
  public :: zoo_trainer_begin_zo_grasp
  public :: zoo_allreduce_callback, zoo_trainer_set_communicator, zoo_trainer_check_consistency
  public :: zoo_output_loss_callback, zoo_adjoint_callback, zoo_step_outputs, zoo_step_adjoint
  public :: zoo_output_losses_callback, zoo_step_output_samples
  public :: zoo_trainer_set_batch, zoo_trainer_clear_batch, zoo_candidate_outputs, zoo_tell_samples
  public :: zoo_trainer_set_data_term, zoo_trainer_clear_data_term
  public :: zoo_model_save, zoo_model_load, zoo_trainer_save, zoo_trainer_load, zoo_trainer_restore
  public :: zoo_model_new_polynomial, zoo_trainer_threshold
  public :: zoo_slot, zoo_slot_new, zoo_slot_new_model, zoo_slot_forward, zoo_slot_free

  !> Status codes (see zoo.h); values are never renumbered.
  integer, parameter, public :: ZOO_OK = 0, ZOO_NULL_POINTER = 1, ZOO_BAD_SIZE = 2, &
       ZOO_INVALID_ARGUMENT = 3, ZOO_UNKNOWN_OPTION = 4, ZOO_INVALID_OPTION = 5, &
       ZOO_BAD_STATE = 6, ZOO_BAD_CANDIDATE = 7, ZOO_CALLBACK_FAILED = 8, &
       ZOO_NONFINITE_LOSS = 9, ZOO_ITERATION_FAILED = 10, ZOO_INVALID_STRING = 11, &
       ZOO_PANIC = 12, ZOO_NO_CANDIDATE = 13, ZOO_RANK_FAILED = 14, ZOO_ALLREDUCE_FAILED = 15, &
       ZOO_IO_ERROR = 16, ZOO_BAD_CHECKPOINT = 17, ZOO_OUT_OF_MEMORY = 18, ZOO_BUSY = 19
  !> Version of this module (as ZOO_VERSION_* in zoo.h); zoo_version_number()
  !> is the loaded library's, MAJOR * 1000000 + MINOR * 1000 + PATCH (Fortran
  !> ignores case, so the number has no constant of its own here).
  integer, parameter, public :: ZOO_VERSION_MAJOR = 0, ZOO_VERSION_MINOR = 1, &
       ZOO_VERSION_PATCH = 0
  !> Flag for zoo_step: the callback may run on several threads at once.
  integer, parameter, public :: ZOO_THREADSAFE = 1
  !> The μ scan's radii, and the length of its report (see zoo_scan_mu).
  integer, parameter, public :: ZOO_MU_SCAN_RADII = 17, ZOO_MU_SCAN_REPORT = 59

  !> A network with its weights and mask.
  type :: zoo_model
     type(c_ptr) :: ptr = c_null_ptr
  end type zoo_model

  !> A trainer: a copy of a model plus estimator, optimizer and state.
  type :: zoo_trainer
     type(c_ptr) :: ptr = c_null_ptr
  end type zoo_trainer

  !> A network slot for routines that cannot take a candidate: on a thread
  !> evaluating one of its trainer's candidates it runs that candidate,
  !> elsewhere the trainer's current weights (or a frozen model's).
  type :: zoo_slot
     type(c_ptr) :: ptr = c_null_ptr
  end type zoo_slot

  !> zoo_slot_forward on one input vector or on the columns of x(inputs, n).
  interface zoo_slot_forward
     module procedure zoo_slot_forward_one, zoo_slot_forward_batch
  end interface zoo_slot_forward

  !> Many asked candidates in one call: x(:, :, k) per candidate, or one
  !> x(:, :) that every candidate reads.
  interface zoo_forward_many
     module procedure zoo_forward_many_each, zoo_forward_many_shared
  end interface zoo_forward_many

  abstract interface
     !> A loss callback: evaluate the black box with the network of
     !> `candidate`, set `loss`, return 0 (anything else aborts the iteration).
     function zoo_loss_callback(userdata, candidate, loss) bind(c) result(status)
       import :: c_ptr, c_double, c_int32_t
       type(c_ptr), value :: userdata
       type(c_ptr), value :: candidate
       real(c_double), intent(out) :: loss
       integer(c_int32_t) :: status
     end function zoo_loss_callback
     !> Dataset mode: the loss of network outputs y (ny values at `y`,
     !> outputs x rows); return 0.
     function zoo_output_loss_callback(userdata, y, ny, loss) bind(c) result(status)
       import :: c_ptr, c_size_t, c_double, c_int32_t
       type(c_ptr), value :: userdata, y
       integer(c_size_t), value :: ny
       real(c_double), intent(out) :: loss
       integer(c_int32_t) :: status
     end function zoo_output_loss_callback
     !> Dataset mode with an adjoint: the loss and dloss/dy (written to
     !> the ny values at `grad_y`); return 0.
     function zoo_adjoint_callback(userdata, y, ny, loss, grad_y) bind(c) result(status)
       import :: c_ptr, c_size_t, c_double, c_int32_t
       type(c_ptr), value :: userdata, y
       integer(c_size_t), value :: ny
       real(c_double), intent(out) :: loss
       type(c_ptr), value :: grad_y
       integer(c_int32_t) :: status
     end function zoo_adjoint_callback
     !> Dataset mode with per-row losses: write one loss per row of the
     !> outputs y (ny values at `y`) to the nrows values at `losses`; their
     !> sum is the loss. Return 0.
     function zoo_output_losses_callback(userdata, y, ny, losses, nrows) bind(c) result(status)
       import :: c_ptr, c_size_t, c_int32_t
       type(c_ptr), value :: userdata, y
       integer(c_size_t), value :: ny
       type(c_ptr), value :: losses
       integer(c_size_t), value :: nrows
       integer(c_int32_t) :: status
     end function zoo_output_losses_callback
     !> The host's allreduce: replace the n doubles at `values` by their sum
     !> over all ranks (MPI_Allreduce with MPI_IN_PLACE); return 0.
     function zoo_allreduce_callback(userdata, values, n) bind(c) result(status)
       import :: c_ptr, c_size_t, c_int32_t
       type(c_ptr), value :: userdata, values
       integer(c_size_t), value :: n
       integer(c_int32_t) :: status
     end function zoo_allreduce_callback
     !> An error handler (zoo_set_error_handler): receives the status and
     !> zoo's message ("zoo: <routine> failed (<status name>): <reason>") of
     !> a call made without `stat` that failed. It may stop the program
     !> (MPI_Abort, error stop) or return; the failed routine then returns.
     subroutine zoo_error_handler(status, message)
       integer, intent(in) :: status
       character(len=*), intent(in) :: message
     end subroutine zoo_error_handler
  end interface

  interface
     function c_strlen(s) bind(c, name="strlen") result(n)
       import :: c_ptr, c_size_t
       type(c_ptr), value :: s
       integer(c_size_t) :: n
     end function c_strlen
     subroutine c_exit(status) bind(c, name="exit")
       import :: c_int
       integer(c_int), value :: status
     end subroutine c_exit
     function zoo_version_number() bind(c, name="zoo_version_number") result(v)
       import :: c_int32_t
       integer(c_int32_t) :: v
     end function zoo_version_number
     function c_zoo_version() bind(c, name="zoo_version") result(p)
       import :: c_ptr
       type(c_ptr) :: p
     end function c_zoo_version
     function c_zoo_status_name(status) bind(c, name="zoo_status_name") result(p)
       import :: c_ptr, c_int32_t
       integer(c_int32_t), value :: status
       type(c_ptr) :: p
     end function c_zoo_status_name
     function c_zoo_last_error() bind(c, name="zoo_last_error") result(p)
       import :: c_ptr
       type(c_ptr) :: p
     end function c_zoo_last_error

     function c_zoo_model_new_mlp(sizes, nsizes, activation, seed, out) &
          bind(c, name="zoo_model_new_mlp") result(s)
       import :: c_size_t, c_char, c_int64_t, c_ptr, c_int32_t
       integer(c_size_t), intent(in) :: sizes(*)
       integer(c_size_t), value :: nsizes
       character(kind=c_char), intent(in) :: activation(*)
       integer(c_int64_t), value :: seed
       type(c_ptr), intent(inout) :: out
       integer(c_int32_t) :: s
     end function c_zoo_model_new_mlp
     function c_zoo_model_new_polynomial(inputs, degree, outputs, seed, out) &
          bind(c, name="zoo_model_new_polynomial") result(s)
       import :: c_size_t, c_int64_t, c_ptr, c_int32_t
       integer(c_size_t), value :: inputs, degree, outputs
       integer(c_int64_t), value :: seed
       type(c_ptr), intent(inout) :: out
       integer(c_int32_t) :: s
     end function c_zoo_model_new_polynomial
     function c_zoo_trainer_threshold(trainer, threshold, include_biases, pruned) &
          bind(c, name="zoo_trainer_threshold") result(s)
       import :: c_ptr, c_double, c_int32_t, c_size_t
       type(c_ptr), value :: trainer
       real(c_double), value :: threshold
       integer(c_int32_t), value :: include_biases
       integer(c_size_t), intent(inout) :: pruned
       integer(c_int32_t) :: s
     end function c_zoo_trainer_threshold
     subroutine c_zoo_model_free(model) bind(c, name="zoo_model_free")
       import :: c_ptr
       type(c_ptr), value :: model
     end subroutine c_zoo_model_free
     function c_zoo_model_num_params(model, out) bind(c, name="zoo_model_num_params") result(s)
       import :: c_ptr, c_size_t, c_int32_t
       type(c_ptr), value :: model
       integer(c_size_t), intent(inout) :: out
       integer(c_int32_t) :: s
     end function c_zoo_model_num_params
     function c_zoo_model_num_active(model, out) bind(c, name="zoo_model_num_active") result(s)
       import :: c_ptr, c_size_t, c_int32_t
       type(c_ptr), value :: model
       integer(c_size_t), intent(inout) :: out
       integer(c_int32_t) :: s
     end function c_zoo_model_num_active
     function c_zoo_model_get_params(model, params, n) bind(c, name="zoo_model_get_params") result(s)
       import :: c_ptr, c_double, c_size_t, c_int32_t
       type(c_ptr), value :: model
       real(c_double), intent(inout) :: params(*)
       integer(c_size_t), value :: n
       integer(c_int32_t) :: s
     end function c_zoo_model_get_params
     function c_zoo_model_set_params(model, params, n) bind(c, name="zoo_model_set_params") result(s)
       import :: c_ptr, c_double, c_size_t, c_int32_t
       type(c_ptr), value :: model
       real(c_double), intent(in) :: params(*)
       integer(c_size_t), value :: n
       integer(c_int32_t) :: s
     end function c_zoo_model_set_params
     function c_zoo_model_forward_batch(model, x, nx, nrows, y, ny) &
          bind(c, name="zoo_model_forward_batch") result(s)
       import :: c_ptr, c_double, c_size_t, c_int32_t
       type(c_ptr), value :: model
       real(c_double), intent(in) :: x(*)
       integer(c_size_t), value :: nx, nrows
       real(c_double), intent(inout) :: y(*)
       integer(c_size_t), value :: ny
       integer(c_int32_t) :: s
     end function c_zoo_model_forward_batch

     function c_zoo_model_fit(model, x, nx, y, ny, nrows, options, final_loss) &
          bind(c, name="zoo_model_fit") result(s)
       import :: c_ptr, c_double, c_size_t, c_char, c_int32_t
       type(c_ptr), value :: model
       real(c_double), intent(in) :: x(*)
       integer(c_size_t), value :: nx
       real(c_double), intent(in) :: y(*)
       integer(c_size_t), value :: ny, nrows
       character(kind=c_char), intent(in) :: options(*)
       real(c_double), intent(inout) :: final_loss
       integer(c_int32_t) :: s
     end function c_zoo_model_fit

     function c_zoo_trainer_new(model, options, out) bind(c, name="zoo_trainer_new") result(s)
       import :: c_ptr, c_char, c_int32_t
       type(c_ptr), value :: model
       character(kind=c_char), intent(in) :: options(*)
       type(c_ptr), intent(inout) :: out
       integer(c_int32_t) :: s
     end function c_zoo_trainer_new
     subroutine c_zoo_trainer_free(trainer) bind(c, name="zoo_trainer_free")
       import :: c_ptr
       type(c_ptr), value :: trainer
     end subroutine c_zoo_trainer_free
     function c_zoo_trainer_set(trainer, key, value) bind(c, name="zoo_trainer_set") result(s)
       import :: c_ptr, c_char, c_int32_t
       type(c_ptr), value :: trainer
       character(kind=c_char), intent(in) :: key(*), value(*)
       integer(c_int32_t) :: s
     end function c_zoo_trainer_set
     function c_zoo_trainer_get(trainer, key, value, capacity) bind(c, name="zoo_trainer_get") result(s)
       import :: c_ptr, c_char, c_size_t, c_int32_t
       type(c_ptr), value :: trainer
       character(kind=c_char), intent(in) :: key(*)
       character(kind=c_char), intent(inout) :: value(*)
       integer(c_size_t), value :: capacity
       integer(c_int32_t) :: s
     end function c_zoo_trainer_get
     function c_zoo_trainer_num_params(trainer, out) bind(c, name="zoo_trainer_num_params") result(s)
       import :: c_ptr, c_size_t, c_int32_t
       type(c_ptr), value :: trainer
       integer(c_size_t), intent(inout) :: out
       integer(c_int32_t) :: s
     end function c_zoo_trainer_num_params
     function c_zoo_trainer_get_params(trainer, params, n) bind(c, name="zoo_trainer_get_params") result(s)
       import :: c_ptr, c_double, c_size_t, c_int32_t
       type(c_ptr), value :: trainer
       real(c_double), intent(inout) :: params(*)
       integer(c_size_t), value :: n
       integer(c_int32_t) :: s
     end function c_zoo_trainer_get_params
     function c_zoo_trainer_set_params(trainer, params, n) bind(c, name="zoo_trainer_set_params") result(s)
       import :: c_ptr, c_double, c_size_t, c_int32_t
       type(c_ptr), value :: trainer
       real(c_double), intent(in) :: params(*)
       integer(c_size_t), value :: n
       integer(c_int32_t) :: s
     end function c_zoo_trainer_set_params
     function c_zoo_trainer_copy_model(trainer, out) bind(c, name="zoo_trainer_copy_model") result(s)
       import :: c_ptr, c_int32_t
       type(c_ptr), value :: trainer
       type(c_ptr), intent(inout) :: out
       integer(c_int32_t) :: s
     end function c_zoo_trainer_copy_model
     function c_zoo_trainer_iteration(trainer, out) bind(c, name="zoo_trainer_iteration") result(s)
       import :: c_ptr, c_int64_t, c_int32_t
       type(c_ptr), value :: trainer
       integer(c_int64_t), intent(inout) :: out
       integer(c_int32_t) :: s
     end function c_zoo_trainer_iteration
     function c_zoo_trainer_num_candidates(trainer, out) bind(c, name="zoo_trainer_num_candidates") result(s)
       import :: c_ptr, c_size_t, c_int32_t
       type(c_ptr), value :: trainer
       integer(c_size_t), intent(inout) :: out
       integer(c_int32_t) :: s
     end function c_zoo_trainer_num_candidates
     function c_zoo_trainer_metric(trainer, name, value) bind(c, name="zoo_trainer_metric") result(s)
       import :: c_ptr, c_char, c_double, c_int32_t
       type(c_ptr), value :: trainer
       character(kind=c_char), intent(in) :: name(*)
       real(c_double), intent(inout) :: value
       integer(c_int32_t) :: s
     end function c_zoo_trainer_metric

     function c_zoo_step(trainer, loss_fn, userdata, flags, loss) bind(c, name="zoo_step") result(s)
       import :: c_ptr, c_funptr, c_int32_t, c_double
       type(c_ptr), value :: trainer
       type(c_funptr), value :: loss_fn
       type(c_ptr), value :: userdata
       integer(c_int32_t), value :: flags
       real(c_double), intent(inout) :: loss
       integer(c_int32_t) :: s
     end function c_zoo_step
     function c_zoo_evaluate(trainer, loss_fn, userdata, loss) bind(c, name="zoo_evaluate") result(s)
       import :: c_ptr, c_funptr, c_int32_t, c_double
       type(c_ptr), value :: trainer
       type(c_funptr), value :: loss_fn
       type(c_ptr), value :: userdata
       real(c_double), intent(inout) :: loss
       integer(c_int32_t) :: s
     end function c_zoo_evaluate
     function c_zoo_scan_mu(trainer, loss_fn, userdata, directions, mu, report, report_len) &
          bind(c, name="zoo_scan_mu") result(s)
       import :: c_ptr, c_funptr, c_int32_t, c_double, c_size_t
       type(c_ptr), value :: trainer
       type(c_funptr), value :: loss_fn
       type(c_ptr), value :: userdata
       integer(c_size_t), value :: directions
       real(c_double), intent(inout) :: mu
       type(c_ptr), value :: report
       integer(c_size_t), value :: report_len
       integer(c_int32_t) :: s
     end function c_zoo_scan_mu
     function c_zoo_candidate_forward_batch(candidate, x, nx, nrows, y, ny) &
          bind(c, name="zoo_candidate_forward_batch") result(s)
       import :: c_ptr, c_double, c_size_t, c_int32_t
       type(c_ptr), value :: candidate
       real(c_double), intent(in) :: x(*)
       integer(c_size_t), value :: nx, nrows
       real(c_double), intent(inout) :: y(*)
       integer(c_size_t), value :: ny
       integer(c_int32_t) :: s
     end function c_zoo_candidate_forward_batch
     function c_zoo_candidate_index(candidate, out) bind(c, name="zoo_candidate_index") result(s)
       import :: c_ptr, c_size_t, c_int32_t
       type(c_ptr), value :: candidate
       integer(c_size_t), intent(inout) :: out
       integer(c_int32_t) :: s
     end function c_zoo_candidate_index
     function c_zoo_candidate_get_params(candidate, params, n) bind(c, name="zoo_candidate_get_params") result(s)
       import :: c_ptr, c_double, c_size_t, c_int32_t
       type(c_ptr), value :: candidate
       real(c_double), intent(inout) :: params(*)
       integer(c_size_t), value :: n
       integer(c_int32_t) :: s
     end function c_zoo_candidate_get_params

     function c_zoo_ask(trainer, id) bind(c, name="zoo_ask") result(s)
       import :: c_ptr, c_int64_t, c_int32_t
       type(c_ptr), value :: trainer
       integer(c_int64_t), intent(inout) :: id
       integer(c_int32_t) :: s
     end function c_zoo_ask
     function c_zoo_ask_batch(trainer, ids, max, count) bind(c, name="zoo_ask_batch") result(s)
       import :: c_ptr, c_int64_t, c_size_t, c_int32_t
       type(c_ptr), value :: trainer
       integer(c_int64_t), intent(inout) :: ids(*)
       integer(c_size_t), value :: max
       integer(c_size_t), intent(inout) :: count
       integer(c_int32_t) :: s
     end function c_zoo_ask_batch
     function c_zoo_forward_batch(trainer, id, x, nx, nrows, y, ny) bind(c, name="zoo_forward_batch") result(s)
       import :: c_ptr, c_int64_t, c_double, c_size_t, c_int32_t
       type(c_ptr), value :: trainer
       integer(c_int64_t), value :: id
       real(c_double), intent(in) :: x(*)
       integer(c_size_t), value :: nx, nrows
       real(c_double), intent(inout) :: y(*)
       integer(c_size_t), value :: ny
       integer(c_int32_t) :: s
     end function c_zoo_forward_batch
     function c_zoo_forward_many(trainer, ids, count, x, nx, shared_inputs, nrows, y, ny) &
          bind(c, name="zoo_forward_many") result(s)
       import :: c_ptr, c_int64_t, c_double, c_size_t, c_int32_t
       type(c_ptr), value :: trainer
       integer(c_int64_t), intent(in) :: ids(*)
       integer(c_size_t), value :: count
       real(c_double), intent(in) :: x(*)
       integer(c_size_t), value :: nx
       integer(c_int32_t), value :: shared_inputs
       integer(c_size_t), value :: nrows
       real(c_double), intent(inout) :: y(*)
       integer(c_size_t), value :: ny
       integer(c_int32_t) :: s
     end function c_zoo_forward_many
     function c_zoo_candidate_params(trainer, id, params, n) bind(c, name="zoo_candidate_params") result(s)
       import :: c_ptr, c_int64_t, c_double, c_size_t, c_int32_t
       type(c_ptr), value :: trainer
       integer(c_int64_t), value :: id
       real(c_double), intent(inout) :: params(*)
       integer(c_size_t), value :: n
       integer(c_int32_t) :: s
     end function c_zoo_candidate_params
     function c_zoo_tell(trainer, id, loss, updated) bind(c, name="zoo_tell") result(s)
       import :: c_ptr, c_int64_t, c_double, c_int32_t
       type(c_ptr), value :: trainer
       integer(c_int64_t), value :: id
       real(c_double), value :: loss
       integer(c_int32_t), intent(inout) :: updated
       integer(c_int32_t) :: s
     end function c_zoo_tell
     function c_zoo_abort_iteration(trainer) bind(c, name="zoo_abort_iteration") result(s)
       import :: c_ptr, c_int32_t
       type(c_ptr), value :: trainer
       integer(c_int32_t) :: s
     end function c_zoo_abort_iteration

     function c_zoo_prune(handle, method, sparsity, seed) bind(c) result(s)
       import :: c_ptr, c_char, c_double, c_int64_t, c_int32_t
       type(c_ptr), value :: handle
       character(kind=c_char), intent(in) :: method(*)
       real(c_double), value :: sparsity
       integer(c_int64_t), value :: seed
       integer(c_int32_t) :: s
     end function c_zoo_prune
     function c_zoo_model_prune_layers(model, method, sparsities, nlayers, seed) &
          bind(c, name="zoo_model_prune_layers") result(s)
       import :: c_ptr, c_char, c_double, c_size_t, c_int64_t, c_int32_t
       type(c_ptr), value :: model
       character(kind=c_char), intent(in) :: method(*)
       real(c_double), intent(in) :: sparsities(*)
       integer(c_size_t), value :: nlayers
       integer(c_int64_t), value :: seed
       integer(c_int32_t) :: s
     end function c_zoo_model_prune_layers
     function c_zoo_get_mask(handle, mask, n) bind(c) result(s)
       import :: c_ptr, c_int8_t, c_size_t, c_int32_t
       type(c_ptr), value :: handle
       integer(c_int8_t), intent(inout) :: mask(*)
       integer(c_size_t), value :: n
       integer(c_int32_t) :: s
     end function c_zoo_get_mask
     function c_zoo_set_mask(handle, mask, n) bind(c) result(s)
       import :: c_ptr, c_int8_t, c_size_t, c_int32_t
       type(c_ptr), value :: handle
       integer(c_int8_t), intent(in) :: mask(*)
       integer(c_size_t), value :: n
       integer(c_int32_t) :: s
     end function c_zoo_set_mask
     function c_zoo_trainer_set_communicator(trainer, allreduce, userdata, rank, size) &
          bind(c, name="zoo_trainer_set_communicator") result(s)
       import :: c_ptr, c_funptr, c_int32_t
       type(c_ptr), value :: trainer
       type(c_funptr), value :: allreduce
       type(c_ptr), value :: userdata
       integer(c_int32_t), value :: rank, size
       integer(c_int32_t) :: s
     end function c_zoo_trainer_set_communicator
     function c_zoo_trainer_check_consistency(trainer, consistent) &
          bind(c, name="zoo_trainer_check_consistency") result(s)
       import :: c_ptr, c_int32_t
       type(c_ptr), value :: trainer
       integer(c_int32_t), intent(inout) :: consistent
       integer(c_int32_t) :: s
     end function c_zoo_trainer_check_consistency
     function c_zoo_step_dataset(trainer, x, nx, nrows, callback, userdata, loss) bind(c) result(s)
       import :: c_ptr, c_double, c_size_t, c_funptr, c_int32_t
       type(c_ptr), value :: trainer
       real(c_double), intent(in) :: x(*)
       integer(c_size_t), value :: nx, nrows
       type(c_funptr), value :: callback
       type(c_ptr), value :: userdata
       real(c_double), intent(inout) :: loss
       integer(c_int32_t) :: s
     end function c_zoo_step_dataset
     function c_zoo_trainer_set_batch(trainer, x, nx, nrows, per_sample) &
          bind(c, name="zoo_trainer_set_batch") result(s)
       import :: c_ptr, c_double, c_size_t, c_int32_t
       type(c_ptr), value :: trainer
       real(c_double), intent(in) :: x(*)
       integer(c_size_t), value :: nx, nrows
       integer(c_int32_t), value :: per_sample
       integer(c_int32_t) :: s
     end function c_zoo_trainer_set_batch
     function c_zoo_tell_samples(trainer, id, losses, nlosses, updated) &
          bind(c, name="zoo_tell_samples") result(s)
       import :: c_ptr, c_int64_t, c_double, c_size_t, c_int32_t
       type(c_ptr), value :: trainer
       integer(c_int64_t), value :: id
       real(c_double), intent(in) :: losses(*)
       integer(c_size_t), value :: nlosses
       integer(c_int32_t), intent(inout) :: updated
       integer(c_int32_t) :: s
     end function c_zoo_tell_samples
     function c_zoo_trainer_set_data_term(trainer, x, nx, targets, ntargets, nrows, weight) &
          bind(c, name="zoo_trainer_set_data_term") result(s)
       import :: c_ptr, c_double, c_size_t, c_int32_t
       type(c_ptr), value :: trainer
       real(c_double), intent(in) :: x(*), targets(*)
       integer(c_size_t), value :: nx, ntargets, nrows
       real(c_double), value :: weight
       integer(c_int32_t) :: s
     end function c_zoo_trainer_set_data_term
     function c_zoo_save(handle, path) bind(c) result(s)
       import :: c_ptr, c_char, c_int32_t
       type(c_ptr), value :: handle
       character(kind=c_char), intent(in) :: path(*)
       integer(c_int32_t) :: s
     end function c_zoo_save
     function c_zoo_load(path, out) bind(c) result(s)
       import :: c_ptr, c_char, c_int32_t
       character(kind=c_char), intent(in) :: path(*)
       type(c_ptr), intent(inout) :: out
       integer(c_int32_t) :: s
     end function c_zoo_load
     function c_zoo_trainer_num_active(trainer, out) bind(c, name="zoo_trainer_num_active") result(s)
       import :: c_ptr, c_size_t, c_int32_t
       type(c_ptr), value :: trainer
       integer(c_size_t), intent(inout) :: out
       integer(c_int32_t) :: s
     end function c_zoo_trainer_num_active
     function c_zoo_trainer_begin_zo_grasp(trainer, sparsity, mu_h, global) &
          bind(c, name="zoo_trainer_begin_zo_grasp") result(s)
       import :: c_ptr, c_double, c_int32_t
       type(c_ptr), value :: trainer
       real(c_double), value :: sparsity, mu_h
       integer(c_int32_t), value :: global
       integer(c_int32_t) :: s
     end function c_zoo_trainer_begin_zo_grasp
     function c_zoo_slot_new(trainer, out) bind(c, name="zoo_slot_new") result(s)
       import :: c_ptr, c_int32_t
       type(c_ptr), value :: trainer
       type(c_ptr), intent(inout) :: out
       integer(c_int32_t) :: s
     end function c_zoo_slot_new
     function c_zoo_slot_new_model(model, out) bind(c, name="zoo_slot_new_model") result(s)
       import :: c_ptr, c_int32_t
       type(c_ptr), value :: model
       type(c_ptr), intent(inout) :: out
       integer(c_int32_t) :: s
     end function c_zoo_slot_new_model
     function c_zoo_slot_forward(slot, x, nx, nrows, y, ny) bind(c, name="zoo_slot_forward") result(s)
       import :: c_ptr, c_double, c_size_t, c_int32_t
       type(c_ptr), value :: slot
       real(c_double), intent(in) :: x(*)
       integer(c_size_t), value :: nx, nrows
       real(c_double), intent(inout) :: y(*)
       integer(c_size_t), value :: ny
       integer(c_int32_t) :: s
     end function c_zoo_slot_forward
     subroutine c_zoo_slot_free(slot) bind(c, name="zoo_slot_free")
       import :: c_ptr
       type(c_ptr), value :: slot
     end subroutine c_zoo_slot_free
  end interface

  ! The same C signatures serve models and trainers.
  procedure(c_zoo_prune), bind(c, name="zoo_model_prune") :: c_zoo_model_prune
  procedure(c_zoo_prune), bind(c, name="zoo_trainer_prune") :: c_zoo_trainer_prune
  procedure(c_zoo_get_mask), bind(c, name="zoo_model_get_mask") :: c_zoo_model_get_mask
  procedure(c_zoo_get_mask), bind(c, name="zoo_trainer_get_mask") :: c_zoo_trainer_get_mask
  procedure(c_zoo_set_mask), bind(c, name="zoo_model_set_mask") :: c_zoo_model_set_mask
  procedure(c_zoo_set_mask), bind(c, name="zoo_trainer_set_mask") :: c_zoo_trainer_set_mask
  procedure(c_zoo_step_dataset), bind(c, name="zoo_step_outputs") :: c_zoo_step_outputs
  procedure(c_zoo_step_dataset), bind(c, name="zoo_step_adjoint") :: c_zoo_step_adjoint
  procedure(c_zoo_step_dataset), bind(c, name="zoo_step_output_samples") :: c_zoo_step_output_samples
  procedure(c_zoo_candidate_params), bind(c, name="zoo_candidate_outputs") :: c_zoo_candidate_outputs
  procedure(c_zoo_abort_iteration), bind(c, name="zoo_trainer_clear_batch") :: c_zoo_trainer_clear_batch
  procedure(c_zoo_abort_iteration), bind(c, name="zoo_trainer_clear_data_term") :: c_zoo_trainer_clear_data_term
  procedure(c_zoo_save), bind(c, name="zoo_model_save") :: c_zoo_model_save
  procedure(c_zoo_save), bind(c, name="zoo_trainer_save") :: c_zoo_trainer_save
  procedure(c_zoo_save), bind(c, name="zoo_trainer_restore") :: c_zoo_trainer_restore
  procedure(c_zoo_load), bind(c, name="zoo_model_load") :: c_zoo_model_load
  procedure(c_zoo_load), bind(c, name="zoo_trainer_load") :: c_zoo_trainer_load

  !> The host's error handler; null = print and stop (zoo_set_error_handler).
  procedure(zoo_error_handler), pointer :: error_handler => null()
  !> Set by the first thread that stops the program (report).
  logical, volatile :: stopping = .false.

contains

  ! Strings from C. gfortran keeps some string lengths in static storage
  ! even in recursive procedures: the length of every deferred-length
  ! function result at the calling site, and under -fno-automatic that of
  ! deferred-length local variables. Inside the module, C strings therefore
  ! go into dummy arguments and automatic-length locals only.

  !> The length of the NUL-terminated C string at `p` (0 for NULL).
  recursive function c_length(p) result(n)
    type(c_ptr), intent(in) :: p
    integer :: n
    n = 0
    if (c_associated(p)) n = int(c_strlen(p))
  end function c_length

  !> Copies the first len(text) characters at `p` into `text`.
  recursive subroutine copy_chars(p, text)
    type(c_ptr), intent(in) :: p
    character(len=*), intent(out) :: text
    character(kind=c_char), pointer :: chars(:)
    integer :: i
    if (len(text) == 0) return
    call c_f_pointer(p, chars, [len(text)])
    do i = 1, len(text)
       text(i:i) = chars(i)
    end do
  end subroutine copy_chars

  !> Copies the NUL-terminated C string at `p` into `text` ('' for NULL).
  recursive subroutine copy_c_string(p, text)
    type(c_ptr), intent(in) :: p
    character(len=:), allocatable, intent(out) :: text
    allocate(character(len=c_length(p)) :: text)
    call copy_chars(p, text)
  end subroutine copy_c_string

  !> `s` as a NUL-terminated C string.
  recursive function to_c(s) result(c)
    character(len=*), intent(in) :: s
    character(kind=c_char, len=len_trim(s) + 1) :: c
    c = trim(s) // c_null_char
  end function to_c

  !> The library version, e.g. "0.1.0".
  recursive function zoo_version() result(text)
    character(len=:), allocatable :: text
    call copy_c_string(c_zoo_version(), text)
  end function zoo_version

  !> The name of a status code, e.g. "ZOO_BAD_SIZE".
  recursive function zoo_status_name(status) result(text)
    integer, intent(in) :: status
    character(len=:), allocatable :: text
    call copy_c_string(c_zoo_status_name(int(status, c_int32_t)), text)
  end function zoo_status_name

  !> The message of the most recent failed zoo call on this thread.
  recursive function zoo_last_error() result(text)
    character(len=:), allocatable :: text
    call copy_c_string(c_zoo_last_error(), text)
  end function zoo_last_error

  !> Makes `handler` receive the failures of calls made without `stat`
  !> instead of the default (print zoo's message, stop the program); with
  !> no argument, restores the default. When the handler returns, the
  !> failed routine returns normally, its outputs left as a call with `stat`
  !> leaves them. The handler runs on the thread where the call failed (one
  !> of zoo's threads inside a ZOO_THREADSAFE callback). It is one module
  !> variable: set it before calls run on several threads, not during them.
  recursive subroutine zoo_set_error_handler(handler)
    procedure(zoo_error_handler), optional :: handler
    if (present(handler)) then
       error_handler => handler
    else
       error_handler => null()
    end if
  end subroutine zoo_set_error_handler

  !> Hands `status` to `stat`, or reports the failure (report) when `stat`
  !> is absent and the call failed.
  recursive subroutine finish(status, stat, routine)
    integer(c_int32_t), intent(in) :: status
    integer, intent(out), optional :: stat
    character(len=*), intent(in) :: routine
    type(c_ptr) :: name, reason
    if (present(stat)) then
       stat = int(status)
    else if (status /= ZOO_OK) then
       name = c_zoo_status_name(status)
       reason = c_zoo_last_error()
       call report_failure(int(status), routine, name, c_length(name), reason, c_length(reason))
    end if
  end subroutine finish

  !> Reports "zoo: <routine> failed (<status name>): <reason>" from the C
  !> strings `name` and `reason` of the given lengths.
  recursive subroutine report_failure(status, routine, name, name_length, reason, reason_length)
    integer, intent(in) :: status
    character(len=*), intent(in) :: routine
    type(c_ptr), intent(in) :: name, reason
    integer, intent(in) :: name_length, reason_length
    character(len=name_length) :: name_text
    character(len=reason_length) :: reason_text
    call copy_chars(name, name_text)
    call copy_chars(reason, reason_text)
    call report(status, 'zoo: ' // routine // ' failed (' // name_text // '): ' // reason_text)
  end subroutine report_failure

  !> Gives a failure to the host's handler, or prints `message` on
  !> error_unit and ends the program with exit status 1. The message is
  !> flushed at once (gfortran buffers error_unit when stderr is not a
  !> terminal, while its own stop messages bypass the buffer), so it is the
  !> first line. The program ends through C's exit(1), which flushes every
  !> Fortran unit, not through `error stop 1`: gfortran's error stop adds
  !> "ERROR STOP 1" and, by default, a backtrace, which on zoo's threads
  !> runs through the Rust library.
  recursive subroutine report(status, message)
    integer, intent(in) :: status
    character(len=*), intent(in) :: message
    if (associated(error_handler)) then
       call error_handler(status, message)
       return
    end if
    ! Two threads running exit's clean-up at once can crash the program, so
    ! a thread that finds another one stopping waits for the end. (Fortran
    ! 2008 has atomics only for coarrays: two threads failing in the same
    ! instant may still both get here.)
    do while (stopping)
    end do
    stopping = .true.
    write (error_unit, '(a)') message
    flush (error_unit)
    flush (output_unit)
    call c_exit(1_c_int)
  end subroutine report

  !> Creates an MLP with layer widths `sizes` (inputs first), `activation`
  !> after hidden layers, linear output, weights drawn from `seed`.
  recursive subroutine zoo_model_new_mlp(model, sizes, activation, seed, stat)
    type(zoo_model), intent(inout) :: model
    integer, intent(in) :: sizes(:)
    character(len=*), intent(in) :: activation
    integer(c_int64_t), intent(in) :: seed
    integer, intent(out), optional :: stat
    integer(c_size_t) :: c_sizes(size(sizes))
    c_sizes = int(sizes, c_size_t)
    call finish(c_zoo_model_new_mlp(c_sizes, int(size(sizes), c_size_t), to_c(activation), seed, &
         model%ptr), stat, 'zoo_model_new_mlp')
  end subroutine zoo_model_new_mlp

  !> Creates a SINDy-style model: the monomials of `inputs` variables of
  !> degree 1 to `degree` (x, y, z, x^2, xy, xz, y^2, yz, z^2 for 3 inputs
  !> and degree 2), then a linear layer to `outputs`. The weights W(o, j)
  !> are stored row-major first (coefficient of monomial j in output o at
  !> position (o-1)*nmonomials + j), then one bias (constant term) per output.
  recursive subroutine zoo_model_new_polynomial(model, inputs, degree, outputs, seed, stat)
    type(zoo_model), intent(inout) :: model
    integer, intent(in) :: inputs, degree, outputs
    integer(c_int64_t), intent(in) :: seed
    integer, intent(out), optional :: stat
    call finish(c_zoo_model_new_polynomial(int(inputs, c_size_t), int(degree, c_size_t), &
         int(outputs, c_size_t), seed, model%ptr), stat, 'zoo_model_new_polynomial')
  end subroutine zoo_model_new_polynomial

  !> Destroys a model; does nothing when it is not created or already freed.
  recursive subroutine zoo_model_free(model)
    type(zoo_model), intent(inout) :: model
    call c_zoo_model_free(model%ptr)
    model%ptr = c_null_ptr
  end subroutine zoo_model_free

  !> Number of parameters, masked ones included.
  recursive function zoo_model_num_params(model, stat) result(n)
    type(zoo_model), intent(in) :: model
    integer, intent(out), optional :: stat
    integer :: n
    integer(c_size_t) :: c_n
    c_n = 0
    call finish(c_zoo_model_num_params(model%ptr, c_n), stat, 'zoo_model_num_params')
    n = int(c_n)
  end function zoo_model_num_params

  !> Number of active (unmasked) parameters.
  recursive function zoo_model_num_active(model, stat) result(n)
    type(zoo_model), intent(in) :: model
    integer, intent(out), optional :: stat
    integer :: n
    integer(c_size_t) :: c_n
    c_n = 0
    call finish(c_zoo_model_num_active(model%ptr, c_n), stat, 'zoo_model_num_active')
    n = int(c_n)
  end function zoo_model_num_active

  !> Copies the parameters into `params` (size = number of parameters).
  recursive subroutine zoo_model_get_params(model, params, stat)
    type(zoo_model), intent(in) :: model
    real(c_double), intent(inout), contiguous :: params(:)
    integer, intent(out), optional :: stat
    call finish(c_zoo_model_get_params(model%ptr, params, int(size(params), c_size_t)), stat, &
         'zoo_model_get_params')
  end subroutine zoo_model_get_params

  !> Replaces the parameters; on error the model is unchanged.
  recursive subroutine zoo_model_set_params(model, params, stat)
    type(zoo_model), intent(inout) :: model
    real(c_double), intent(in), contiguous :: params(:)
    integer, intent(out), optional :: stat
    call finish(c_zoo_model_set_params(model%ptr, params, int(size(params), c_size_t)), stat, &
         'zoo_model_set_params')
  end subroutine zoo_model_set_params

  !> Runs the model on one input x(inputs) into y(outputs).
  recursive subroutine zoo_model_forward(model, x, y, stat)
    type(zoo_model), intent(in) :: model
    real(c_double), intent(in), contiguous :: x(:)
    real(c_double), intent(inout), contiguous :: y(:)
    integer, intent(out), optional :: stat
    call finish(c_zoo_model_forward_batch(model%ptr, x, int(size(x), c_size_t), 1_c_size_t, y, &
         int(size(y), c_size_t)), stat, 'zoo_model_forward')
  end subroutine zoo_model_forward

  !> Runs the model on the columns of x(inputs, n) into y(outputs, n).
  recursive subroutine zoo_model_forward_batch(model, x, y, stat)
    type(zoo_model), intent(in) :: model
    real(c_double), intent(in), contiguous :: x(:, :)
    real(c_double), intent(inout), contiguous :: y(:, :)
    integer, intent(out), optional :: stat
    call finish(c_zoo_model_forward_batch(model%ptr, x, int(size(x), c_size_t), &
         int(size(x, 2), c_size_t), y, int(size(y), c_size_t)), stat, 'zoo_model_forward_batch')
  end subroutine zoo_model_forward_batch

  !> Fits the model to targets y(outputs, n) at inputs x(inputs, n) by
  !> Adam on the mean squared error with exact gradients. Options:
  !> "epochs=1000 lr=0.001 batch=0 weight_decay=0 seed=0". On error the
  !> model is unchanged.
  recursive subroutine zoo_model_fit(model, x, y, options, final_loss, stat)
    type(zoo_model), intent(inout) :: model
    real(c_double), intent(in), contiguous :: x(:, :), y(:, :)
    character(len=*), intent(in) :: options
    real(c_double), intent(out), optional :: final_loss
    integer, intent(out), optional :: stat
    real(c_double) :: c_loss
    c_loss = 0
    call finish(c_zoo_model_fit(model%ptr, x, int(size(x), c_size_t), y, int(size(y), c_size_t), &
         int(size(x, 2), c_size_t), to_c(options), c_loss), stat, 'zoo_model_fit')
    if (present(final_loss)) final_loss = c_loss
  end subroutine zoo_model_fit

  !> Creates a trainer for a copy of `model` with "key=value ..." options.
  !> The caller keeps ownership of `model`.
  recursive subroutine zoo_trainer_new(trainer, model, options, stat)
    type(zoo_trainer), intent(inout) :: trainer
    type(zoo_model), intent(in) :: model
    character(len=*), intent(in) :: options
    integer, intent(out), optional :: stat
    call finish(c_zoo_trainer_new(model%ptr, to_c(options), trainer%ptr), stat, 'zoo_trainer_new')
  end subroutine zoo_trainer_new

  !> Destroys a trainer; does nothing when it is not created or already freed.
  recursive subroutine zoo_trainer_free(trainer)
    type(zoo_trainer), intent(inout) :: trainer
    call c_zoo_trainer_free(trainer%ptr)
    trainer%ptr = c_null_ptr
  end subroutine zoo_trainer_free

  !> Sets one option, e.g. call zoo_trainer_set(t, 'lr', '1e-4').
  recursive subroutine zoo_trainer_set(trainer, key, value, stat)
    type(zoo_trainer), intent(inout) :: trainer
    character(len=*), intent(in) :: key, value
    integer, intent(out), optional :: stat
    call finish(c_zoo_trainer_set(trainer%ptr, to_c(key), to_c(value)), stat, 'zoo_trainer_set')
  end subroutine zoo_trainer_set

  !> Reads one option into `value` (blank-padded).
  recursive subroutine zoo_trainer_get(trainer, key, value, stat)
    type(zoo_trainer), intent(in) :: trainer
    character(len=*), intent(in) :: key
    character(len=*), intent(out) :: value
    integer, intent(out), optional :: stat
    character(kind=c_char) :: buffer(len(value) + 1)
    integer(c_int32_t) :: status
    integer :: i
    buffer = c_null_char
    status = c_zoo_trainer_get(trainer%ptr, to_c(key), buffer, int(size(buffer), c_size_t))
    value = ''
    if (status == ZOO_OK) then
       do i = 1, len(value)
          if (buffer(i) == c_null_char) exit
          value(i:i) = buffer(i)
       end do
    end if
    call finish(status, stat, 'zoo_trainer_get')
  end subroutine zoo_trainer_get

  !> Number of parameters of the trained model.
  recursive function zoo_trainer_num_params(trainer, stat) result(n)
    type(zoo_trainer), intent(in) :: trainer
    integer, intent(out), optional :: stat
    integer :: n
    integer(c_size_t) :: c_n
    c_n = 0
    call finish(c_zoo_trainer_num_params(trainer%ptr, c_n), stat, 'zoo_trainer_num_params')
    n = int(c_n)
  end function zoo_trainer_num_params

  !> Copies the current weights into `params`.
  recursive subroutine zoo_trainer_get_params(trainer, params, stat)
    type(zoo_trainer), intent(in) :: trainer
    real(c_double), intent(inout), contiguous :: params(:)
    integer, intent(out), optional :: stat
    call finish(c_zoo_trainer_get_params(trainer%ptr, params, int(size(params), c_size_t)), stat, &
         'zoo_trainer_get_params')
  end subroutine zoo_trainer_get_params

  !> Replaces the current weights; on error nothing changes.
  recursive subroutine zoo_trainer_set_params(trainer, params, stat)
    type(zoo_trainer), intent(inout) :: trainer
    real(c_double), intent(in), contiguous :: params(:)
    integer, intent(out), optional :: stat
    call finish(c_zoo_trainer_set_params(trainer%ptr, params, int(size(params), c_size_t)), stat, &
         'zoo_trainer_set_params')
  end subroutine zoo_trainer_set_params

  !> A new model holding a copy of the current weights (free it).
  recursive subroutine zoo_trainer_copy_model(trainer, model, stat)
    type(zoo_trainer), intent(in) :: trainer
    type(zoo_model), intent(inout) :: model
    integer, intent(out), optional :: stat
    call finish(c_zoo_trainer_copy_model(trainer%ptr, model%ptr), stat, 'zoo_trainer_copy_model')
  end subroutine zoo_trainer_copy_model

  !> Completed iterations.
  recursive function zoo_trainer_iteration(trainer, stat) result(k)
    type(zoo_trainer), intent(in) :: trainer
    integer, intent(out), optional :: stat
    integer(c_int64_t) :: k
    k = 0
    call finish(c_zoo_trainer_iteration(trainer%ptr, k), stat, 'zoo_trainer_iteration')
  end function zoo_trainer_iteration

  !> Candidates per iteration.
  recursive function zoo_trainer_num_candidates(trainer, stat) result(n)
    type(zoo_trainer), intent(in) :: trainer
    integer, intent(out), optional :: stat
    integer :: n
    integer(c_size_t) :: c_n
    c_n = 0
    call finish(c_zoo_trainer_num_candidates(trainer%ptr, c_n), stat, 'zoo_trainer_num_candidates')
    n = int(c_n)
  end function zoo_trainer_num_candidates

  !> A metric of the last completed iteration ("loss", "grad_norm", ...).
  recursive function zoo_trainer_metric(trainer, name, stat) result(value)
    type(zoo_trainer), intent(in) :: trainer
    character(len=*), intent(in) :: name
    integer, intent(out), optional :: stat
    real(c_double) :: value
    value = 0
    call finish(c_zoo_trainer_metric(trainer%ptr, to_c(name), value), stat, 'zoo_trainer_metric')
  end function zoo_trainer_metric

  !> Runs one iteration: `callback` is called once per candidate. Pass
  !> flags = ZOO_THREADSAFE when the callback may run on several threads.
  !> `loss` receives the loss at the weights before the update.
  recursive subroutine zoo_step(trainer, callback, userdata, flags, loss, stat)
    type(zoo_trainer), intent(inout) :: trainer
    procedure(zoo_loss_callback) :: callback
    type(c_ptr), intent(in), optional :: userdata
    integer, intent(in), optional :: flags
    real(c_double), intent(out), optional :: loss
    integer, intent(out), optional :: stat
    type(c_ptr) :: data
    integer(c_int32_t) :: c_flags
    real(c_double) :: c_loss
    data = c_null_ptr
    if (present(userdata)) data = userdata
    c_flags = 0
    if (present(flags)) c_flags = int(flags, c_int32_t)
    c_loss = 0
    call finish(c_zoo_step(trainer%ptr, c_funloc(callback), data, c_flags, c_loss), stat, 'zoo_step')
    if (present(loss)) loss = c_loss
  end subroutine zoo_step

  !> Evaluates `callback` once at the current weights; changes nothing.
  recursive subroutine zoo_evaluate(trainer, callback, loss, userdata, stat)
    type(zoo_trainer), intent(inout) :: trainer
    procedure(zoo_loss_callback) :: callback
    real(c_double), intent(out) :: loss
    type(c_ptr), intent(in), optional :: userdata
    integer, intent(out), optional :: stat
    type(c_ptr) :: data
    data = c_null_ptr
    if (present(userdata)) data = userdata
    loss = 0
    call finish(c_zoo_evaluate(trainer%ptr, c_funloc(callback), data, loss), stat, 'zoo_evaluate')
  end subroutine zoo_evaluate

  !> Scans the loss along `directions` random directions over radii 1e-9 to
  !> 1e-1 and returns the `mu` to use with this trainer's estimator;
  !> changes nothing (see zoo.h). `report`, when present, must have
  !> ZOO_MU_SCAN_REPORT elements and receives the whole scan.
  recursive subroutine zoo_scan_mu(trainer, callback, directions, mu, userdata, report, stat)
    type(zoo_trainer), intent(inout) :: trainer
    procedure(zoo_loss_callback) :: callback
    integer, intent(in) :: directions
    real(c_double), intent(out) :: mu
    type(c_ptr), intent(in), optional :: userdata
    real(c_double), intent(inout), target, contiguous, optional :: report(:)
    integer, intent(out), optional :: stat
    type(c_ptr) :: data, out
    integer(c_size_t) :: n
    data = c_null_ptr
    if (present(userdata)) data = userdata
    out = c_null_ptr
    n = 0
    if (present(report)) then
       n = size(report, kind=c_size_t)
       if (n > 0) out = c_loc(report)
    end if
    mu = 0
    call finish(c_zoo_scan_mu(trainer%ptr, c_funloc(callback), data, int(max(directions, 0), c_size_t), mu, &
         out, n), stat, 'zoo_scan_mu')
  end subroutine zoo_scan_mu

  !> Inside a callback: runs the candidate's network on one input.
  recursive subroutine zoo_candidate_forward(candidate, x, y, stat)
    type(c_ptr), intent(in) :: candidate
    real(c_double), intent(in), contiguous :: x(:)
    real(c_double), intent(inout), contiguous :: y(:)
    integer, intent(out), optional :: stat
    call finish(c_zoo_candidate_forward_batch(candidate, x, int(size(x), c_size_t), 1_c_size_t, y, &
         int(size(y), c_size_t)), stat, 'zoo_candidate_forward')
  end subroutine zoo_candidate_forward

  !> Inside a callback: runs the candidate's network on the columns of x.
  recursive subroutine zoo_candidate_forward_batch(candidate, x, y, stat)
    type(c_ptr), intent(in) :: candidate
    real(c_double), intent(in), contiguous :: x(:, :)
    real(c_double), intent(inout), contiguous :: y(:, :)
    integer, intent(out), optional :: stat
    call finish(c_zoo_candidate_forward_batch(candidate, x, int(size(x), c_size_t), &
         int(size(x, 2), c_size_t), y, int(size(y), c_size_t)), stat, 'zoo_candidate_forward_batch')
  end subroutine zoo_candidate_forward_batch

  !> Inside a callback: the candidate's 0-based position in its iteration.
  recursive function zoo_candidate_index(candidate, stat) result(index)
    type(c_ptr), intent(in) :: candidate
    integer, intent(out), optional :: stat
    integer :: index
    integer(c_size_t) :: c_index
    c_index = 0
    call finish(c_zoo_candidate_index(candidate, c_index), stat, 'zoo_candidate_index')
    index = int(c_index)
  end function zoo_candidate_index

  !> Inside a callback: copies the candidate's parameters into `params`.
  recursive subroutine zoo_candidate_get_params(candidate, params, stat)
    type(c_ptr), intent(in) :: candidate
    real(c_double), intent(inout), contiguous :: params(:)
    integer, intent(out), optional :: stat
    call finish(c_zoo_candidate_get_params(candidate, params, int(size(params), c_size_t)), stat, &
         'zoo_candidate_get_params')
  end subroutine zoo_candidate_get_params

  !> Asks for the next candidate id; `got` is .false. when every candidate
  !> of the open iteration has been handed out (tell losses first).
  recursive subroutine zoo_ask(trainer, id, got, stat)
    type(zoo_trainer), intent(inout) :: trainer
    integer(c_int64_t), intent(out) :: id
    logical, intent(out) :: got
    integer, intent(out), optional :: stat
    integer(c_int32_t) :: status
    id = -1
    status = c_zoo_ask(trainer%ptr, id)
    got = status == ZOO_OK
    if (status == ZOO_NO_CANDIDATE) status = ZOO_OK
    call finish(status, stat, 'zoo_ask')
  end subroutine zoo_ask

  !> Asks for up to size(ids) candidates; `count` of them are in ids(1:count).
  recursive subroutine zoo_ask_batch(trainer, ids, count, stat)
    type(zoo_trainer), intent(inout) :: trainer
    integer(c_int64_t), intent(inout), contiguous :: ids(:)
    integer, intent(out) :: count
    integer, intent(out), optional :: stat
    integer(c_size_t) :: c_count
    c_count = 0
    call finish(c_zoo_ask_batch(trainer%ptr, ids, int(size(ids), c_size_t), c_count), stat, 'zoo_ask_batch')
    count = int(c_count)
  end subroutine zoo_ask_batch

  !> Runs candidate `id`'s network on one input.
  recursive subroutine zoo_forward(trainer, id, x, y, stat)
    type(zoo_trainer), intent(inout) :: trainer
    integer(c_int64_t), intent(in) :: id
    real(c_double), intent(in), contiguous :: x(:)
    real(c_double), intent(inout), contiguous :: y(:)
    integer, intent(out), optional :: stat
    call finish(c_zoo_forward_batch(trainer%ptr, id, x, int(size(x), c_size_t), 1_c_size_t, y, &
         int(size(y), c_size_t)), stat, 'zoo_forward')
  end subroutine zoo_forward

  !> Runs candidate `id`'s network on the columns of x(inputs, n).
  recursive subroutine zoo_forward_batch(trainer, id, x, y, stat)
    type(zoo_trainer), intent(inout) :: trainer
    integer(c_int64_t), intent(in) :: id
    real(c_double), intent(in), contiguous :: x(:, :)
    real(c_double), intent(inout), contiguous :: y(:, :)
    integer, intent(out), optional :: stat
    call finish(c_zoo_forward_batch(trainer%ptr, id, x, int(size(x), c_size_t), int(size(x, 2), c_size_t), &
         y, int(size(y), c_size_t)), stat, 'zoo_forward_batch')
  end subroutine zoo_forward_batch

  !> Runs the asked candidates ids(k) on the columns of x(:, :, k) into
  !> y(:, :, k), in one call (each as zoo_forward_batch would).
  recursive subroutine zoo_forward_many_each(trainer, ids, x, y, stat)
    type(zoo_trainer), intent(inout) :: trainer
    integer(c_int64_t), intent(in), contiguous :: ids(:)
    real(c_double), intent(in), contiguous :: x(:, :, :)
    real(c_double), intent(inout), contiguous :: y(:, :, :)
    integer, intent(out), optional :: stat
    call finish(c_zoo_forward_many(trainer%ptr, ids, int(size(ids), c_size_t), x, int(size(x), c_size_t), &
         0_c_int32_t, int(size(x, 2), c_size_t), y, int(size(y), c_size_t)), stat, 'zoo_forward_many')
  end subroutine zoo_forward_many_each

  !> Runs the asked candidates ids(k) on the same columns of x(:, :) into
  !> y(:, :, k), in one call.
  recursive subroutine zoo_forward_many_shared(trainer, ids, x, y, stat)
    type(zoo_trainer), intent(inout) :: trainer
    integer(c_int64_t), intent(in), contiguous :: ids(:)
    real(c_double), intent(in), contiguous :: x(:, :)
    real(c_double), intent(inout), contiguous :: y(:, :, :)
    integer, intent(out), optional :: stat
    call finish(c_zoo_forward_many(trainer%ptr, ids, int(size(ids), c_size_t), x, int(size(x), c_size_t), &
         1_c_int32_t, int(size(x, 2), c_size_t), y, int(size(y), c_size_t)), stat, 'zoo_forward_many')
  end subroutine zoo_forward_many_shared

  !> Copies candidate `id`'s parameters into `params`.
  recursive subroutine zoo_candidate_params(trainer, id, params, stat)
    type(zoo_trainer), intent(inout) :: trainer
    integer(c_int64_t), intent(in) :: id
    real(c_double), intent(inout), contiguous :: params(:)
    integer, intent(out), optional :: stat
    call finish(c_zoo_candidate_params(trainer%ptr, id, params, int(size(params), c_size_t)), stat, &
         'zoo_candidate_params')
  end subroutine zoo_candidate_params

  !> Tells the loss of candidate `id`; `updated` is .true. when this loss
  !> completed the iteration and the update was applied.
  recursive subroutine zoo_tell(trainer, id, loss, updated, stat)
    type(zoo_trainer), intent(inout) :: trainer
    integer(c_int64_t), intent(in) :: id
    real(c_double), intent(in) :: loss
    logical, intent(out), optional :: updated
    integer, intent(out), optional :: stat
    integer(c_int32_t) :: c_updated
    c_updated = 0
    call finish(c_zoo_tell(trainer%ptr, id, loss, c_updated), stat, 'zoo_tell')
    if (present(updated)) updated = c_updated /= 0
  end subroutine zoo_tell

  !> Discards the open ask/tell iteration; nothing else changes.
  recursive subroutine zoo_abort_iteration(trainer, stat)
    type(zoo_trainer), intent(inout) :: trainer
    integer, intent(out), optional :: stat
    call finish(c_zoo_abort_iteration(trainer%ptr), stat, 'zoo_abort_iteration')
  end subroutine zoo_abort_iteration

  !> Prunes weights (biases are kept) to a fraction `sparsity` in [0, 1):
  !> method 'magnitude', 'magnitude-global' or 'random' (drawn from seed).
  !> Pruned weights become exactly 0.
  recursive subroutine zoo_model_prune(model, method, sparsity, seed, stat)
    type(zoo_model), intent(inout) :: model
    character(len=*), intent(in) :: method
    real(c_double), intent(in) :: sparsity
    integer(c_int64_t), intent(in), optional :: seed
    integer, intent(out), optional :: stat
    call finish(c_zoo_model_prune(model%ptr, to_c(method), sparsity, seed_or_zero(seed)), stat, 'zoo_model_prune')
  end subroutine zoo_model_prune

  !> Prunes layer l to its own sparsity sparsities(l).
  recursive subroutine zoo_model_prune_layers(model, method, sparsities, seed, stat)
    type(zoo_model), intent(inout) :: model
    character(len=*), intent(in) :: method
    real(c_double), intent(in), contiguous :: sparsities(:)
    integer(c_int64_t), intent(in), optional :: seed
    integer, intent(out), optional :: stat
    call finish(c_zoo_model_prune_layers(model%ptr, to_c(method), sparsities, int(size(sparsities), c_size_t), &
         seed_or_zero(seed)), stat, 'zoo_model_prune_layers')
  end subroutine zoo_model_prune_layers

  recursive function seed_or_zero(seed) result(value)
    integer(c_int64_t), intent(in), optional :: seed
    integer(c_int64_t) :: value
    value = 0
    if (present(seed)) value = seed
  end function seed_or_zero

  !> The mask: mask(i) is .true. when parameter i is active.
  recursive subroutine zoo_model_get_mask(model, mask, stat)
    type(zoo_model), intent(in) :: model
    logical, intent(out) :: mask(:)
    integer, intent(out), optional :: stat
    integer(c_int8_t) :: bytes(size(mask))
    integer(c_int32_t) :: status
    bytes = 0
    status = c_zoo_model_get_mask(model%ptr, bytes, int(size(mask), c_size_t))
    mask = bytes /= 0
    call finish(status, stat, 'zoo_model_get_mask')
  end subroutine zoo_model_get_mask

  !> Replaces the mask; newly pruned parameters become 0.
  recursive subroutine zoo_model_set_mask(model, mask, stat)
    type(zoo_model), intent(inout) :: model
    logical, intent(in) :: mask(:)
    integer, intent(out), optional :: stat
    integer(c_int8_t) :: bytes(size(mask))
    bytes = merge(1_c_int8_t, 0_c_int8_t, mask)
    call finish(c_zoo_model_set_mask(model%ptr, bytes, int(size(mask), c_size_t)), stat, 'zoo_model_set_mask')
  end subroutine zoo_model_set_mask

  !> Prunes the trainer's model like zoo_model_prune; optimizer state is kept.
  recursive subroutine zoo_trainer_prune(trainer, method, sparsity, seed, stat)
    type(zoo_trainer), intent(inout) :: trainer
    character(len=*), intent(in) :: method
    real(c_double), intent(in) :: sparsity
    integer(c_int64_t), intent(in), optional :: seed
    integer, intent(out), optional :: stat
    call finish(c_zoo_trainer_prune(trainer%ptr, to_c(method), sparsity, seed_or_zero(seed)), stat, &
         'zoo_trainer_prune')
  end subroutine zoo_trainer_prune

  !> The trainer's mask: mask(i) is .true. when parameter i is active.
  recursive subroutine zoo_trainer_get_mask(trainer, mask, stat)
    type(zoo_trainer), intent(in) :: trainer
    logical, intent(out) :: mask(:)
    integer, intent(out), optional :: stat
    integer(c_int8_t) :: bytes(size(mask))
    integer(c_int32_t) :: status
    bytes = 0
    status = c_zoo_trainer_get_mask(trainer%ptr, bytes, int(size(mask), c_size_t))
    mask = bytes /= 0
    call finish(status, stat, 'zoo_trainer_get_mask')
  end subroutine zoo_trainer_get_mask

  !> Replaces the trainer's mask; optimizer state is kept.
  recursive subroutine zoo_trainer_set_mask(trainer, mask, stat)
    type(zoo_trainer), intent(inout) :: trainer
    logical, intent(in) :: mask(:)
    integer, intent(out), optional :: stat
    integer(c_int8_t) :: bytes(size(mask))
    bytes = merge(1_c_int8_t, 0_c_int8_t, mask)
    call finish(c_zoo_trainer_set_mask(trainer%ptr, bytes, int(size(mask), c_size_t)), stat, 'zoo_trainer_set_mask')
  end subroutine zoo_trainer_set_mask

  !> Number of active (unpruned) parameters of the trainer's model.
  recursive function zoo_trainer_num_active(trainer, stat) result(n)
    type(zoo_trainer), intent(in) :: trainer
    integer, intent(out), optional :: stat
    integer :: n
    integer(c_size_t) :: c_n
    c_n = 0
    call finish(c_zoo_trainer_num_active(trainer%ptr, c_n), stat, 'zoo_trainer_num_active')
    n = int(c_n)
  end function zoo_trainer_num_active

  !> Starts a ZO-GraSP pruning to `sparsity`: the next two iterations
  !> (zoo_step or ask/tell) estimate gradients without updating, then the
  !> weights with the highest GraSP score are pruned (per layer, or over
  !> all layers when global is .true.).
  recursive subroutine zoo_trainer_begin_zo_grasp(trainer, sparsity, mu_h, global, stat)
    type(zoo_trainer), intent(inout) :: trainer
    real(c_double), intent(in) :: sparsity, mu_h
    logical, intent(in), optional :: global
    integer, intent(out), optional :: stat
    integer(c_int32_t) :: c_global
    c_global = 0
    if (present(global)) c_global = merge(1_c_int32_t, 0_c_int32_t, global)
    call finish(c_zoo_trainer_begin_zo_grasp(trainer%ptr, sparsity, mu_h, c_global), stat, &
         'zoo_trainer_begin_zo_grasp')
  end subroutine zoo_trainer_begin_zo_grasp

  !> Makes the trainer one of `size` MPI ranks (this one `rank`) training
  !> together: each zoo_step ends with one call of `allreduce`. Every rank
  !> must use the same model, options and seed.
  recursive subroutine zoo_trainer_set_communicator(trainer, allreduce, rank, size, userdata, stat)
    type(zoo_trainer), intent(inout) :: trainer
    procedure(zoo_allreduce_callback) :: allreduce
    integer, intent(in) :: rank, size
    type(c_ptr), intent(in), optional :: userdata
    integer, intent(out), optional :: stat
    type(c_ptr) :: data
    data = c_null_ptr
    if (present(userdata)) data = userdata
    call finish(c_zoo_trainer_set_communicator(trainer%ptr, c_funloc(allreduce), data, int(rank, c_int32_t), &
         int(size, c_int32_t)), stat, 'zoo_trainer_set_communicator')
  end subroutine zoo_trainer_set_communicator

  !> Collective: .true. when every rank holds the same weights.
  recursive function zoo_trainer_check_consistency(trainer, stat) result(consistent)
    type(zoo_trainer), intent(inout) :: trainer
    integer, intent(out), optional :: stat
    logical :: consistent
    integer(c_int32_t) :: c_consistent
    c_consistent = 0
    call finish(c_zoo_trainer_check_consistency(trainer%ptr, c_consistent), stat, 'zoo_trainer_check_consistency')
    consistent = c_consistent /= 0
  end function zoo_trainer_check_consistency

  !> Dataset mode: one iteration with the output-space estimator. zoo runs
  !> the network on the columns of x(inputs, n) and calls `callback` on
  !> the outputs (and 2q perturbations of them).
  recursive subroutine zoo_step_outputs(trainer, x, callback, userdata, loss, stat)
    type(zoo_trainer), intent(inout) :: trainer
    real(c_double), intent(in), contiguous :: x(:, :)
    procedure(zoo_output_loss_callback) :: callback
    type(c_ptr), intent(in), optional :: userdata
    real(c_double), intent(out), optional :: loss
    integer, intent(out), optional :: stat
    type(c_ptr) :: data
    real(c_double) :: c_loss
    data = c_null_ptr
    if (present(userdata)) data = userdata
    c_loss = 0
    call finish(c_zoo_step_outputs(trainer%ptr, x, int(size(x), c_size_t), int(size(x, 2), c_size_t), &
         c_funloc(callback), data, c_loss), stat, 'zoo_step_outputs')
    if (present(loss)) loss = c_loss
  end subroutine zoo_step_outputs

  !> Dataset mode with exact gradients: `callback` returns the loss and
  !> dloss/doutputs, which zoo backpropagates through the network.
  recursive subroutine zoo_step_adjoint(trainer, x, callback, userdata, loss, stat)
    type(zoo_trainer), intent(inout) :: trainer
    real(c_double), intent(in), contiguous :: x(:, :)
    procedure(zoo_adjoint_callback) :: callback
    type(c_ptr), intent(in), optional :: userdata
    real(c_double), intent(out), optional :: loss
    integer, intent(out), optional :: stat
    type(c_ptr) :: data
    real(c_double) :: c_loss
    data = c_null_ptr
    if (present(userdata)) data = userdata
    c_loss = 0
    call finish(c_zoo_step_adjoint(trainer%ptr, x, int(size(x), c_size_t), int(size(x, 2), c_size_t), &
         c_funloc(callback), data, c_loss), stat, 'zoo_step_adjoint')
    if (present(loss)) loss = c_loss
  end subroutine zoo_step_adjoint

  !> Dataset mode with per-row losses (output space): `callback` writes
  !> one loss per column of the outputs; their sum is the loss.
  recursive subroutine zoo_step_output_samples(trainer, x, callback, userdata, loss, stat)
    type(zoo_trainer), intent(inout) :: trainer
    real(c_double), intent(in), contiguous :: x(:, :)
    procedure(zoo_output_losses_callback) :: callback
    type(c_ptr), intent(in), optional :: userdata
    real(c_double), intent(out), optional :: loss
    integer, intent(out), optional :: stat
    type(c_ptr) :: data
    real(c_double) :: c_loss
    data = c_null_ptr
    if (present(userdata)) data = userdata
    c_loss = 0
    call finish(c_zoo_step_output_samples(trainer%ptr, x, int(size(x), c_size_t), int(size(x, 2), c_size_t), &
         c_funloc(callback), data, c_loss), stat, 'zoo_step_output_samples')
    if (present(loss)) loss = c_loss
  end subroutine zoo_step_output_samples

  !> Sets the batch (inputs x rows) that ask/tell candidates run on; with
  !> `per_sample` = .true., tell one loss per row with zoo_tell_samples.
  recursive subroutine zoo_trainer_set_batch(trainer, x, per_sample, stat)
    type(zoo_trainer), intent(inout) :: trainer
    real(c_double), intent(in), contiguous :: x(:, :)
    logical, intent(in), optional :: per_sample
    integer, intent(out), optional :: stat
    integer(c_int32_t) :: flag
    flag = 0
    if (present(per_sample)) then
       if (per_sample) flag = 1
    end if
    call finish(c_zoo_trainer_set_batch(trainer%ptr, x, int(size(x), c_size_t), int(size(x, 2), c_size_t), flag), &
         stat, 'zoo_trainer_set_batch')
  end subroutine zoo_trainer_set_batch

  !> Removes the batch: ask/tell candidates perturb weights again.
  recursive subroutine zoo_trainer_clear_batch(trainer, stat)
    type(zoo_trainer), intent(inout) :: trainer
    integer, intent(out), optional :: stat
    call finish(c_zoo_trainer_clear_batch(trainer%ptr), stat, 'zoo_trainer_clear_batch')
  end subroutine zoo_trainer_clear_batch

  !> Writes the outputs (outputs x rows) of candidate `id` on the batch.
  recursive subroutine zoo_candidate_outputs(trainer, id, y, stat)
    type(zoo_trainer), intent(inout) :: trainer
    integer(c_int64_t), intent(in) :: id
    real(c_double), intent(inout), contiguous :: y(:, :)
    integer, intent(out), optional :: stat
    call finish(c_zoo_candidate_outputs(trainer%ptr, id, y, int(size(y), c_size_t)), stat, 'zoo_candidate_outputs')
  end subroutine zoo_candidate_outputs

  !> Tells one loss per batch row for candidate `id`; `updated` is .true.
  !> when this completed the iteration.
  recursive subroutine zoo_tell_samples(trainer, id, losses, updated, stat)
    type(zoo_trainer), intent(inout) :: trainer
    integer(c_int64_t), intent(in) :: id
    real(c_double), intent(in), contiguous :: losses(:)
    logical, intent(out), optional :: updated
    integer, intent(out), optional :: stat
    integer(c_int32_t) :: c_updated
    c_updated = 0
    call finish(c_zoo_tell_samples(trainer%ptr, id, losses, int(size(losses), c_size_t), c_updated), stat, &
         'zoo_tell_samples')
    if (present(updated)) updated = c_updated /= 0
  end subroutine zoo_tell_samples

  !> Adds weight * mean((f(x) - targets)**2) with its exact gradient to
  !> every following update (the mixed loss); x is inputs x rows, targets
  !> outputs x rows.
  recursive subroutine zoo_trainer_set_data_term(trainer, x, targets, weight, stat)
    type(zoo_trainer), intent(inout) :: trainer
    real(c_double), intent(in), contiguous :: x(:, :), targets(:, :)
    real(c_double), intent(in) :: weight
    integer, intent(out), optional :: stat
    call finish(c_zoo_trainer_set_data_term(trainer%ptr, x, int(size(x), c_size_t), targets, &
         int(size(targets), c_size_t), int(size(x, 2), c_size_t), weight), stat, 'zoo_trainer_set_data_term')
  end subroutine zoo_trainer_set_data_term

  !> Removes the data term.
  recursive subroutine zoo_trainer_clear_data_term(trainer, stat)
    type(zoo_trainer), intent(inout) :: trainer
    integer, intent(out), optional :: stat
    call finish(c_zoo_trainer_clear_data_term(trainer%ptr), stat, 'zoo_trainer_clear_data_term')
  end subroutine zoo_trainer_clear_data_term

  !> Saves the model (weights, mask, architecture) to `path` atomically.
  recursive subroutine zoo_model_save(model, path, stat)
    type(zoo_model), intent(in) :: model
    character(len=*), intent(in) :: path
    integer, intent(out), optional :: stat
    call finish(c_zoo_model_save(model%ptr, to_c(path)), stat, 'zoo_model_save')
  end subroutine zoo_model_save

  !> Loads a model from a model or trainer checkpoint.
  recursive subroutine zoo_model_load(model, path, stat)
    type(zoo_model), intent(inout) :: model
    character(len=*), intent(in) :: path
    integer, intent(out), optional :: stat
    call finish(c_zoo_model_load(to_c(path), model%ptr), stat, 'zoo_model_load')
  end subroutine zoo_model_load

  !> Saves the whole trainer state to `path` atomically (between
  !> iterations; with a communicator only rank 0 writes).
  recursive subroutine zoo_trainer_save(trainer, path, stat)
    type(zoo_trainer), intent(in) :: trainer
    character(len=*), intent(in) :: path
    integer, intent(out), optional :: stat
    call finish(c_zoo_trainer_save(trainer%ptr, to_c(path)), stat, 'zoo_trainer_save')
  end subroutine zoo_trainer_save

  !> Creates a trainer from a trainer checkpoint.
  recursive subroutine zoo_trainer_load(trainer, path, stat)
    type(zoo_trainer), intent(inout) :: trainer
    character(len=*), intent(in) :: path
    integer, intent(out), optional :: stat
    call finish(c_zoo_trainer_load(to_c(path), trainer%ptr), stat, 'zoo_trainer_load')
  end subroutine zoo_trainer_load

  !> Replaces the trainer's state by a checkpoint of the same architecture.
  recursive subroutine zoo_trainer_restore(trainer, path, stat)
    type(zoo_trainer), intent(inout) :: trainer
    character(len=*), intent(in) :: path
    integer, intent(out), optional :: stat
    call finish(c_zoo_trainer_restore(trainer%ptr, to_c(path)), stat, 'zoo_trainer_restore')
  end subroutine zoo_trainer_restore

  !> Sequential thresholding: prunes the active weights (and the biases
  !> when `include_biases`) below `threshold` in magnitude; training goes
  !> on with the rest. `pruned` receives how many were pruned.
  recursive subroutine zoo_trainer_threshold(trainer, threshold, include_biases, pruned, stat)
    type(zoo_trainer), intent(inout) :: trainer
    real(c_double), intent(in) :: threshold
    logical, intent(in) :: include_biases
    integer, intent(out), optional :: pruned
    integer, intent(out), optional :: stat
    integer(c_size_t) :: count
    count = 0
    call finish(c_zoo_trainer_threshold(trainer%ptr, threshold, merge(1_c_int32_t, 0_c_int32_t, include_biases), &
         count), stat, 'zoo_trainer_threshold')
    if (present(pruned)) pruned = int(count)
  end subroutine zoo_trainer_threshold

  !> A slot of `trainer` (see zoo_slot). It may be made at any time, and
  !> freed before or after the trainer.
  recursive subroutine zoo_slot_new(slot, trainer, stat)
    type(zoo_slot), intent(inout) :: slot
    type(zoo_trainer), intent(in) :: trainer
    integer, intent(out), optional :: stat
    call finish(c_zoo_slot_new(trainer%ptr, slot%ptr), stat, 'zoo_slot_new')
  end subroutine zoo_slot_new

  !> A slot serving a frozen copy of `model` (a production run).
  recursive subroutine zoo_slot_new_model(slot, model, stat)
    type(zoo_slot), intent(inout) :: slot
    type(zoo_model), intent(in) :: model
    integer, intent(out), optional :: stat
    call finish(c_zoo_slot_new_model(model%ptr, slot%ptr), stat, 'zoo_slot_new_model')
  end subroutine zoo_slot_new_model

  !> Runs the slot's network on one input x(inputs) into y(outputs).
  recursive subroutine zoo_slot_forward_one(slot, x, y, stat)
    type(zoo_slot), intent(in) :: slot
    real(c_double), intent(in), contiguous :: x(:)
    real(c_double), intent(inout), contiguous :: y(:)
    integer, intent(out), optional :: stat
    call finish(c_zoo_slot_forward(slot%ptr, x, int(size(x), c_size_t), 1_c_size_t, y, &
         int(size(y), c_size_t)), stat, 'zoo_slot_forward')
  end subroutine zoo_slot_forward_one

  !> Runs the slot's network on the columns of x(inputs, n) into y(outputs, n).
  recursive subroutine zoo_slot_forward_batch(slot, x, y, stat)
    type(zoo_slot), intent(in) :: slot
    real(c_double), intent(in), contiguous :: x(:, :)
    real(c_double), intent(inout), contiguous :: y(:, :)
    integer, intent(out), optional :: stat
    call finish(c_zoo_slot_forward(slot%ptr, x, int(size(x), c_size_t), int(size(x, 2), c_size_t), y, &
         int(size(y), c_size_t)), stat, 'zoo_slot_forward')
  end subroutine zoo_slot_forward_batch

  !> Frees a slot; idempotent. Its trainer is untouched.
  recursive subroutine zoo_slot_free(slot)
    type(zoo_slot), intent(inout) :: slot
    call c_zoo_slot_free(slot%ptr)
    slot%ptr = c_null_ptr
  end subroutine zoo_slot_free

end module zoo

!> Flagship demo: a Fortran Burgers solver learns a correction and a
!> closure *through itself* with zoo, compared with the baselines a
!> computational scientist would try first, each tuned on validation data.
!>
!> Usage: burgers_demo [--quick | --full] [output directory]
!>   (default) a representative subset: 3 network seeds, the headline
!>             studies; hyper-parameters chosen on validation.
!>   --full    every study, 5 network seeds x 3 zoo seeds; writes the
!>             results file the README's tables are rendered from.
!>   --quick   the test suite's version: fixed hyper-parameters (those the
!>             full run chose), 3 seeds; exits 1 unless the medians show
!>             the qualitative claims.
!> Writes results.json (every run), metrics.jsonl (per-iteration metrics
!> of each method's first run) and errors_*.dat (median test error versus
!> time, for plot_burgers.py).
program burgers_demo
  use, intrinsic :: iso_c_binding
  use zoo
  use burgers_solvers
  use burgers_coupling
  use burgers_methods
  use burgers_results
  implicit none

  integer, parameter :: QUICK = 1, SUBSET = 2, FULL = 3
  integer, parameter :: NICS = 8, TRAIN_SEED = 1, VALIDATION_SEED = 501, TEST_SEED = 1001
  !> Hyper-parameters are chosen by the median validation error of the
  !> first NTUNE network seeds with the first zoo seed.
  integer, parameter :: NTUNE = 3
  integer, parameter :: M_ZO = 1, M_ZO_WARM = 2, M_NON = 3
  !> ZO-SOL with zoo's default options (lr=auto), no grid: what a user
  !> who tunes nothing gets.
  integer, parameter :: M_ZO_DEFAULT = 4, M_ZO_DEFAULT_WARM = 5
  real(dp), parameter :: SMOOTH_NU = 0.02_dp, SMOOTH_AMPLITUDE = 1.0_dp
  real(dp), parameter :: SHARP_NU = 0.01_dp, SHARP_AMPLITUDE = 1.5_dp
  !> One Fourier mode steepening into a single strong shock at a low
  !> viscosity: the eddy viscosity it needs is large at the shock and
  !> near zero elsewhere.
  real(dp), parameter :: SHOCK_NU = 0.002_dp, SHOCK_AMPLITUDE = 2.0_dp
  !> The grids searched on validation. The quick mode uses the entries
  !> the full run chose (results/burgers.json), per observation interval.
  real(dp), parameter :: ZO_LRS(3) = [0.001_dp, 0.003_dp, 0.01_dp], CLOSURE_LRS(3) = [0.003_dp, 0.01_dp, 0.03_dp]
  real(dp), parameter :: NON_LRS(3) = [0.001_dp, 0.003_dp, 0.01_dp], NOISES(3) = [0.01_dp, 0.03_dp, 0.1_dp]
  integer, parameter :: ZO_QUICK(3) = [2, 2, 2], CLOSURE_QUICK = 3, NON_QUICK(3) = [2, 3, 2]
  integer, parameter :: STRIDES(3) = [1, 5, 10]
  integer, parameter :: ZO_ITERATIONS = 600, CLOSURE_ITERATIONS = 600, NON_EPOCHS = 3000
  !> The shock study trains on 60 steps; with the closure grid and budget
  !> its validation error still fell at the last iteration and the largest
  !> rate, so both are larger (1500 iterations gave the same test error).
  real(dp), parameter :: SHOCK_LRS(3) = [0.01_dp, 0.03_dp, 0.1_dp]
  integer, parameter :: SHOCK_ITERATIONS = 1000

  type(task), target :: t
  type(dataset) :: validation, test
  integer, allocatable :: net_seeds(:), zoo_seeds(:)
  integer :: mode, argc, i, s, log, k
  real(dp) :: warm_constant = 0
  !> The closure study under way: its learning-rate grid and budget.
  real(dp) :: closure_grid(3) = CLOSURE_LRS
  integer :: closure_budget = CLOSURE_ITERATIONS
  character(len=512) :: arg, outdir
  logical :: ok

  mode = SUBSET
  outdir = 'burgers-output'
  argc = command_argument_count()
  do i = 1, argc
     call get_command_argument(i, arg)
     if (arg == '--quick') then
        mode = QUICK
     else if (arg == '--full') then
        mode = FULL
     else
        outdir = arg
     end if
  end do
  if (mode == FULL) then
     net_seeds = [1, 2, 3, 4, 5]
     zoo_seeds = [1, 2, 3]
  else
     net_seeds = [1, 2, 3]
     zoo_seeds = [1]
  end if
  call execute_command_line('mkdir -p "' // trim(outdir) // '"')
  open (newunit=log, file=trim(outdir) // '/metrics.jsonl', status='replace', action='write')

  write (*, '(a)') 'zoo flagship demo: viscous Burgers, training through the coarse solver'
  write (*, '(a, i0, a, i0, a, f4.2)') 'fine reference: ', NFINE, ' cells, MUSCL + RK2; coarse: ', &
       NCOARSE, ' cells, dt = ', DT_COARSE
  write (*, '(a, i0, a, i0, a, i0, a)') 'initial conditions: ', NICS, ' train, ', NICS, ' validation, ', NICS, &
       ' test, all different; test rollouts 3x (correction) or 2x (long horizon) longer than trained'
  write (*, '(a, i0, a, i0, a)') 'runs per method: ', size(net_seeds), ' network seeds x ', size(zoo_seeds), &
       ' zoo seeds; results are medians [min, max] over them'
  if (mode == QUICK) write (*, '(a)') 'quick mode: fixed hyper-parameters, headline studies only'

  s = add_study('observations', '(a) correction of a first-order upwind solver, smooth regime (nu = 0.02, ' // &
       '|u| <= 1); the reference is observed every K coarse steps; train 20 steps, test 60', 'K')
  do k = 1, 3
     if (mode /= FULL .and. k == 2) cycle
     call set_data(SMOOTH_NU, SMOOTH_AMPLITUDE, 20, 60, STRIDES(k))
     call correction_group(s, itoa(STRIDES(k)), .false.)
  end do
  call print_study(s)

  if (mode == FULL) then
     s = add_study('sharp', '(a) the same correction, sharp regime (nu = 0.01, |u| <= 1.5, unresolved shocks); ' // &
          'train 20 steps, test 60', '')
     call set_data(SHARP_NU, SHARP_AMPLITUDE, 20, 60, 1)
     call correction_group(s, '', .false.)
     call print_study(s)
  end if

  if (mode /= QUICK) then
     s = add_study('long', '(a) the correction trained on the horizon it is used on: smooth regime, ' // &
          'train 60 steps, test 120', '')
     call set_data(SMOOTH_NU, SMOOTH_AMPLITUDE, 60, 120, 1)
     call correction_group(s, '', .true.)
     call print_study(s)
  end if

  s = add_study('closure', '(b) eddy-viscosity closure inside a central solver, sharp regime; ' // &
       'train 20 steps, test 60', '')
  call set_data(SHARP_NU, SHARP_AMPLITUDE, 20, 60, 1)
  t%kind = CLOSURE
  call closure_group(s, .true.)
  call print_study(s)

  if (mode == FULL) then
     s = add_study('shock', '(b) the closure where the eddy viscosity it needs varies in space: one ' // &
          'dominant shock (nu = 0.002, |u| <= 2, one Fourier mode); train 60 steps, test 120', '')
     modes = 1
     call set_data(SHOCK_NU, SHOCK_AMPLITUDE, 60, 120, 1)
     t%kind = CLOSURE
     closure_grid = SHOCK_LRS
     closure_budget = SHOCK_ITERATIONS
     call closure_group(s, .false.)
     call print_study(s)
     modes = 4
  end if
  close (log)

  call write_error_curves(trim(outdir))
  call write_results(trim(outdir) // '/results.json', 'bash demo.sh --full', protocol_text())
  write (*, '(/, 5a)') 'results: ', trim(outdir), '/results.json; per-iteration metrics: ', trim(outdir), &
       '/metrics.jsonl'

  if (mode == QUICK) then
     ok = .true.
     call check(1, '1', 'ZO-SOL', 'SRC', 0.8_dp, ok)
     call check(1, '10', 'ZO-SOL', 'NON (interpolated pairs)', 1.0_dp, ok)
     call check(s, '', 'ZO-SOL, warm from constant', 'best constant', 1.0_dp, ok)
     if (.not. ok) error stop 1
     write (*, '(a)') 'quick check passed'
  end if

contains

  function itoa(i) result(text)
    integer, intent(in) :: i
    character(len=:), allocatable :: text
    character(len=32) :: buffer
    write (buffer, '(i0)') i
    text = trim(buffer)
  end function itoa

  !> x with at most 6 decimals and no trailing zeros (0.003, 0.0236).
  function ftoa(x) result(text)
    real(dp), intent(in) :: x
    character(len=:), allocatable :: text
    character(len=32) :: buffer
    write (buffer, '(f0.6)') x
    text = trim(adjustl(buffer))
    do while (text(len(text):len(text)) == '0')
       text = text(:len(text) - 1)
    end do
    if (text(len(text):len(text)) == '.') text = text(:len(text) - 1)
    if (text == '') text = '0'
    if (text(1:1) == '.') text = '0' // text
    if (text(1:2) == '-.') text = '-0' // text(2:)
  end function ftoa

  function grid_text(values) result(text)
    real(dp), intent(in) :: values(:)
    character(len=:), allocatable :: text
    integer :: j
    text = '{' // ftoa(values(1))
    do j = 2, size(values)
       text = text // ', ' // ftoa(values(j))
    end do
    text = text // '}'
  end function grid_text

  !> Sets the physical viscosity and makes the training, validation and
  !> test references; the training reference is observed every `stride`
  !> steps.
  subroutine set_data(viscosity, amplitude, steps_train, steps_test, stride)
    real(dp), intent(in) :: viscosity, amplitude
    integer, intent(in) :: steps_train, steps_test, stride
    nu = viscosity
    call make_dataset(t%train, TRAIN_SEED, NICS, steps_train, amplitude)
    call make_dataset(validation, VALIDATION_SEED, NICS, steps_test, amplitude)
    call make_dataset(test, TEST_SEED, NICS, steps_test, amplitude)
    t%kind = CORRECTION
    t%stride = stride
  end subroutine set_data

  !> The test record of a model: test MAE (every step), validation MAE
  !> (observed steps), and the error curve.
  function evaluated(kind, net, trained, net_seed, zoo_seed) result(run)
    integer, intent(in) :: kind, net_seed, zoo_seed
    type(coupling), intent(in) :: net
    type(trained_model), intent(in) :: trained
    type(run_record) :: run
    call test_errors(kind, net, test, run%test, run%per_step(1:test%nsteps))
    run%nsteps = test%nsteps
    run%net_seed = net_seed
    run%zoo_seed = zoo_seed
    run%validation = trained%validation
    run%fit_r2 = trained%fit_r2
    run%rollouts = trained%rollouts
    run%stopped_at = trained%stopped_at
  end function evaluated

  !> Trains one run of method `method` with grid point `cfg`.
  function train_one(method, cfg, net_seed, zoo_seed, label) result(run)
    integer, intent(in) :: method, cfg, net_seed, zoo_seed
    character(len=*), intent(in) :: label
    type(run_record) :: run
    type(trained_model) :: trained
    type(zoo_model) :: start
    type(coupling) :: net
    character(len=160) :: options
    integer :: journal
    journal = merge(log, 0, net_seed == net_seeds(1) .and. zoo_seed == zoo_seeds(1))
    select case (method)
    case (M_ZO, M_ZO_WARM, M_ZO_DEFAULT, M_ZO_DEFAULT_WARM)
       if (method == M_ZO_WARM .or. method == M_ZO_DEFAULT_WARM) then
          call initial_model(t%kind, net_seed, start, warm_constant)
       else
          call initial_model(t%kind, net_seed, start)
       end if
       if (method == M_ZO_DEFAULT .or. method == M_ZO_DEFAULT_WARM) then
          write (options, '(a, i0)') 'threads=2 seed=', zoo_seed
          call train_zo(t, validation, start, trim(options), merge(ZO_ITERATIONS, closure_budget, &
               t%kind == CORRECTION), trained, journal, label)
       else
          write (options, '(a, i0, a, es9.3)') 'estimator=rge-central q=16 mu=0.001 optimizer=adam threads=2 seed=', &
               zoo_seed, ' lr=', lr_of(method, cfg)
          call train_zo(t, validation, start, trim(options), merge(ZO_ITERATIONS, closure_budget, &
               t%kind == CORRECTION), trained, journal, label // ' lr=' // ftoa(lr_of(method, cfg)))
       end if
    case default
       call initial_model(CORRECTION, net_seed, start)
       if (t%stride > 1) then
          call fit_non(interpolated(t%train, t%stride), validation, t%stride, start, NON_LRS(modulo(cfg - 1, 3) + 1), &
               noise_of(method, cfg), zoo_seed, NON_EPOCHS, trained)
       else
          call fit_non(t%train, validation, t%stride, start, NON_LRS(modulo(cfg - 1, 3) + 1), &
               noise_of(method, cfg), zoo_seed, NON_EPOCHS, trained)
       end if
    end select
    net%kind = NET_MODEL
    net%model = trained%model
    run = evaluated(t%kind, net, trained, net_seed, zoo_seed)
    call zoo_model_free(trained%model)
    call zoo_model_free(start)
  end function train_one

  real(dp) function lr_of(method, cfg)
    integer, intent(in) :: method, cfg
    if (t%kind == CLOSURE) then
       lr_of = closure_grid(cfg)
    else
       lr_of = ZO_LRS(cfg)
    end if
    if (method == M_NON) lr_of = NON_LRS(modulo(cfg - 1, 3) + 1)
  end function lr_of

  !> NON's grid: cfg 1-3 are the learning rates without noise; with
  !> noise injection cfg 4-12 are learning rate x noise level.
  real(dp) function noise_of(method, cfg)
    integer, intent(in) :: method, cfg
    noise_of = 0
    if (method == M_NON .and. cfg > 3) noise_of = NOISES((cfg - 4) / 3 + 1)
  end function noise_of

  function hyper_of(method, cfg) result(text)
    integer, intent(in) :: method, cfg
    character(len=:), allocatable :: text
    if (method == M_NON) then
       text = 'lr ' // ftoa(lr_of(method, cfg))
       if (cfg > 3) text = text // ', noise ' // ftoa(noise_of(method, cfg))
    else if (method == M_ZO_DEFAULT .or. method == M_ZO_DEFAULT_WARM) then
       text = 'default options (lr=auto)'
    else
       text = 'lr ' // ftoa(lr_of(method, cfg))
    end if
  end function hyper_of

  !> Runs a method over every seed with the grid point that has the lowest
  !> median validation error over the tuning seeds (the tuning runs with
  !> that point are kept as those seeds' runs), and records it.
  subroutine run_method(s, group, name, method, first_cfg, last_cfg, quick_cfg, grid)
    integer, intent(in) :: s, method, first_cfg, last_cfg, quick_cfg
    character(len=*), intent(in) :: group, name, grid
    type(run_record) :: tuning(first_cfg:last_cfg, NTUNE), run
    real(dp) :: score, best_score
    integer :: cfg, chosen, j, m, a, b, ties
    character(len=:), allocatable :: stopped, fit
    chosen = quick_cfg
    ties = 0
    if (mode /= QUICK .and. last_cfg > first_cfg) then
       best_score = huge(1.0_dp)
       do cfg = first_cfg, last_cfg
          do j = 1, NTUNE
             tuning(cfg, j) = train_one(method, cfg, net_seeds(j), zoo_seeds(1), group // ' ' // name)
          end do
          score = median(tuning(cfg, :)%validation)
          if (score < best_score) then
             best_score = score
             chosen = cfg
             ties = 0
          else if (score == best_score) then
             ties = ties + 1
          end if
       end do
    end if
    stopped = merge(' iterations', ' epochs    ', method /= M_NON)
    m = add_method(s, name, '', .false., group)
    do a = 1, size(net_seeds)
       do b = 1, size(zoo_seeds)
          if (mode /= QUICK .and. last_cfg > first_cfg .and. a <= NTUNE .and. b == 1) then
             run = tuning(chosen, a)
          else
             run = train_one(method, chosen, net_seeds(a), zoo_seeds(b), group // ' ' // name)
          end if
          call add_run(s, m, run)
       end do
    end do
    fit = ''
    if (method == M_NON) fit = '; one-step R2 ' // ftoa(real(nint(100 * median_fit_r2(s, m)), dp) / 100)
    if (ties > 0) fit = fit // '; every grid point tied on validation, the first is kept'
    if (last_cfg > first_cfg) then
       fit = ' of ' // grid // '; best validation at ' // itoa(nint(median_stopped(s, m))) // trim(stopped) // fit
    else
       fit = ', no grid; best validation at ' // itoa(nint(median_stopped(s, m))) // trim(stopped) // fit
    end if
    call set_hyper(s, m, hyper_of(method, chosen) // fit, method == M_NON)
  end subroutine run_method

  !> The correction task: SRC, NON (on one-step pairs; with sparse
  !> observations, pairs of the time-interpolated reference), optionally
  !> NON with noise injection, and ZO-SOL trained through the solver.
  subroutine correction_group(s, group, with_noise)
    integer, intent(in) :: s
    character(len=*), intent(in) :: group
    logical, intent(in) :: with_noise
    type(coupling) :: none_net
    type(trained_model) :: untrained
    integer :: m
    m = add_method(s, 'SRC', 'no correction', .true., group)
    call add_run(s, m, evaluated(CORRECTION, none_net, untrained, 0, 0))
    call run_method(s, group, merge('NON (interpolated pairs)', 'NON                     ', t%stride > 1), &
         M_NON, 1, 3, NON_QUICK(findloc(STRIDES, t%stride, 1)), 'lr ' // grid_text(NON_LRS))
    if (with_noise) call run_method(s, group, 'NON + noise injection', M_NON, 4, 12, 5, &
         'lr ' // grid_text(NON_LRS) // ' x noise ' // grid_text(NOISES))
    call run_method(s, group, 'ZO-SOL', M_ZO, 1, 3, ZO_QUICK(findloc(STRIDES, t%stride, 1)), &
         'lr ' // grid_text(ZO_LRS))
    if (mode /= QUICK) call run_method(s, group, 'ZO-SOL, default options', M_ZO_DEFAULT, 1, 1, 1, '')
  end subroutine correction_group

  !> The closure task: SRC, the best constant eddy viscosity, a
  !> Smagorinsky-type closure with its constant fitted, and ZO-SOL
  !> warm-started at the best constant and, with `from_scratch`, from a
  !> random network.
  subroutine closure_group(s, from_scratch)
    integer, intent(in) :: s
    logical, intent(in) :: from_scratch
    type(coupling) :: net
    type(trained_model) :: fitted
    real(dp) :: best
    integer :: m
    m = add_method(s, 'SRC', 'no closure', .true.)
    call add_run(s, m, evaluated(CLOSURE, net, fitted, 0, 0))
    call fit_constant(t, NET_CONSTANT, 0.0_dp, 0.2_dp, best, fitted%rollouts)
    warm_constant = best
    net%kind = NET_CONSTANT
    net%constant = best
    m = add_method(s, 'best constant', 'nu_t = ' // ftoa(best) // ' (fitted on the training loss)', .true.)
    call add_run(s, m, evaluated(CLOSURE, net, fitted, 0, 0))
    call fit_constant(t, NET_SMAGORINSKY, 0.0_dp, 3.0_dp, best, fitted%rollouts)
    net%kind = NET_SMAGORINSKY
    net%constant = best
    m = add_method(s, 'Smagorinsky', 'c = ' // ftoa(best) // ' (fitted on the training loss)', .true.)
    call add_run(s, m, evaluated(CLOSURE, net, fitted, 0, 0))
    if (from_scratch) call run_method(s, '', 'ZO-SOL, from scratch', M_ZO, 1, 3, CLOSURE_QUICK, &
         'lr ' // grid_text(closure_grid))
    if (from_scratch .and. mode /= QUICK) call run_method(s, '', 'ZO-SOL, from scratch, default options', &
         M_ZO_DEFAULT, 1, 1, 1, '')
    call run_method(s, '', 'ZO-SOL, warm from constant', M_ZO_WARM, 1, 3, CLOSURE_QUICK, &
         'lr ' // grid_text(closure_grid))
    if (mode /= QUICK) call run_method(s, '', 'ZO-SOL, warm from constant, default options', &
         M_ZO_DEFAULT_WARM, 1, 1, 1, '')
  end subroutine closure_group

  !> Checks that the median test error of `name` is below `margin` times
  !> that of `reference` in a group; reports either way.
  subroutine check(s, group, name, reference, margin, ok)
    integer, intent(in) :: s
    character(len=*), intent(in) :: group, name, reference
    real(dp), intent(in) :: margin
    logical, intent(inout) :: ok
    integer :: a, b
    real(dp) :: ratio
    a = method_index(s, name, group)
    b = method_index(s, reference, group)
    if (a == 0 .or. b == 0) then
       write (*, '(5a)') 'FAIL: no result named ', name, ' or ', reference, ' in the group'
       ok = .false.
       return
    end if
    ratio = median_test(s, a) / median_test(s, b)
    write (*, '(7a, f6.3, a, f4.2, a)') 'group ', group, ': median test MAE of ', name, ' / ', reference, ' = ', &
         ratio, merge(' <  ', ' >= ', ratio < margin), margin, merge(' ok  ', ' FAIL', ratio < margin)
    ok = ok .and. ratio < margin
  end subroutine check

  function protocol_text() result(text)
    character(len=:), allocatable :: text
    text = 'Initial conditions: 8 train (seeds 1-8), 8 validation (501-508), 8 test (1001-1008). ' // &
         'Every hyper-parameter of every trained method, baselines included, is the grid point with the ' // &
         'lowest median validation MAE over network seeds 1-3 with the first zoo seed; each run then keeps ' // &
         'the weights of its best validation MAE (checked every 25 zoo iterations; NON: every 5 epochs up to ' // &
         '100, then every 25; validation rollouts as long as the test ones; at most ' // &
         itoa(ZO_ITERATIONS) // ' iterations (correction), ' // itoa(CLOSURE_ITERATIONS) // ' (closure), ' // &
         itoa(SHOCK_ITERATIONS) // ' (shock closure), ' // &
         itoa(NON_EPOCHS) // ' epochs). With observations every K steps, validation sees the same K. ' // &
         'The closure constants are fitted on the training rollout loss (an 11-point scan refined by ' // &
         'golden-section search). ' // &
         'Runs: network seeds x zoo seeds (for NON, the fit seed); SRC and the closure constants are ' // &
         'deterministic (1 run). Test MAE: every step of the test rollouts. Loss evaluations: training ' // &
         'losses zoo asked for, each 8 rollouts (validation rollouts not counted, for any method). ' // &
         'NON and ZO-SOL use the same ' // &
         '3-point stencil and network.'
  end function protocol_text

end program burgers_demo

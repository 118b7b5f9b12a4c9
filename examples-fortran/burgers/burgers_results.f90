!> The demo's bookkeeping: every run of every method (one per network
!> seed and zoo seed), summaries as median [min, max], and the results
!> file (results/README.md gives its schema) from which the README's
!> tables are rendered.
module burgers_results
  use, intrinsic :: ieee_arithmetic, only: ieee_is_finite
  use, intrinsic :: iso_fortran_env, only: output_unit
  use burgers_solvers, only: dp
  implicit none
  private
  public :: run_record, add_study, add_method, add_run, print_study, write_results, median_test, &
       best_baseline, method_index, write_error_curves, median, set_hyper, median_stopped, median_fit_r2

  integer, parameter :: MAXSTUDIES = 8, MAXMETHODS = 16, MAXRUNS = 16
  integer, parameter, public :: MAXSTEPS = 120

  !> One trained model: its seeds, its errors, what training cost.
  type :: run_record
     integer :: net_seed = 0, zoo_seed = 0
     real(dp) :: test = 0, validation = 0
     !> Fraction of the one-step residual variance a supervised fit explains
     !> on its training pairs (supervised baselines only; -1 otherwise).
     real(dp) :: fit_r2 = -1
     !> Solver rollouts spent in training (zeroth-order methods).
     integer :: rollouts = 0
     !> Where validation stopped training: iterations or epochs.
     integer :: stopped_at = 0
     !> Test MAE after each step of the test rollouts (for the plot).
     integer :: nsteps = 0
     real(dp) :: per_step(MAXSTEPS) = 0
  end type run_record

  type :: method_record
     character(len=64) :: name = '', group = ''
     character(len=160) :: hyper = ''
     logical :: baseline = .false.
     integer :: nruns = 0
     type(run_record) :: runs(MAXRUNS)
  end type method_record

  type :: study_record
     character(len=32) :: id = ''
     character(len=240) :: title = ''
     character(len=16) :: group_label = ''
     integer :: nmethods = 0
     type(method_record) :: methods(MAXMETHODS)
  end type study_record

  type(study_record), save :: studies(MAXSTUDIES)
  integer, save :: nstudies = 0

contains

  !> Starts a study; `group_label` names the column that splits it (e.g.
  !> the observation interval), empty for none.
  integer function add_study(id, title, group_label) result(s)
    character(len=*), intent(in) :: id, title, group_label
    if (nstudies == MAXSTUDIES) error stop 'burgers_results: too many studies'
    nstudies = nstudies + 1
    s = nstudies
    studies(s)%id = id
    studies(s)%title = title
    studies(s)%group_label = group_label
  end function add_study

  integer function add_method(s, name, hyper, baseline, group) result(m)
    integer, intent(in) :: s
    character(len=*), intent(in) :: name, hyper
    logical, intent(in) :: baseline
    character(len=*), intent(in), optional :: group
    if (studies(s)%nmethods == MAXMETHODS) error stop 'burgers_results: too many methods'
    studies(s)%nmethods = studies(s)%nmethods + 1
    m = studies(s)%nmethods
    studies(s)%methods(m)%name = name
    studies(s)%methods(m)%hyper = hyper
    studies(s)%methods(m)%baseline = baseline
    if (present(group)) studies(s)%methods(m)%group = group
  end function add_method

  !> Sets what a method's runs were trained with, once they are known.
  subroutine set_hyper(s, m, hyper, baseline)
    integer, intent(in) :: s, m
    character(len=*), intent(in) :: hyper
    logical, intent(in) :: baseline
    studies(s)%methods(m)%hyper = hyper
    studies(s)%methods(m)%baseline = baseline
  end subroutine set_hyper

  !> Median of where validation stopped a method's runs.
  real(dp) function median_stopped(s, m)
    integer, intent(in) :: s, m
    median_stopped = median(real(studies(s)%methods(m)%runs(1:studies(s)%methods(m)%nruns)%stopped_at, dp))
  end function median_stopped

  !> Median over a method's runs of the fit's one-step R^2.
  real(dp) function median_fit_r2(s, m)
    integer, intent(in) :: s, m
    median_fit_r2 = median(studies(s)%methods(m)%runs(1:studies(s)%methods(m)%nruns)%fit_r2)
  end function median_fit_r2

  integer function method_index(s, name, group) result(m)
    integer, intent(in) :: s
    character(len=*), intent(in) :: name, group
    do m = 1, studies(s)%nmethods
       if (studies(s)%methods(m)%name == name .and. studies(s)%methods(m)%group == group) return
    end do
    m = 0
  end function method_index

  subroutine add_run(s, m, r)
    integer, intent(in) :: s, m
    type(run_record), intent(in) :: r
    if (studies(s)%methods(m)%nruns == MAXRUNS) error stop 'burgers_results: too many runs'
    studies(s)%methods(m)%nruns = studies(s)%methods(m)%nruns + 1
    studies(s)%methods(m)%runs(studies(s)%methods(m)%nruns) = r
  end subroutine add_run

  !> Median of x (the mean of the two middle values for an even count).
  real(dp) function median(x)
    real(dp), intent(in) :: x(:)
    real(dp) :: sorted(size(x)), t
    integer :: i, j, n
    n = size(x)
    sorted = x
    do i = 2, n
       t = sorted(i)
       j = i - 1
       do while (j >= 1)
          if (sorted(j) <= t) exit
          sorted(j + 1) = sorted(j)
          j = j - 1
       end do
       sorted(j + 1) = t
    end do
    median = 0.5_dp * (sorted((n + 1) / 2) + sorted(n / 2 + 1))
  end function median

  real(dp) function median_test(s, m)
    integer, intent(in) :: s, m
    median_test = median(studies(s)%methods(m)%runs(1:studies(s)%methods(m)%nruns)%test)
  end function median_test

  !> The baseline with the lowest median test error within a group.
  integer function best_baseline(s, group) result(best)
    integer, intent(in) :: s
    character(len=*), intent(in) :: group
    integer :: m
    best = 0
    do m = 1, studies(s)%nmethods
       if (.not. studies(s)%methods(m)%baseline .or. studies(s)%methods(m)%group /= group) cycle
       if (best == 0) then
          best = m
       else if (median_test(s, m) < median_test(s, best)) then
          best = m
       end if
    end do
  end function best_baseline

  subroutine print_study(s)
    integer, intent(in) :: s
    integer :: m, b, src
    real(dp) :: med
    character(len=24) :: range
    write (*, '(/, a)') trim(studies(s)%title)
    write (*, '(a10, a44, a11, a24, a8, a10, a5)') trim(studies(s)%group_label), 'method', 'test MAE', &
         '[min, max]', 'vs SRC', 'vs best b.', 'runs'
    do m = 1, studies(s)%nmethods
       associate (me => studies(s)%methods(m), runs => studies(s)%methods(m)%runs(1:studies(s)%methods(m)%nruns))
         b = best_baseline(s, me%group)
         src = method_index(s, 'SRC', me%group)
         med = median(runs%test)
         write (range, '(a, es9.2, a, es9.2, a)') '[', minval(runs%test), ', ', maxval(runs%test), ']'
         write (*, '(a10, a44, es11.3, a24, f8.3, f10.3, i5)') trim(me%group), trim(me%name), med, range, &
              med / median_test(s, src), med / median_test(s, b), me%nruns
       end associate
    end do
    flush (output_unit)
  end subroutine print_study

  !> A number as JSON (null when not finite: a diverged run).
  function json_number(x) result(text)
    real(dp), intent(in) :: x
    character(len=:), allocatable :: text
    character(len=32) :: buffer
    if (.not. ieee_is_finite(x)) then
       text = 'null'
       return
    end if
    write (buffer, '(es24.16e3)') x
    text = trim(adjustl(buffer))
  end function json_number

  !> Writes every study as one table of the results file: method, chosen
  !> hyper-parameters, test MAE median [min, max], ratios to SRC and to the
  !> best baseline of the same group, runs, rollouts per run.
  subroutine write_results(path, reproduce, protocol)
    character(len=*), intent(in) :: path, reproduce, protocol
    integer :: u, s, m, r, b
    character(len=8) :: sep
    open (newunit=u, file=path, status='replace', action='write')
    write (u, '(a)') '{'
    write (u, '(a)') '  "name": "burgers",'
    write (u, '(3a)') '  "reproduce": "', reproduce, '",'
    write (u, '(3a)') '  "protocol": "', protocol, '",'
    write (u, '(a)') '  "tables": ['
    do s = 1, nstudies
       write (u, '(5a)') '    {"id": "', trim(studies(s)%id), '", "title": "', trim(studies(s)%title), '",'
       write (u, '(a)') '     "columns": ['
       if (studies(s)%group_label /= '') write (u, '(3a)') '       {"key": "group", "label": "', &
            trim(studies(s)%group_label), '"},'
       write (u, '(a)') '       {"key": "method", "label": "method"},'
       write (u, '(a)') '       {"key": "hyper", "label": "chosen on validation"},'
       write (u, '(a)') '       {"key": "test", "label": "test MAE, median [min, max]", "agg": "median-range", ' // &
            '"format": ".2e"},'
       write (u, '(a)') '       {"key": "test", "label": "vs SRC", "agg": "ratio", "of": "SRC", "same": ["group"]},'
       write (u, '(a)') '       {"key": "test", "label": "vs best baseline", "agg": "ratio", "of_key": "best", ' // &
            '"same": ["group"]},'
       write (u, '(a)') '       {"key": "runs", "label": "runs", "agg": "runs"},'
       write (u, '(a)') '       {"key": "rollouts", "label": "loss evaluations per run", "agg": "median", "format": ".0f"}'
       write (u, '(a)') '     ],'
       write (u, '(a)') '     "rows": ['
       do m = 1, studies(s)%nmethods
          associate (me => studies(s)%methods(m))
            b = best_baseline(s, me%group)
            write (u, '(11a)') '       {"group": "', trim(me%group), '", "method": "', trim(me%name), &
                 '", "hyper": "', trim(me%hyper), '", "best": "', trim(studies(s)%methods(b)%name), &
                 '", "baseline": ', trim(merge('true ', 'false', me%baseline)), ', "runs": ['
            do r = 1, me%nruns
               sep = merge(',', ' ', r < me%nruns)
               associate (run => me%runs(r))
                 write (u, '(a, i0, a, i0, 5a, i0, a, i0, 3a)') '         {"net_seed": ', run%net_seed, &
                      ', "zoo_seed": ', run%zoo_seed, ', "test": ', json_number(run%test), &
                      ', "validation": ', json_number(run%validation), ', "rollouts": ', run%rollouts, &
                      ', "stopped_at": ', run%stopped_at, ', "fit_r2": ', json_number(run%fit_r2), '}' // trim(sep)
               end associate
            end do
            write (u, '(a)') '       ]}' // trim(merge(',', ' ', m < studies(s)%nmethods))
          end associate
       end do
       write (u, '(a)') '     ]}' // trim(merge(',', ' ', s < nstudies))
    end do
    write (u, '(a)') '  ]'
    write (u, '(a)') '}'
    close (u)
  end subroutine write_results

  !> errors_<study>[_<group>].dat: step, then per method the median over
  !> its runs of the test MAE after that step (plot_burgers.py plots them).
  subroutine write_error_curves(outdir)
    character(len=*), intent(in) :: outdir
    integer :: s, m, n, u, first, k
    character(len=2048) :: header
    character(len=256) :: path
    do s = 1, nstudies
       first = 1
       do while (first <= studies(s)%nmethods)
          ! One file per group: its methods are consecutive.
          k = first
          do while (k < studies(s)%nmethods)
             if (studies(s)%methods(k + 1)%group /= studies(s)%methods(first)%group) exit
             k = k + 1
          end do
          path = trim(outdir) // '/errors_' // trim(studies(s)%id)
          if (studies(s)%methods(first)%group /= '') path = trim(path) // '_' // trim(studies(s)%group_label) // &
               trim(studies(s)%methods(first)%group)
          header = '# step'
          do m = first, k
             header = trim(header) // ' "' // trim(studies(s)%methods(m)%name) // '"'
          end do
          open (newunit=u, file=trim(path) // '.dat', status='replace', action='write')
          write (u, '(a)') trim(header)
          do n = 1, studies(s)%methods(first)%runs(1)%nsteps
             write (u, '(i4, *(es13.5))') n, (median(studies(s)%methods(m)%runs(1:studies(s)%methods(m)%nruns) &
                  %per_step(n)), m = first, k)
          end do
          close (u)
          first = k + 1
       end do
    end do
  end subroutine write_error_curves

end module burgers_results

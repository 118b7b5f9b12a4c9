!> Scores of the fitted equations against the truth, printed and written
!> as results/lorenz.json (schema in results/README.md).
module lorenz_report
  use, intrinsic :: iso_c_binding, only: c_double, c_int64_t
  use, intrinsic :: ieee_arithmetic, only: ieee_is_finite
  use lorenz_system
  use lorenz_scores
  use lorenz_methods
  implicit none
  private
  public :: run_score, score_run, print_header, print_run, print_equations, write_results

  integer, parameter, public :: NMETHODS = 4
  character(len=*), parameter :: METHOD_NAMES(NMETHODS) = &
       [character(len=12) :: 'FD2 + STLSQ', 'FD4 + STLSQ', 'weak SINDy', 'zoo']
  character(len=*), parameter :: TUNED(NMETHODS) = [character(len=60) :: 'λ', 'λ', &
       'λ, window, exponent', 'λ, dense iterations, polish']

  !> One method on one data set.
  type :: run_score
     real(c_double) :: coef_error = 0, forecast = 0
     integer :: found = 0, false_terms = 0
     logical :: exact = .false.
     integer(c_int64_t) :: evaluations = 0
     character(len=160) :: chosen = ''
  end type run_score

contains

  function score_run(d, r) result(s)
    type(dataset), intent(in) :: d
    type(fit_result), intent(in) :: r
    type(run_score) :: s
    call support_counts(r%xi, s%found, s%false_terms)
    s%exact = s%found == 7 .and. s%false_terms == 0
    s%coef_error = coefficient_error(r%xi)
    s%forecast = forecast_error(r%xi, d%test, d%test_sd)
    s%evaluations = r%evaluations
    s%chosen = r%hyper
  end function score_run

  subroutine print_header()
    write (*, '(a6, a7, a5, a3, 1x, a12, a6, a6, a12, a12, a11)') 'dt', 'noise', 'draw', '', 'method', &
         'terms', 'false', 'coef. err', 'forecast', 'evals'
  end subroutine print_header

  subroutine print_run(d, draw, method, s)
    type(dataset), intent(in) :: d
    integer, intent(in) :: draw, method
    type(run_score), intent(in) :: s
    write (*, '(f6.2, i6, a, i5, 3x, 1x, a12, i4, a2, i6, es12.2, es12.2, i11, 2x, a)') d%dt, nint(100 * d%noise), '%', &
         draw, METHOD_NAMES(method), s%found, '/7', s%false_terms, s%coef_error, s%forecast, s%evaluations, &
         trim(s%chosen)
  end subroutine print_run

  subroutine print_equations(xi)
    real(c_double), intent(in) :: xi(NLIB, NVAR)
    character(len=*), parameter :: lhs(NVAR) = ['dx/dt', 'dy/dt', 'dz/dt']
    integer :: v, j
    do v = 1, NVAR
       write (*, '(4x, a, a)', advance='no') lhs(v), ' ='
       do j = 1, NLIB
          if (xi(j, v) /= 0) write (*, '(sp, f11.5, ss, 1x, a)', advance='no') xi(j, v), trim(TERM_NAMES(j))
       end do
       write (*, *)
    end do
  end subroutine print_equations

  !> The whole grid as results/lorenz.json: one table per sampling
  !> interval, one row per (noise, method), one run per draw. The best
  !> baseline of each (interval, noise) is the one with the lowest median
  !> coefficient error on the test metric: the ratio column compares zoo
  !> with the strongest baseline in hindsight, not with one it beat on
  !> validation.
  subroutine write_results(path, reproduce, protocol, dts, noises, runs)
    character(len=*), intent(in) :: path, reproduce, protocol
    real(c_double), intent(in) :: dts(:), noises(:)
    type(run_score), intent(in) :: runs(:, :, :, :)   ! (method, draw, noise, dt)
    integer :: u, i, k, m, j, best
    character(len=16) :: noise_label
    open (newunit=u, file=path, status='replace', action='write', encoding='utf-8')
    write (u, '(a)') '{'
    write (u, '(a)') '  "name": "lorenz",'
    write (u, '(3a)') '  "reproduce": "', reproduce, '",'
    write (u, '(3a)') '  "protocol": "', protocol, '",'
    write (u, '(a)') '  "tables": ['
    do i = 1, size(dts)
       write (u, '(a)') '    {'
       write (u, '(3a)') '      "id": "dt-', number_text(dts(i)), '",'
       write (u, '(3a, i0, a)') '      "title": "Lorenz-63 sampled every ', number_text(dts(i)), &
            ' time units; median [min, max] over ', size(runs, 2), ' draws",'
       write (u, '(a)') '      "columns": ['
       write (u, '(a)') '        {"key": "noise", "label": "noise"},'
       write (u, '(a)') '        {"key": "method", "label": "method"},'
       write (u, '(a)') '        {"key": "coef_error", "label": "coefficient error", "agg": "median-range", &
            &"format": ".1e"},'
       write (u, '(a)') '        {"key": "coef_error", "label": "vs best baseline", "agg": "ratio", "by": "role", &
            &"of": "best baseline", "same": ["noise"], "format": ".2g"},'
       write (u, '(a)') '        {"key": "forecast_error", "label": "forecast error", "agg": "median-range", &
            &"format": ".1e"},'
       write (u, '(a)') '        {"key": "terms", "label": "terms found /7", "agg": "median", "format": ".0f"},'
       write (u, '(a)') '        {"key": "false_terms", "label": "false terms", "agg": "median", "format": ".0f"},'
       write (u, '(a)') '        {"key": "exact", "label": "exact support", "agg": "count-true"},'
       write (u, '(a)') '        {"key": "evaluations", "label": "loss evaluations", "agg": "median", &
            &"format": ".2g"},'
       write (u, '(a)') '        {"key": "tuned", "label": "tuned on validation"}'
       write (u, '(a)') '      ],'
       write (u, '(a)') '      "rows": ['
       do k = 1, size(noises)
          best = 1
          do m = 2, NMETHODS - 1
             if (median([(runs(m, j, k, i)%coef_error, j = 1, size(runs, 2))]) < &
                  median([(runs(best, j, k, i)%coef_error, j = 1, size(runs, 2))])) best = m
          end do
          write (noise_label, '(g0, a)') nint(100 * noises(k)), '%'
          if (noises(k) == 0) noise_label = '0'
          do m = 1, NMETHODS
             write (u, '(9a)') '        {"noise": "', trim(noise_label), '", "method": "', &
                  trim(METHOD_NAMES(m)), '", "tuned": "', trim(TUNED(m)), '", "bold": ', boolean(m == NMETHODS), ','
             if (m == NMETHODS) then
                write (u, '(a)') '         "role": "zoo",'
             else
                write (u, '(3a)') '         "role": "', trim(merge('best baseline', 'baseline     ', m == best)), '",'
             end if
             write (u, '(a)') '         "runs": ['
             do j = 1, size(runs, 2)
                write (u, '(a, i0, 5a, i0, a, i0, 3a, i0, 3a)') '           {"draw": ', j, &
                     ', "coef_error": ', number(runs(m, j, k, i)%coef_error), &
                     ', "forecast_error": ', number(runs(m, j, k, i)%forecast), &
                     ', "terms": ', runs(m, j, k, i)%found, ', "false_terms": ', runs(m, j, k, i)%false_terms, &
                     ', "exact": ', boolean(runs(m, j, k, i)%exact), ', "evaluations": ', runs(m, j, k, i)%evaluations, &
                     ', "chosen": "', trim(runs(m, j, k, i)%chosen), '"}' // trim(merge(',', ' ', j < size(runs, 2)))
             end do
             write (u, '(a)') '         ]}' // trim(merge(',', ' ', m < NMETHODS .or. k < size(noises)))
          end do
       end do
       write (u, '(a)') '      ]'
       write (u, '(a)') '    }' // trim(merge(',', ' ', i < size(dts)))
    end do
    write (u, '(a)') '  ]'
    write (u, '(a)') '}'
    close (u)
  contains
    function boolean(b) result(text)
      logical, intent(in) :: b
      character(len=:), allocatable :: text
      text = trim(merge('true ', 'false', b))
    end function boolean

    function number(x) result(text)
      real(c_double), intent(in) :: x
      character(len=:), allocatable :: text
      character(len=32) :: buffer
      if (.not. ieee_is_finite(x)) then
         text = 'null'
      else
         write (buffer, '(es22.15e3)') x
         text = trim(adjustl(buffer))
      end if
    end function number
  end subroutine write_results

  function median(x) result(m)
    real(c_double), intent(in) :: x(:)
    real(c_double) :: m
    real(c_double) :: y(size(x)), t
    integer :: i, j, n
    y = x
    n = size(y)
    do i = 2, n
       t = y(i)
       j = i - 1
       do while (j >= 1)
          if (y(j) <= t) exit
          y(j + 1) = y(j)
          j = j - 1
       end do
       y(j + 1) = t
    end do
    m = merge(y((n + 1) / 2), (y(n / 2) + y(n / 2 + 1)) / 2, mod(n, 2) == 1)
  end function median

end module lorenz_report

//! The analysis against functions whose accurate radii are known.

use super::*;

/// Losses along `directions` unit directions of f(t) = along(j, t).
fn scan(along: impl Fn(usize, f64) -> f64, directions: usize) -> MuScan {
    let plus: Vec<Vec<f64>> = (0..directions)
        .map(|j| RADII.iter().map(|&h| along(j, h)).collect())
        .collect();
    let minus: Vec<Vec<f64>> = (0..directions)
        .map(|j| RADII.iter().map(|&h| along(j, -h)).collect())
        .collect();
    analyse(along(0, 0.0), &plus, &minus)
}

#[test]
fn a_smooth_loss_is_accurate_until_its_curvature_scale() {
    // f(t) = 1 + s·t + 50t² + 1000t³: the central slope's error is
    // 1000h²/s, the forward one's about 50h/s. With slopes s = 1…4 the
    // median central error passes 10 % between h = 1e-2 and 3.16e-2.
    let f = |j: usize, t: f64| 1.0 + (1.0 + j as f64) * t + 50.0 * t * t + 1000.0 * t * t * t;
    let s = scan(f, 4);
    assert_eq!(s.accurate_high, 1e-2, "{s:?}");
    assert!(
        s.accurate_low <= 1e-7,
        "roundoff only bites far below: {s:?}"
    );
    // Forward differences turn inaccurate sooner (error 50h/slope).
    assert!(s.forward_radius < s.central_radius, "{s:?}");
    assert!(s.forward_error[RADII.len() - 3] > ACCURATE);
    // Curvature: L'' = 100 along every direction.
    assert!((s.curvature - 100.0).abs() < 1.0, "{s:?}");
    assert!(s.noise < 1e-12, "{s:?}");
}

#[test]
fn jumps_set_the_lower_end_and_the_noise_floor() {
    // A smooth loss plus a deterministic staircase of height 1e-6 (an
    // adaptive solver's step count changing): steps every 1e-7 in t.
    let f = |j: usize, t: f64| {
        let steps = ((t + 3e-8 * j as f64) / 1e-7).floor();
        1.0 + 2.0 * t + 1e-6 * steps * if (steps as i64) % 2 == 0 { 1.0 } else { -0.5 }
    };
    let s = scan(f, 4);
    // Slope error from a jump of 1e-6 is about 1e-6/(2h·2): over 10 %
    // below h ≈ 2.5e-6.
    assert!(s.accurate_low >= 1e-6 && s.accurate_low <= 3.2e-5, "{s:?}");
    assert!(
        s.accurate_high == 0.1,
        "a linear trend is exact at any radius: {s:?}"
    );
    assert!(s.central_radius > 1e-5 && s.central_radius < 1e-2, "{s:?}");
    assert!(s.noise > 1e-7, "the staircase shows as noise: {s:?}");
}

#[test]
fn non_finite_losses_and_no_accurate_radius_are_reported() {
    // Pure noise: no radius gives a stable slope; the recommendation is the
    // radius of least error and the accurate range is NaN.
    let noisy = |j: usize, t: f64| ((t * 1e9 + j as f64).sin() * 1e4).fract();
    let s = scan(noisy, 3);
    if s.accurate_low.is_nan() {
        assert!(s.accurate_high.is_nan());
        assert!(RADII.contains(&s.central_radius));
    }
    // A blow-up beyond 1e-2 along every direction: those radii are
    // infinite error, the rest unaffected.
    let blows = |_: usize, t: f64| if t.abs() > 1e-2 { f64::NAN } else { 3.0 * t };
    let s = scan(blows, 2);
    assert_eq!(s.central_error[RADII.len() - 1], f64::INFINITY);
    assert!(s.central_error[5] <= ACCURATE);
    assert_eq!(s.accurate_high, 1e-2);
}

#[test]
fn a_quantized_loss_is_not_accurate_where_it_does_not_move() {
    // f(t) = c + s·t rounded to 6 decimals (c off the grid): radii below
    // a few quanta see no change or one quantum; the slope is right only
    // where 2sh spans several quanta.
    let f = |j: usize, t: f64| ((1.00000037 + (1.0 + 0.1 * j as f64) * t) * 1e6).round() / 1e6;
    let s = scan(f, 4);
    assert!(s.accurate_low >= 3e-6, "{s:?}");
    assert!(s.central_error[..6].iter().all(|&e| e >= 0.1), "{s:?}");
    assert_eq!(s.accurate_high, 0.1);
    assert!(s.noise >= 1e-7, "{s:?}");
}

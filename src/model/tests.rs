use super::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn random_vec(rng: &mut ChaCha8Rng, n: usize) -> Vec<f64> {
    (0..n).map(|_| rng.random_range(-1.0..1.0)).collect()
}

/// `Σ gy · y(θ, x)`, whose gradients are exactly the VJPs.
fn projected_output(model: &Model, params: &[f64], x: &[f64], n: usize, gy: &[f64]) -> f64 {
    let mut y = vec![0.0; gy.len()];
    model
        .network()
        .forward_batch(params, x, n, &mut y, &mut Workspace::new())
        .unwrap();
    y.iter().zip(gy).map(|(a, b)| a * b).sum()
}

fn relative_error(a: &[f64], b: &[f64]) -> f64 {
    let diff: f64 = a
        .iter()
        .zip(b)
        .map(|(x, y)| (x - y) * (x - y))
        .sum::<f64>()
        .sqrt();
    let norm: f64 = b.iter().map(|x| x * x).sum::<f64>().sqrt();
    diff / norm.max(1e-300)
}

#[test]
fn vjp_matches_central_finite_differences_for_every_activation() {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let h = 1e-5;
    for act in Activation::ALL {
        let network = Network::mlp(&[3, 5, 4, 2], act, act).unwrap();
        let mut model = Model::new(network, Init::Xavier, 3).unwrap();
        let mut with_bias = model.params().to_vec();
        for b in with_bias.iter_mut().filter(|p| **p == 0.0) {
            *b = rng.random_range(-0.5..0.5); // non-zero biases exercise more of the graph
        }
        model.set_params(&with_bias).unwrap();
        let n = 4;
        let x = random_vec(&mut rng, n * 3);
        let gy = random_vec(&mut rng, n * 2);
        let mut grad = vec![0.0; model.num_params()];
        let mut grad_x = vec![0.0; x.len()];
        model
            .vjp(
                &x,
                n,
                &gy,
                &mut grad,
                Some(&mut grad_x),
                &mut Workspace::new(),
            )
            .unwrap();

        let theta = model.params().to_vec();
        let fd_params: Vec<f64> = (0..theta.len())
            .map(|i| {
                let (mut up, mut down) = (theta.clone(), theta.clone());
                up[i] += h;
                down[i] -= h;
                (projected_output(&model, &up, &x, n, &gy)
                    - projected_output(&model, &down, &x, n, &gy))
                    / (2.0 * h)
            })
            .collect();
        let fd_inputs: Vec<f64> = (0..x.len())
            .map(|i| {
                let (mut up, mut down) = (x.clone(), x.clone());
                up[i] += h;
                down[i] -= h;
                (projected_output(&model, &theta, &up, n, &gy)
                    - projected_output(&model, &theta, &down, n, &gy))
                    / (2.0 * h)
            })
            .collect();
        let (ep, ex) = (
            relative_error(&grad, &fd_params),
            relative_error(&grad_x, &fd_inputs),
        );
        assert!(ep < 1e-6, "{act:?}: parameter VJP relative error {ep}");
        assert!(ex < 1e-6, "{act:?}: input VJP relative error {ex}");
    }
}

#[test]
fn batch_forward_equals_row_by_row_forward() {
    let model = Model::mlp(&[3, 7, 2], Activation::Gelu, 9).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let n = 5;
    let x = random_vec(&mut rng, n * 3);
    let mut batch = vec![0.0; n * 2];
    let mut ws = Workspace::new();
    model.forward_batch(&x, n, &mut batch, &mut ws).unwrap();
    for r in 0..n {
        let mut y = [0.0; 2];
        model
            .forward(&x[r * 3..r * 3 + 3], &mut y, &mut ws)
            .unwrap();
        assert_eq!(&y[..], &batch[r * 2..r * 2 + 2]);
    }
}

#[test]
fn forward_matches_a_hand_computed_network() {
    let mut model = Model::mlp(&[2, 2, 1], Activation::Tanh, 0).unwrap();
    // W1 = [[1, 2], [3, 4]], b1 = [0.5, -0.5], W2 = [[1, -1]], b2 = [0.25]
    model
        .set_params(&[1.0, 2.0, 3.0, 4.0, 0.5, -0.5, 1.0, -1.0, 0.25])
        .unwrap();
    let x = [0.1, -0.2];
    let h = [(0.1f64 - 0.4 + 0.5).tanh(), (0.3f64 - 0.8 - 0.5).tanh()];
    let mut y = [0.0];
    model.forward(&x, &mut y, &mut Workspace::new()).unwrap();
    assert!((y[0] - (h[0] - h[1] + 0.25)).abs() < 1e-15);
}

#[test]
fn masked_coordinates_are_zero_and_get_no_gradient() {
    let mut model = Model::mlp(&[3, 4, 1], Activation::Tanh, 5).unwrap();
    let d = model.num_params();
    let mask: Vec<bool> = (0..d).map(|i| i % 3 != 0).collect();
    model.set_mask(&mask).unwrap();
    assert_eq!(model.num_active(), mask.iter().filter(|m| **m).count());
    assert!(model.active().iter().all(|&i| mask[i]));
    for i in (0..d).filter(|i| !mask[*i]) {
        assert_eq!(model.params()[i], 0.0);
    }
    let mut grad = vec![1.0; d];
    model
        .vjp(
            &[0.3, 0.1, -0.2],
            1,
            &[1.0],
            &mut grad,
            None,
            &mut Workspace::new(),
        )
        .unwrap();
    for i in (0..d).filter(|i| !mask[*i]) {
        assert_eq!(grad[i], 0.0);
    }
    assert!(grad.iter().any(|g| *g != 0.0));

    let mut bad = model.params().to_vec();
    bad[0] = 1.0; // coordinate 0 is masked
    let before = model.clone();
    let err = model.set_params(&bad).unwrap_err().to_string();
    assert!(
        err.contains("parameter 0") && err.contains("masked"),
        "{err}"
    );
    assert_eq!(model, before);
}

#[test]
fn bad_sizes_and_values_are_named_and_change_nothing() {
    let mut model = Model::mlp(&[2, 3, 1], Activation::Relu, 1).unwrap();
    let before = model.clone();
    let err = model.set_params(&[0.0; 3]).unwrap_err();
    assert_eq!(
        err,
        ZooError::BadSize {
            what: "parameters",
            expected: 13,
            got: 3
        }
    );
    let mut nan = model.params().to_vec();
    nan[4] = f64::NAN;
    assert!(model
        .set_params(&nan)
        .unwrap_err()
        .to_string()
        .contains("parameter 4"));
    let mut y = [0.0; 2];
    assert!(matches!(
        model.forward(&[1.0, 2.0], &mut y, &mut Workspace::new()),
        Err(ZooError::BadSize {
            expected: 1,
            got: 2,
            ..
        })
    ));
    assert_eq!(model, before);
    assert!(Network::mlp(&[3], Activation::Tanh, Activation::Identity).is_err());
    assert!(Network::mlp(&[3, 0, 1], Activation::Tanh, Activation::Identity).is_err());
}

#[test]
fn initialisation_is_seeded_and_scaled() {
    let a = Model::mlp(&[64, 64, 1], Activation::Relu, 11).unwrap();
    let b = Model::mlp(&[64, 64, 1], Activation::Relu, 11).unwrap();
    let c = Model::mlp(&[64, 64, 1], Activation::Relu, 12).unwrap();
    assert_eq!(a.params(), b.params());
    assert_ne!(a.params(), c.params());
    // He normal on the first layer: variance 2/fan_in = 1/32 over 4096 draws.
    let w = &a.params()[..64 * 64];
    let var = w.iter().map(|v| v * v).sum::<f64>() / w.len() as f64;
    assert!(
        (var - 2.0 / 64.0).abs() < 0.1 * 2.0 / 64.0,
        "variance {var}"
    );
    // Xavier uniform for tanh: |w| ≤ √(6/(fan_in+fan_out)).
    let t = Model::mlp(&[64, 64, 1], Activation::Tanh, 11).unwrap();
    let limit = (6.0f64 / 128.0).sqrt();
    assert!(t.params()[..64 * 64].iter().all(|w| w.abs() <= limit));
    assert!(t.params()[64 * 64..64 * 64 + 64].iter().all(|b| *b == 0.0));
}

#[test]
fn sparse_forward_matches_dense_forward() {
    use crate::prune::{Method, Scope};
    let mut model = Model::mlp(&[12, 40, 30, 2], Activation::Tanh, 8).unwrap();
    for (sparsity, sparse_layers) in [(0.3, [false, false, false]), (0.95, [true, true, true])] {
        let mut pruned = model.clone();
        pruned
            .prune(Method::Magnitude(Scope::LayerWise), sparsity)
            .unwrap();
        let flags: Vec<bool> = (0..3).map(|l| pruned.network().is_sparse(l)).collect();
        assert_eq!(flags, sparse_layers, "sparsity {sparsity}");
        let dense = Network::mlp(&[12, 40, 30, 2], Activation::Tanh, Activation::Identity).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let x = random_vec(&mut rng, 5 * 12);
        let (mut ys, mut yd) = (vec![0.0; 10], vec![0.0; 10]);
        pruned
            .forward_batch(&x, 5, &mut ys, &mut Workspace::new())
            .unwrap();
        dense
            .forward_batch(pruned.params(), &x, 5, &mut yd, &mut Workspace::new())
            .unwrap();
        assert_eq!(
            ys, yd,
            "skipping zero weights changes nothing at sparsity {sparsity}"
        );
    }
    model.set_mask(&vec![true; model.num_params()]).unwrap();
    assert!(!model.network().is_sparse(0));
}

#[test]
fn polynomial_models_compute_their_equations_and_exact_gradients() {
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    let mut model = Model::polynomial(3, 2, 2, 7).unwrap();
    assert_eq!(model.network().num_inputs(), 3);
    assert_eq!(model.num_params(), 2 * 9 + 2);
    let mut theta = random_vec(&mut rng, model.num_params());
    model.set_params(&theta).unwrap();
    // By hand: y_o = Σ_j W[o][j]·m_j(x) + b_o with m = x, y, z, x², xy, xz, y², yz, z².
    let x = [0.5, -1.5, 2.0];
    let m = [0.5, -1.5, 2.0, 0.25, -0.75, 1.0, 2.25, -3.0, 4.0];
    let mut y = [0.0; 2];
    model.forward(&x, &mut y, &mut Workspace::new()).unwrap();
    for o in 0..2 {
        let expected: f64 = (0..9).map(|j| theta[o * 9 + j] * m[j]).sum::<f64>() + theta[18 + o];
        assert!((y[o] - expected).abs() < 1e-14);
    }
    // VJP against central differences, parameters and inputs.
    let (n, h) = (3, 1e-5);
    let xs = random_vec(&mut rng, n * 3);
    let gy = random_vec(&mut rng, n * 2);
    let mut grad = vec![0.0; theta.len()];
    let mut grad_x = vec![0.0; xs.len()];
    model
        .vjp(
            &xs,
            n,
            &gy,
            &mut grad,
            Some(&mut grad_x),
            &mut Workspace::new(),
        )
        .unwrap();
    let fd = |i: usize, inputs: bool| {
        let (mut up, mut down) = if inputs {
            (xs.clone(), xs.clone())
        } else {
            (theta.clone(), theta.clone())
        };
        up[i] += h;
        down[i] -= h;
        if inputs {
            (projected_output(&model, &theta, &up, n, &gy)
                - projected_output(&model, &theta, &down, n, &gy))
                / (2.0 * h)
        } else {
            (projected_output(&model, &up, &xs, n, &gy)
                - projected_output(&model, &down, &xs, n, &gy))
                / (2.0 * h)
        }
    };
    let fd_params: Vec<f64> = (0..theta.len()).map(|i| fd(i, false)).collect();
    let fd_inputs: Vec<f64> = (0..xs.len()).map(|i| fd(i, true)).collect();
    assert!(relative_error(&grad, &fd_params) < 1e-8);
    assert!(relative_error(&grad_x, &fd_inputs) < 1e-7);
    // Thresholding prunes the small coefficients, biases included.
    theta[3] = 0.01;
    theta[19] = -0.02;
    model.set_params(&theta).unwrap();
    let small = theta.iter().filter(|v| v.abs() < 0.05).count();
    assert_eq!(model.threshold(0.05, true).unwrap(), small);
    assert!(!model.mask()[3] && !model.mask()[19]);
    assert_eq!(model.params()[3], 0.0);
    assert!(model.threshold(1e9, true).is_err(), "nothing would be left");
    assert_eq!(model.num_active(), theta.len() - small);
}

//! Polynomial features: every monomial of the inputs of degree 1 to p, the
//! library of a SINDy-style model. Followed by a linear layer, the
//! layer's weights are the coefficients of an equation (its bias is the
//! constant term), and pruning them is sparse regression.
//!
//! Order: by degree, then lexicographically by the (sorted) list of input
//! indices: for inputs (x, y, z) and p = 2, `x, y, z, x², xy, xz, y², yz,
//! z²`.

use crate::error::{Result, ZooError};

/// Most monomials a feature layer may have.
const MAX_FEATURES: usize = 100_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Polynomial {
    inputs: usize,
    degree: usize,
    /// Input indices of every monomial, concatenated (a monomial of
    /// degree k takes k entries).
    factors: Vec<usize>,
    /// Where each monomial's factors start in `factors`; one more entry
    /// than monomials.
    starts: Vec<usize>,
}

/// The highest degree: monomials are built by a recursion as deep as the
/// degree (a host thread's stack must hold it), and useful libraries stop
/// at a few.
pub(crate) const MAX_DEGREE: usize = 1000;

impl Polynomial {
    /// All monomials of `inputs` variables with degree 1..=`degree`.
    pub fn new(inputs: usize, degree: usize) -> Result<Self> {
        if inputs == 0 || degree == 0 || degree > MAX_DEGREE {
            return Err(ZooError::InvalidArgument(format!(
                "polynomial features need inputs ≥ 1 and degree in [1, {}], got {inputs} inputs and degree {degree}",
                MAX_DEGREE
            )));
        }
        let mut poly = Self {
            inputs,
            degree,
            factors: Vec::new(),
            starts: vec![0],
        };
        let mut current = Vec::with_capacity(degree);
        for k in 1..=degree {
            poly.push_monomials(k, 0, &mut current)?;
        }
        Ok(poly)
    }

    /// Appends every sorted index list of length `k` extending `current`
    /// with indices ≥ `from`.
    fn push_monomials(&mut self, k: usize, from: usize, current: &mut Vec<usize>) -> Result<()> {
        if current.len() == k {
            if self.len() == MAX_FEATURES {
                return Err(ZooError::InvalidArgument(format!(
                    "{} inputs to degree {} give more than {MAX_FEATURES} monomials",
                    self.inputs, self.degree
                )));
            }
            self.factors.extend_from_slice(current);
            self.starts.push(self.factors.len());
            return Ok(());
        }
        for i in from..self.inputs {
            current.push(i);
            self.push_monomials(k, i, current)?;
            current.pop();
        }
        Ok(())
    }

    /// Number of monomials (the width of the feature layer).
    pub fn len(&self) -> usize {
        self.starts.len() - 1
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn inputs(&self) -> usize {
        self.inputs
    }

    pub fn degree(&self) -> usize {
        self.degree
    }

    /// The input indices of monomial `j` (x·x·y is [0, 0, 1]).
    pub fn factors(&self, j: usize) -> &[usize] {
        &self.factors[self.starts[j]..self.starts[j + 1]]
    }

    /// Readable names of the monomials, e.g. "x*z" or "y^2", from the
    /// names of the inputs.
    pub fn names(&self, variables: &[&str]) -> Vec<String> {
        (0..self.len())
            .map(|j| {
                let f = self.factors(j);
                let mut parts = Vec::new();
                let mut i = 0;
                while i < f.len() {
                    let run = f[i..].iter().take_while(|&&v| v == f[i]).count();
                    let name = variables.get(f[i]).copied().unwrap_or("?");
                    parts.push(if run == 1 {
                        name.to_string()
                    } else {
                        format!("{name}^{run}")
                    });
                    i += run;
                }
                parts.join("*")
            })
            .collect()
    }

    /// The features of `n` rows of `x` (n × inputs) into `out` (n × len).
    pub fn expand(&self, x: &[f64], n: usize, out: &mut [f64]) {
        let m = self.len();
        for (row, features) in x
            .chunks_exact(self.inputs)
            .zip(out.chunks_exact_mut(m))
            .take(n)
        {
            for (j, feature) in features.iter_mut().enumerate() {
                *feature = self.factors(j).iter().map(|&i| row[i]).product();
            }
        }
    }

    /// Chain rule: from ∂L/∂features (n × len) to ∂L/∂x (n × inputs).
    pub fn backprop(&self, x: &[f64], n: usize, grad_features: &[f64], grad_x: &mut [f64]) {
        let m = self.len();
        grad_x[..n * self.inputs].fill(0.0);
        for r in 0..n {
            let row = &x[r * self.inputs..(r + 1) * self.inputs];
            let gx = &mut grad_x[r * self.inputs..(r + 1) * self.inputs];
            for j in 0..m {
                let g = grad_features[r * m + j];
                let f = self.factors(j);
                // ∂(Π x_f)/∂x_{f[p]} summed over positions p: the product
                // of the other factors, for each position.
                for p in 0..f.len() {
                    let others: f64 = f
                        .iter()
                        .enumerate()
                        .filter(|&(q, _)| q != p)
                        .map(|(_, &i)| row[i])
                        .product();
                    gx[f[p]] += g * others;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn monomials_come_in_graded_lexicographic_order() {
        let p = Polynomial::new(3, 2).unwrap();
        assert_eq!(
            p.names(&["x", "y", "z"]),
            ["x", "y", "z", "x^2", "x*y", "x*z", "y^2", "y*z", "z^2"]
        );
        // C(n + p, p) − 1 monomials.
        assert_eq!(Polynomial::new(3, 3).unwrap().len(), 19);
        assert_eq!(Polynomial::new(5, 4).unwrap().len(), 125);
        let mut out = [0.0; 9];
        p.expand(&[2.0, -1.0, 3.0], 1, &mut out);
        assert_eq!(out, [2.0, -1.0, 3.0, 4.0, -2.0, 6.0, 1.0, -3.0, 9.0]);
        assert!(Polynomial::new(0, 2).is_err() && Polynomial::new(3, 0).is_err());
        assert!(Polynomial::new(100, 5)
            .unwrap_err()
            .to_string()
            .contains("monomials"));
    }

    #[test]
    fn backprop_matches_finite_differences() {
        let p = Polynomial::new(3, 3).unwrap();
        let x = [0.7, -1.3, 0.4, 1.1, 0.2, -0.6];
        let g: Vec<f64> = (0..2 * p.len())
            .map(|j| ((j * 7 % 5) as f64 - 2.0) * 0.3)
            .collect();
        let loss = |x: &[f64]| {
            let mut f = vec![0.0; 2 * p.len()];
            p.expand(x, 2, &mut f);
            f.iter().zip(&g).map(|(a, b)| a * b).sum::<f64>()
        };
        let mut grad = [0.0; 6];
        p.backprop(&x, 2, &g, &mut grad);
        for i in 0..6 {
            let (mut plus, mut minus) = (x, x);
            plus[i] += 1e-6;
            minus[i] -= 1e-6;
            let fd = (loss(&plus) - loss(&minus)) / 2e-6;
            assert!(
                (fd - grad[i]).abs() < 1e-7 * (1.0 + fd.abs()),
                "{i}: {fd} vs {}",
                grad[i]
            );
        }
    }
}

//! Element-wise activations and their derivatives.
//!
//! Derivatives are written in terms of the pre-activation `z` and the
//! output `a = f(z)` so that backward passes reuse what forward stored.
//!
//! The curved activations come from [`fastmath`]: within
//! 3 ulp of libm, and the same bits whether a value goes through
//! [`Activation::apply`] or, vectorized, through
//! [`Activation::apply_slice`] (the backward pass and feature reuse
//! recompute single values and must match the batched forward).

use super::fastmath;
use crate::error::{Result, ZooError};

/// The activation applied after a dense layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activation {
    Identity,
    Tanh,
    Relu,
    Sigmoid,
    /// `ln(1 + e^z)`, computed without overflow.
    Softplus,
    /// GELU in its tanh form: `z/2 · (1 + tanh(√(2/π)(z + 0.044715 z³)))`.
    Gelu,
}

impl Activation {
    /// Every activation.
    pub const ALL: [Activation; 6] = [
        Self::Identity,
        Self::Tanh,
        Self::Relu,
        Self::Sigmoid,
        Self::Softplus,
        Self::Gelu,
    ];

    /// Every accepted name, in the order used by error messages.
    pub const NAMES: &'static str = "identity | tanh | relu | sigmoid | softplus | gelu";

    /// Parses a name such as `"tanh"`.
    pub fn parse(name: &str) -> Result<Self> {
        Ok(match name {
            "identity" | "linear" => Self::Identity,
            "tanh" => Self::Tanh,
            "relu" => Self::Relu,
            "sigmoid" => Self::Sigmoid,
            "softplus" => Self::Softplus,
            "gelu" => Self::Gelu,
            _ => {
                return Err(ZooError::InvalidOption {
                    key: "activation".into(),
                    value: name.into(),
                    accepted: Self::NAMES.into(),
                })
            }
        })
    }

    /// The canonical name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Identity => "identity",
            Self::Tanh => "tanh",
            Self::Relu => "relu",
            Self::Sigmoid => "sigmoid",
            Self::Softplus => "softplus",
            Self::Gelu => "gelu",
        }
    }

    /// `f(z)`.
    #[inline]
    pub fn apply(self, z: f64) -> f64 {
        match self {
            Self::Identity => z,
            Self::Tanh => fastmath::tanh(z),
            Self::Relu => z.max(0.0),
            Self::Sigmoid => fastmath::sigmoid(z),
            Self::Softplus => fastmath::softplus(z),
            Self::Gelu => fastmath::gelu(z),
        }
    }

    /// Applies `f` in place to a slice; each value gets the bits
    /// [`apply`](Self::apply) gives it.
    pub fn apply_slice(self, values: &mut [f64]) {
        match self {
            Self::Identity => {}
            Self::Tanh => fastmath::map_slice::<fastmath::Tanh>(values),
            Self::Relu => values.iter_mut().for_each(|v| *v = v.max(0.0)),
            Self::Sigmoid => fastmath::map_slice::<fastmath::Sigmoid>(values),
            Self::Softplus => fastmath::map_slice::<fastmath::Softplus>(values),
            Self::Gelu => fastmath::map_slice::<fastmath::Gelu>(values),
        }
    }

    /// `f'(z)`, given `z` and `a = f(z)`.
    #[inline]
    pub fn derivative(self, z: f64, a: f64) -> f64 {
        match self {
            Self::Identity => 1.0,
            Self::Tanh => 1.0 - a * a,
            Self::Relu => {
                if z > 0.0 {
                    1.0
                } else {
                    0.0
                }
            }
            Self::Sigmoid => a * (1.0 - a),
            Self::Softplus => fastmath::sigmoid(z),
            Self::Gelu => fastmath::gelu_derivative(z),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derivatives_match_central_differences() {
        let h = 1e-6;
        for act in Activation::ALL {
            for &z in &[-3.1, -0.7, 0.3, 1.9, 25.0, -25.0] {
                let fd = (act.apply(z + h) - act.apply(z - h)) / (2.0 * h);
                let exact = act.derivative(z, act.apply(z));
                assert!(
                    (fd - exact).abs() < 1e-8,
                    "{act:?} at {z}: fd {fd} exact {exact}"
                );
            }
        }
    }

    /// Backward passes and feature reuse call `apply` on single values and
    /// compare with the forward's `apply_slice`: the bits must agree for
    /// every slice length, offset and position.
    #[test]
    fn apply_and_apply_slice_give_the_same_bits() {
        let mut state = 7u64;
        let mut pool: Vec<f64> = (0..300)
            .map(|_| {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1);
                ((state >> 11) as f64 / (1u64 << 53) as f64 - 0.5) * 50.0
            })
            .collect();
        pool.extend([0.0, -0.0, 1e-310, -1e-310, 1e300, -1e300, f64::INFINITY]);
        pool.extend([f64::NEG_INFINITY, f64::NAN, 19.06, -19.06, 0.55, -0.55]);
        for act in Activation::ALL {
            for len in 1..=67 {
                for offset in 0..9 {
                    let start = (len * 31 + offset * 7) % (pool.len() - len);
                    let mut buf = vec![0.0; offset + len];
                    buf[offset..].copy_from_slice(&pool[start..start + len]);
                    act.apply_slice(&mut buf[offset..]);
                    for (i, y) in buf[offset..].iter().enumerate() {
                        let z = pool[start + i];
                        assert_eq!(
                            y.to_bits(),
                            act.apply(z).to_bits(),
                            "{act:?}({z:e}), length {len}, offset {offset}, position {i}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn softplus_and_sigmoid_do_not_overflow() {
        assert_eq!(Activation::Softplus.apply(1000.0), 1000.0);
        assert_eq!(Activation::Softplus.apply(-1000.0), 0.0);
        assert_eq!(Activation::Sigmoid.apply(-1000.0), 0.0);
    }

    #[test]
    fn names_round_trip_and_bad_names_are_named() {
        for act in Activation::ALL {
            assert_eq!(Activation::parse(act.name()).unwrap(), act);
        }
        let err = Activation::parse("swish").unwrap_err().to_string();
        assert!(err.contains("swish") && err.contains("gelu"), "{err}");
    }
}

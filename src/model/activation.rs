//! Element-wise activations and their derivatives.
//!
//! Derivatives are written in terms of the pre-activation `z` and the
//! output `a = f(z)` so that backward passes reuse what forward stored.

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

const GELU_SCALE: f64 = 0.797_884_560_802_865_4; // √(2/π)
const GELU_CUBIC: f64 = 0.044_715;

fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
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
            Self::Tanh => z.tanh(),
            Self::Relu => z.max(0.0),
            Self::Sigmoid => sigmoid(z),
            Self::Softplus => z.max(0.0) + (-z.abs()).exp().ln_1p(),
            Self::Gelu => 0.5 * z * (1.0 + (GELU_SCALE * (z + GELU_CUBIC * z * z * z)).tanh()),
        }
    }

    /// Applies `f` in place to a slice.
    #[inline]
    pub fn apply_slice(self, values: &mut [f64]) {
        if self != Self::Identity {
            for v in values {
                *v = self.apply(*v);
            }
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
            Self::Softplus => sigmoid(z),
            Self::Gelu => {
                let t = (GELU_SCALE * (z + GELU_CUBIC * z * z * z)).tanh();
                0.5 * (1.0 + t)
                    + 0.5 * z * (1.0 - t * t) * GELU_SCALE * (1.0 + 3.0 * GELU_CUBIC * z * z)
            }
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

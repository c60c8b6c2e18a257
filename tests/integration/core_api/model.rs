//! rl-core: `model.rs`, from outside the crate.

#![allow(unused_imports)]
use super::read_f32;
use burn::backend::{Autodiff, NdArray};
use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::{
    Bool, Int, Tensor,
    backend::{AutodiffBackend, Backend},
};
use rand::Rng;
use rl_core::*;
use rl_core::{CoreError, Distribution, Observation, Result};

type B = NdArray<f32>;

fn dev() -> burn::tensor::ops::Device<B> {
    Default::default()
}

fn floats(t: Tensor<B, 2>) -> Vec<f32> {
    read_f32(t, "test").unwrap()
}

fn rows(n: usize, x: usize, offset: f32) -> Tensor<B, 2> {
    let v: Vec<f32> = (0..n * x).map(|i| i as f32 + offset).collect();
    Tensor::<B, 1>::from_floats(v.as_slice(), &dev()).reshape([n, x])
}

fn state(n: usize, offset: f32) -> RecurrentState<B> {
    RecurrentState::new(vec![rows(n, 2, offset), rows(n, 1, offset + 100.0)])
}

#[test]
fn batch_ops_apply_to_every_tensor() {
    let s = state(3, 0.0);
    assert_eq!(s.batch_size(), 3);
    assert_eq!(RecurrentState::<B>::new(vec![]).batch_size(), 0);
    let picked = s.select(Tensor::<B, 1, Int>::from_ints([2, 0], &dev()));
    assert_eq!(floats(picked.tensors[0].clone()), vec![4.0, 5.0, 0.0, 1.0]);
    assert_eq!(floats(picked.tensors[1].clone()), vec![102.0, 100.0]);
    let sliced = s.slice_rows(1..9);
    assert_eq!(sliced.batch_size(), 2);
    assert_eq!(floats(sliced.tensors[1].clone()), vec![101.0, 102.0]);
    let joined = RecurrentState::cat(vec![s.slice_rows(2..3), s.slice_rows(0..2)]).unwrap();
    assert_eq!(floats(joined.tensors[1].clone()), vec![102.0, 100.0, 101.0]);
}

#[test]
fn cat_checks_layout() {
    let s = state(2, 0.0);
    let other = RecurrentState::new(vec![rows(2, 2, 0.0)]);
    assert!(matches!(
        RecurrentState::cat(vec![s.clone(), other]),
        Err(CoreError::Shape { .. })
    ));
    let wide = RecurrentState::new(vec![rows(2, 3, 0.0), rows(2, 1, 0.0)]);
    assert!(RecurrentState::cat(vec![s, wide]).is_err());
    assert!(RecurrentState::<B>::cat(vec![]).is_err());
}

#[test]
fn reset_rows_takes_init_rows() {
    let s = state(3, 0.0);
    let reset = Tensor::<B, 1, Bool>::from_bool([false, true, false].into(), &dev());
    let init = state(3, 50.0);
    let out = s.reset_rows(reset.clone(), &init).unwrap();
    assert_eq!(
        floats(out.tensors[0].clone()),
        vec![0.0, 1.0, 52.0, 53.0, 4.0, 5.0]
    );
    assert_eq!(floats(out.tensors[1].clone()), vec![100.0, 151.0, 102.0]);

    // A single init row is used for every reset row.
    let zeros = RecurrentState::new(vec![
        Tensor::<B, 2>::zeros([1, 2], &dev()),
        Tensor::<B, 2>::zeros([1, 1], &dev()),
    ]);
    let all = Tensor::<B, 1, Bool>::from_bool([true, false, true].into(), &dev());
    let out = s.reset_rows(all, &zeros).unwrap();
    assert_eq!(
        floats(out.tensors[0].clone()),
        vec![0.0, 0.0, 2.0, 3.0, 0.0, 0.0]
    );

    assert!(matches!(
        s.reset_rows(
            Tensor::<B, 1, Bool>::from_bool([true].into(), &dev()),
            &init
        ),
        Err(CoreError::Shape { .. })
    ));
    assert!(s.reset_rows(reset.clone(), &state(2, 0.0)).is_err());
    let narrow = RecurrentState::new(vec![rows(3, 2, 0.0)]);
    assert!(s.reset_rows(reset, &narrow).is_err());
}

#[test]
fn autodiff_round_trip_and_detach() {
    type A = Autodiff<B>;
    let s = RecurrentState::<A>::from_inner(state(2, 0.0));
    assert_eq!(floats(s.inner().tensors[1].clone()), vec![100.0, 101.0]);

    let x = s.tensors[0].clone().require_grad();
    let tracked = RecurrentState::new(vec![x.clone() * 2.0]);
    let grads = tracked.tensors[0].clone().sum().backward();
    assert!(x.grad(&grads).is_some());
    let grads = tracked.detach().tensors[0].clone().sum().backward();
    assert!(x.grad(&grads).is_none());
}

/// A distribution that always plays its stored mean: enough to implement the traits.
#[derive(Clone, Debug)]
struct PointMass {
    mean: Tensor<B, 2>,
}

impl Distribution<B> for PointMass {
    fn sample<R: Rng + ?Sized>(&self, _rng: &mut R) -> Action<B> {
        Action::Continuous(self.mean.clone())
    }
    fn mode(&self) -> Action<B> {
        Action::Continuous(self.mean.clone())
    }
    fn log_prob(&self, actions: &Action<B>) -> Result<Tensor<B, 2>> {
        let a = actions.as_continuous()?;
        Ok(a.clone().zeros_like().sum_dim(1))
    }
    fn entropy(&self) -> Tensor<B, 2> {
        self.mean.clone().zeros_like().sum_dim(1)
    }
    fn batch_size(&self) -> usize {
        self.mean.dims()[0]
    }
    fn action_shape(&self) -> ActionShape {
        ActionShape::Continuous {
            dims: self.mean.dims()[1],
        }
    }
}

#[derive(Module, Debug)]
struct TinyModel<B: Backend> {
    policy: Linear<B>,
    value: Linear<B>,
}

impl Model<B> for TinyModel<B> {
    type Dist = PointMass;
    fn forward(&self, obs: &Observation<B>) -> Result<PolicyOutput<B, PointMass>> {
        Ok(PolicyOutput {
            dist: PointMass {
                mean: self.policy.forward(obs.features.clone()),
            },
            values: self.value.forward(obs.features.clone()),
        })
    }
}

#[test]
fn a_model_can_be_implemented() {
    let model = TinyModel::<B> {
        policy: LinearConfig::new(3, 2).init(&dev()),
        value: LinearConfig::new(3, 1).init(&dev()),
    };
    let out = model
        .forward(&Observation::new(Tensor::zeros([5, 3], &dev())))
        .unwrap();
    assert_eq!(out.values.dims(), [5, 1]);
    assert_eq!(out.dist.batch_size(), 5);
    assert_eq!(out.dist.mode().dims(), [5, 2]);
    let lp = out.dist.log_prob(&out.dist.mode()).unwrap();
    assert_eq!(lp.dims(), [5, 1]);
}

//! rl-core: `action.rs`, from outside the crate.

#![allow(unused_imports)]
use burn::backend::{Autodiff, NdArray};
use burn::tensor::{
    Int, Tensor,
    backend::{AutodiffBackend, Backend},
};
use rl_core::*;
use rl_core::{CoreError, Result};

type B = NdArray<f32>;

fn dev() -> burn::tensor::ops::Device<B> {
    Default::default()
}

fn discrete() -> Action<B> {
    Tensor::<B, 2, Int>::from_ints([[0, 1], [2, 3], [4, 5]], &dev()).into()
}

fn continuous() -> Action<B> {
    Tensor::<B, 2>::from_floats([[0.5], [-1.5], [2.5]], &dev()).into()
}

#[test]
fn kinds_and_accessors() {
    let d = discrete();
    let c = continuous();
    assert_eq!(d.kind_name(), "discrete");
    assert_eq!(c.kind_name(), "continuous");
    assert_eq!(d.dims(), [3, 2]);
    assert_eq!(c.batch_size(), 3);
    assert!(d.as_discrete().is_ok());
    assert!(matches!(
        d.as_continuous(),
        Err(CoreError::ActionKind {
            expected: "continuous",
            actual: "discrete"
        })
    ));
    assert!(matches!(
        c.as_discrete(),
        Err(CoreError::ActionKind {
            expected: "discrete",
            actual: "continuous"
        })
    ));
    assert_eq!(d.to_host_discrete().unwrap(), vec![0, 1, 2, 3, 4, 5]);
    assert_eq!(c.to_host_continuous().unwrap(), vec![0.5, -1.5, 2.5]);
    assert!(c.to_host_discrete().is_err());
    assert!(d.to_host_continuous().is_err());
}

#[test]
fn select_slice_cat() {
    let d = discrete();
    let idx = Tensor::<B, 1, Int>::from_ints([2, 0], &dev());
    assert_eq!(d.select(idx).to_host_discrete().unwrap(), vec![4, 5, 0, 1]);
    assert_eq!(
        d.slice_rows(1..7).to_host_discrete().unwrap(),
        vec![2, 3, 4, 5]
    );
    let c = continuous();
    let joined = Action::cat(vec![c.slice_rows(2..3), c.slice_rows(0..2)]).unwrap();
    assert_eq!(joined.to_host_continuous().unwrap(), vec![2.5, 0.5, -1.5]);

    assert!(matches!(
        Action::cat(vec![d.clone(), c]),
        Err(CoreError::ActionKind {
            expected: "discrete",
            actual: "continuous"
        })
    ));
    let narrow: Action<B> = Tensor::<B, 2, Int>::from_ints([[1]], &dev()).into();
    assert!(matches!(
        Action::cat(vec![d, narrow]),
        Err(CoreError::Shape { .. })
    ));
    assert!(Action::<B>::cat(vec![]).is_err());
}

#[test]
fn autodiff_round_trip() {
    type A = Autodiff<B>;
    let ad = Action::<A>::from_inner(discrete());
    assert_eq!(ad.kind_name(), "discrete");
    assert_eq!(
        ad.inner().to_host_discrete().unwrap(),
        vec![0, 1, 2, 3, 4, 5]
    );
    let ad = Action::<A>::from_inner(continuous());
    assert_eq!(ad.to_host_continuous().unwrap(), vec![0.5, -1.5, 2.5]);
}

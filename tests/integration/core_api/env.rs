//! rl-core: `env.rs`, from outside the crate.

#![allow(unused_imports)]
use super::read_bool;
use burn::backend::NdArray;
use burn::tensor::Int;
use burn::tensor::{Bool, Tensor, backend::Backend};
use rl_core::*;
use rl_core::{Action, CoreError, Observation, Result, Space};
use std::collections::BTreeMap;

type B = NdArray<f32>;

fn dev() -> burn::tensor::ops::Device<B> {
    Default::default()
}

fn cont(v: [[f32; 2]; 2]) -> Action<B> {
    Tensor::<B, 2>::from_floats(v, &dev()).into()
}

#[test]
fn check_action_rules() {
    let space = Space::boxed(vec![2], vec![-1.0], vec![1.0]).unwrap();
    assert!(check_action(&space, 2, &cont([[0.0, 1.0], [-1.0, 0.5]])).is_ok());
    assert!(matches!(
        check_action(&space, 3, &cont([[0.0, 1.0], [-1.0, 0.5]])),
        Err(CoreError::Shape { actual, .. }) if actual == vec![2, 2]
    ));
    match check_action(&space, 2, &cont([[0.0, 1.0], [-1.0, 1.5]])) {
        Err(CoreError::Space { reason, .. }) => assert!(reason.contains("row 1")),
        other => panic!("unexpected {other:?}"),
    }
    assert!(matches!(
        check_action(&space, 2, &cont([[0.0, 1.0], [f32::NAN, 0.0]])),
        Err(CoreError::NonFinite { index: 1, .. })
    ));
    let unbounded = Space::unbounded(vec![2]).unwrap();
    assert!(matches!(
        check_action(&unbounded, 2, &cont([[f32::INFINITY, 1.0], [0.0, 0.0]])),
        Err(CoreError::NonFinite { index: 0, .. })
    ));
    let ints: Action<B> = Tensor::<B, 2, Int>::from_ints([[0, 0], [0, 0]], &dev()).into();
    assert!(matches!(
        check_action(&space, 2, &ints),
        Err(CoreError::ActionKind {
            expected: "continuous",
            actual: "discrete"
        })
    ));
    let md = Space::multi_discrete(vec![2, 3]).unwrap();
    assert!(check_action(&md, 2, &ints).is_ok());
    assert!(matches!(
        check_action(&md, 2, &cont([[0.0, 0.0], [0.0, 0.0]])),
        Err(CoreError::ActionKind { .. })
    ));
}

#[test]
fn done_is_terminated_or_truncated() {
    let flags = |v: [bool; 3]| Tensor::<B, 1, Bool>::from_bool(v.into(), &dev());
    let t = Transition {
        obs: Observation::new(Tensor::<B, 2>::zeros([3, 1], &dev())),
        reward: Tensor::<B, 1>::zeros([3], &dev()),
        terminated: flags([true, false, false]),
        truncated: flags([false, false, true]),
        final_obs: None,
    };
    assert_eq!(
        read_bool(t.done(), "done").unwrap(),
        vec![true, false, true]
    );
}

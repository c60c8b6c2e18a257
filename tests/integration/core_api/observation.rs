//! rl-core: `observation.rs`, from outside the crate.

#![allow(unused_imports)]
use super::{read_bool, read_f32};
use burn::backend::{Autodiff, NdArray};
use burn::tensor::{
    Bool, Int, Tensor,
    backend::{AutodiffBackend, Backend},
};
use rl_core::*;
use rl_core::{CoreError, Result};
use std::collections::BTreeMap;

type B = NdArray<f32>;

fn dev() -> burn::tensor::ops::Device<B> {
    Default::default()
}

fn rows(n: usize, f: usize) -> Tensor<B, 2> {
    let v: Vec<f32> = (0..n * f).map(|i| i as f32).collect();
    Tensor::<B, 1>::from_floats(v.as_slice(), &dev()).reshape([n, f])
}

fn floats<const D: usize>(t: Tensor<B, D>) -> Vec<f32> {
    read_f32(t, "test").unwrap()
}

fn ints(v: &[i64]) -> Tensor<B, 1, Int> {
    Tensor::from_ints(v, &dev())
}

#[test]
fn tensor_map_round_trips_any_rank() {
    let mut map = TensorMap::<B>::new();
    assert!(map.is_empty());
    assert_eq!(map.len(), 0);
    let cube = rows(2, 12).reshape([2, 3, 2, 2]);
    map.insert("cube", cube.clone()).unwrap();
    map.insert("vec", Tensor::<B, 1>::from_floats([5.0, 6.0], &dev()))
        .unwrap();
    assert_eq!(map.len(), 2);
    assert!(!map.is_empty());
    assert_eq!(map.names(), vec!["cube", "vec"]);
    assert_eq!(map.shape("cube").unwrap(), vec![2, 3, 2, 2]);
    assert_eq!(map.get_flat("cube").unwrap().dims(), [2, 12]);
    assert_eq!(map.get_flat("vec").unwrap().dims(), [2, 1]);
    let back = map.get::<4>("cube").unwrap();
    assert_eq!(back.dims(), [2, 3, 2, 2]);
    assert_eq!(floats(back), floats(cube));
    assert_eq!(floats(map.get::<1>("vec").unwrap()), vec![5.0, 6.0]);
}

#[test]
fn tensor_map_errors() {
    let mut map = TensorMap::<B>::new();
    map.insert("a", rows(3, 2)).unwrap();
    assert!(matches!(
        map.insert("b", rows(4, 2)),
        Err(CoreError::Shape { actual, .. }) if actual == vec![4, 2]
    ));
    assert!(!map.contains("b"));
    // Replacing the only entry may change N.
    map.insert("a", rows(5, 1)).unwrap();
    assert_eq!(map.len(), 5);
    assert!(matches!(
        map.get::<2>("nope"),
        Err(CoreError::MissingKey { key }) if key == "nope"
    ));
    assert!(matches!(
        map.get::<3>("a"),
        Err(CoreError::Shape { actual, .. }) if actual == vec![5, 1]
    ));
    assert!(map.remove("a"));
    assert!(!map.remove("a"));
    assert!(map.is_empty());
}

#[test]
fn tensor_map_batch_ops() {
    let mut map = TensorMap::<B>::new();
    map.insert("x", rows(4, 2).reshape([4, 2, 1])).unwrap();
    let picked = map.select(ints(&[3, 1]));
    assert_eq!(picked.shape("x").unwrap(), vec![2, 2, 1]);
    assert_eq!(
        floats(picked.get_flat("x").unwrap()),
        vec![6.0, 7.0, 2.0, 3.0]
    );
    let sliced = map.slice_rows(1..3);
    assert_eq!(
        floats(sliced.get_flat("x").unwrap()),
        vec![2.0, 3.0, 4.0, 5.0]
    );
    assert_eq!(map.slice_rows(3..10).len(), 1);
    let joined = TensorMap::cat(vec![sliced, picked]).unwrap();
    assert_eq!(joined.shape("x").unwrap(), vec![4, 2, 1]);

    let mut other = TensorMap::<B>::new();
    other.insert("y", rows(1, 2).reshape([1, 2, 1])).unwrap();
    assert!(matches!(
        TensorMap::cat(vec![map.clone(), other]),
        Err(CoreError::Shape { .. })
    ));
    let mut wrong_shape = TensorMap::<B>::new();
    wrong_shape.insert("x", rows(1, 2)).unwrap();
    assert!(matches!(
        TensorMap::cat(vec![map, wrong_shape]),
        Err(CoreError::Shape { .. })
    ));
}

fn mask(v: &[bool], n: usize) -> Tensor<B, 2, Bool> {
    Tensor::<B, 1, Bool>::from_bool(v.into(), &dev()).reshape([n, v.len() / n])
}

fn sample_obs() -> Observation<B> {
    Observation::new(rows(3, 2))
        .with_action_mask(mask(&[true, false, false, true, true, true], 3))
        .unwrap()
        .with_extra("img", rows(3, 4).reshape([3, 2, 2]))
        .unwrap()
}

#[test]
fn observation_constructors_check_batch() {
    assert!(matches!(
        Observation::new(rows(3, 2)).with_action_mask(mask(&[true; 4], 2)),
        Err(CoreError::Shape { .. })
    ));
    assert!(matches!(
        Observation::new(rows(3, 2)).with_extra("e", rows(2, 1)),
        Err(CoreError::Shape { .. })
    ));
    let obs = sample_obs();
    assert_eq!(obs.batch_size(), 3);
    obs.validate().unwrap();
    let mut broken = obs.clone();
    broken.features = rows(2, 2);
    assert!(broken.validate().is_err());
}

#[test]
fn observation_select_and_slice_apply_to_all_tensors() {
    let obs = sample_obs();
    let picked = obs.select(ints(&[2, 0]));
    assert_eq!(picked.batch_size(), 2);
    assert_eq!(floats(picked.features), vec![4.0, 5.0, 0.0, 1.0]);
    assert_eq!(
        read_bool(picked.action_mask.unwrap(), "m").unwrap(),
        vec![true, true, true, false]
    );
    assert_eq!(
        floats(picked.extra.get_flat("img").unwrap()),
        vec![8.0, 9.0, 10.0, 11.0, 0.0, 1.0, 2.0, 3.0]
    );

    let sliced = obs.slice_rows(1..2);
    assert_eq!(floats(sliced.features.clone()), vec![2.0, 3.0]);
    assert_eq!(
        read_bool(sliced.action_mask.clone().unwrap(), "m").unwrap(),
        vec![false, true]
    );
    assert_eq!(sliced.extra.shape("img").unwrap(), vec![1, 2, 2]);
    assert_eq!(obs.slice_rows(2..99).batch_size(), 1);
    assert_eq!(obs.slice_rows(5..9).batch_size(), 0);
}

#[test]
fn observation_cat_checks_structure() {
    let obs = sample_obs();
    let joined = Observation::cat(vec![obs.slice_rows(2..3), obs.slice_rows(0..2)]).unwrap();
    assert_eq!(floats(joined.features), vec![4.0, 5.0, 0.0, 1.0, 2.0, 3.0]);
    assert_eq!(
        read_bool(joined.action_mask.unwrap(), "m").unwrap(),
        vec![true, true, true, false, false, true]
    );
    assert_eq!(joined.extra.shape("img").unwrap(), vec![3, 2, 2]);

    let no_mask = Observation {
        action_mask: None,
        ..obs.clone()
    };
    assert!(matches!(
        Observation::cat(vec![obs.clone(), no_mask]),
        Err(CoreError::Shape { .. })
    ));
    let no_extra = Observation {
        extra: TensorMap::new(),
        ..obs.clone()
    };
    assert!(Observation::cat(vec![obs.clone(), no_extra]).is_err());
    let wide = Observation::new(rows(3, 5))
        .with_action_mask(mask(&[true; 6], 3))
        .unwrap();
    assert!(Observation::cat(vec![obs, wide]).is_err());
    assert!(Observation::<B>::cat(vec![]).is_err());
}

#[test]
fn check_finite_finds_first_bad_row() {
    let obs = sample_obs();
    obs.check_finite("obs").unwrap();
    let v = [0.0, 1.0, 2.0, 3.0, f32::NAN, f32::INFINITY];
    let bad = Observation::new(Tensor::<B, 1>::from_floats(v, &dev()).reshape([3, 2]));
    assert!(matches!(
        bad.check_finite("obs"),
        Err(CoreError::NonFinite { what, index: 2 }) if what == "obs"
    ));
    let extra_bad = Observation::new(rows(2, 1))
        .with_extra(
            "goal",
            Tensor::<B, 1>::from_floats([1.0, f32::NEG_INFINITY], &dev()),
        )
        .unwrap();
    assert!(matches!(
        extra_bad.check_finite("obs"),
        Err(CoreError::NonFinite { what, index: 1 }) if what == "obs.goal"
    ));
}

#[test]
fn autodiff_round_trip() {
    type A = Autodiff<B>;
    let obs = sample_obs();
    let ad = Observation::<A>::from_inner(obs.clone());
    assert_eq!(ad.batch_size(), 3);
    assert_eq!(ad.extra.shape("img").unwrap(), vec![3, 2, 2]);
    let back = ad.inner();
    assert_eq!(floats(back.features), floats(obs.features));
    assert_eq!(
        read_bool(back.action_mask.unwrap(), "m").unwrap(),
        read_bool(obs.action_mask.unwrap(), "m").unwrap()
    );
    assert_eq!(
        floats(back.extra.get_flat("img").unwrap()),
        floats(obs.extra.get_flat("img").unwrap())
    );
}

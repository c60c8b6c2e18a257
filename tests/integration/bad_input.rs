//! An environment or a model that hands the engine a wrong shape gets a typed error naming
//! what was wrong, the shape expected and seen, and the step: never a panic, never silent
//! training on misaligned rows.

use burn::backend::{Autodiff, NdArray};
use burn::module::Module;
use burn::tensor::Tensor;
use burn::tensor::backend::Backend;
use rl_algo::{AlgoError, Algorithm, AlgorithmConfig, DefaultModel, DefaultModelConfig, PpoConfig};
use rl_core::{
    Action, Categorical, CoreError, Env, EnvConfig, EnvInfo, Model, Observation, ObservationSpec,
    PolicyOutput, Transition,
};
use rl_envs::CartPoleV1;

use crate::boxed;

type B = Autodiff<NdArray>;

const N: usize = 4;

/// What a faulty environment gets wrong at its second step (or at its reset).
#[derive(Clone, Copy, Debug)]
enum Fault {
    /// Nothing: a well-behaved environment.
    None,
    /// The observation has this many rows more (or fewer) than there are environments.
    ObsRows(isize),
    /// The observation has this many features more (or fewer) than its space.
    ObsWidth(isize),
    /// The reset's observation has this many rows more (or fewer).
    ResetRows(isize),
    /// `terminated` has this many entries more (or fewer).
    Terminated(isize),
    /// `truncated` has this many entries more (or fewer).
    Truncated(isize),
    /// `reward` has this many entries more (or fewer).
    Reward(isize),
    /// The observation's action mask (declared) has one row too few.
    MaskRows,
    /// The observation's action mask (declared) has one flag too many.
    MaskWidth,
    /// The observation has no action mask, though one is declared.
    MaskMissing,
    /// The observation has an action mask, though none is declared.
    MaskUndeclared,
    /// The declared mask has 3 flags, for 2 actions.
    SpecWidth,
    /// `final_obs` has one row too few.
    FinalObsRows,
    /// `final_obs` has one feature too many.
    FinalObsWidth,
    /// `step` returns an error.
    StepError,
}

/// CartPole-v1, with `fault` applied to its second step (or its reset).
struct Faulty {
    inner: CartPoleV1<NdArray>,
    fault: Fault,
    steps: usize,
}

/// `t` with `delta` more entries along `dim` (repeating the first ones) or fewer.
fn resized<Bk: Backend, K: burn::tensor::BasicOps<Bk>, const D: usize>(
    t: Tensor<Bk, D, K>,
    dim: usize,
    delta: isize,
) -> Tensor<Bk, D, K> {
    let n = t.dims()[dim];
    if delta <= 0 {
        t.narrow(dim, 0, n - delta.unsigned_abs())
    } else {
        let extra = t.clone().narrow(dim, 0, delta as usize);
        Tensor::cat(vec![t, extra], dim)
    }
}

/// `t` with `delta` rows more or fewer.
fn rows<Bk: Backend, K: burn::tensor::BasicOps<Bk>, const D: usize>(
    t: Tensor<Bk, D, K>,
    delta: isize,
) -> Tensor<Bk, D, K> {
    resized(t, 0, delta)
}

/// `features` with `delta` columns more or fewer.
fn columns(features: Tensor<NdArray, 2>, delta: isize) -> Tensor<NdArray, 2> {
    resized(features, 1, delta)
}

/// An action mask that allows everything.
fn allowed(shape: [usize; 2]) -> Tensor<NdArray, 2, burn::tensor::Bool> {
    Tensor::ones(shape, &Default::default())
}

impl Faulty {
    /// `obs` with an all-allowing mask when the environment declares one.
    fn masked(&self, mut obs: Observation<NdArray>) -> Observation<NdArray> {
        if let Some(width) = self.observation_spec().action_mask {
            obs.action_mask = Some(allowed([obs.batch_size(), width]));
        }
        obs
    }
}

impl Env<NdArray> for Faulty {
    fn name(&self) -> &str {
        "Faulty"
    }
    fn info(&self) -> &EnvInfo<NdArray> {
        self.inner.info()
    }
    fn observation_spec(&self) -> ObservationSpec {
        let spec = ObservationSpec::new();
        match self.fault {
            Fault::MaskRows | Fault::MaskWidth | Fault::MaskMissing => {
                spec.with_action_mask(self.action_space()).unwrap()
            }
            Fault::SpecWidth => ObservationSpec {
                action_mask: Some(3),
            },
            _ => spec,
        }
    }
    fn reset(&mut self, config: Option<&EnvConfig>) -> rl_core::Result<Observation<NdArray>> {
        let obs = self.inner.reset(config)?;
        Ok(match self.fault {
            Fault::ResetRows(d) => Observation::new(rows(obs.features, d)),
            _ => self.masked(obs),
        })
    }
    fn step(&mut self, action: &Action<NdArray>) -> rl_core::Result<Transition<NdArray>> {
        let mut t = self.inner.step(action)?;
        t.obs = self.masked(t.obs);
        t.final_obs = t.final_obs.map(|f| self.masked(f));
        self.steps += 1;
        if self.steps != 2 {
            return Ok(t);
        }
        let features = t.obs.features.clone();
        match self.fault {
            Fault::ObsRows(d) => t.obs = Observation::new(rows(features, d)),
            Fault::ObsWidth(d) => t.obs = Observation::new(columns(features, d)),
            Fault::None | Fault::ResetRows(_) => {}
            Fault::Terminated(d) => t.terminated = rows(t.terminated, d),
            Fault::Truncated(d) => t.truncated = rows(t.truncated, d),
            Fault::Reward(d) => t.reward = rows(t.reward, d),
            Fault::MaskRows => t.obs.action_mask = Some(allowed([N - 1, 2])),
            Fault::MaskWidth | Fault::MaskUndeclared => t.obs.action_mask = Some(allowed([N, 3])),
            Fault::MaskMissing => t.obs.action_mask = None,
            Fault::SpecWidth => {}
            Fault::FinalObsRows => t.final_obs = Some(Observation::new(rows(features, -1))),
            Fault::FinalObsWidth => t.final_obs = Some(Observation::new(columns(features, 1))),
            Fault::StepError => {
                return Err(CoreError::Env {
                    env: "Faulty".into(),
                    message: "the simulator crashed".into(),
                });
            }
        }
        Ok(t)
    }
}

fn config() -> PpoConfig {
    PpoConfig::new()
        .with_num_envs(N)
        .with_horizon(8)
        .with_seed(3)
}

fn faulty(fault: Fault) -> Faulty {
    Faulty {
        inner: CartPoleV1::new(N, 0, &Default::default()).unwrap(),
        fault,
        steps: 0,
    }
}

/// The error of the first collect of an algorithm on an environment with `fault`.
fn collect_error(fault: Fault) -> AlgoError {
    let mut algo = AlgorithmConfig::new()
        .with_ppo(config())
        .with_model(DefaultModelConfig::new().with_hiddens(vec![8]))
        .init::<B, _>(boxed(faulty(fault)), &Default::default())
        .unwrap();
    match algo.collect() {
        Ok(_) => panic!("{fault:?} was accepted"),
        Err(e) => e,
    }
}

/// Asserts a shape mismatch of `what` at `at`, with the `expected` and `actual` shapes.
fn assert_mismatch(error: AlgoError, what: &str, at: &str, expected: &str, actual: &str) {
    match &error {
        AlgoError::Mismatch {
            what: w,
            expected: e,
            actual: a,
        } => {
            assert!(w.starts_with(what), "{error}");
            assert!(w.contains("`Faulty`") && w.contains(at), "{error}");
            assert_eq!((e.as_str(), a.as_str()), (expected, actual), "{error}");
        }
        other => panic!("expected a mismatch of {what}, got {other:?}"),
    }
}

const STEP1: &str = "step 1 of collect 0";

#[test]
fn observations_of_the_wrong_shape_are_named_with_the_step() {
    let cases = [
        (Fault::ObsRows(-1), "[4, 4]", "[3, 4]"),
        (Fault::ObsRows(1), "[4, 4]", "[5, 4]"),
        (Fault::ObsWidth(-1), "[4, 4]", "[4, 3]"),
        (Fault::ObsWidth(1), "[4, 4]", "[4, 5]"),
    ];
    for (fault, expected, actual) in cases {
        assert_mismatch(
            collect_error(fault),
            "observation features",
            STEP1,
            expected,
            actual,
        );
    }
    assert_mismatch(
        collect_error(Fault::MaskRows),
        "observation",
        STEP1,
        "every tensor with 4 rows",
        "action_mask: shape [3, 2], expected [4, M] like the features",
    );
    let declared = "[4, 2], as its observation_spec declares";
    assert_mismatch(
        collect_error(Fault::MaskWidth),
        "observation action mask",
        STEP1,
        declared,
        "[4, 3]",
    );
    assert_mismatch(
        collect_error(Fault::MaskMissing),
        "observation action mask",
        STEP1,
        declared,
        "none",
    );
    assert_mismatch(
        collect_error(Fault::MaskUndeclared),
        "observation action mask",
        STEP1,
        "none: its observation_spec declares no action mask",
        "[4, 3]",
    );
    match collect_error(Fault::SpecWidth) {
        AlgoError::Mismatch { what, expected, .. } => {
            assert!(
                what.contains("the action mask declared by `Faulty`"),
                "{what}"
            );
            assert_eq!(expected, "2 flags, one per category of Discrete { n: 2 }");
        }
        other => panic!("expected a mismatch, got {other:?}"),
    }
    assert_mismatch(
        collect_error(Fault::ResetRows(-1)),
        "observation features",
        "the reset of collect 0",
        "[4, 4]",
        "[3, 4]",
    );
}

#[test]
fn rewards_and_flags_of_the_wrong_length_are_named_with_the_step() {
    for (fault, what, actual) in [
        (Fault::Terminated(-1), "terminated", "[3]"),
        (Fault::Terminated(1), "terminated", "[5]"),
        (Fault::Truncated(-1), "truncated", "[3]"),
        (Fault::Truncated(1), "truncated", "[5]"),
        (Fault::Reward(-1), "reward", "[3]"),
        (Fault::Reward(1), "reward", "[5]"),
    ] {
        assert_mismatch(collect_error(fault), what, STEP1, "[4]", actual);
    }
}

#[test]
fn a_final_observation_of_the_wrong_shape_is_named_with_the_step() {
    assert_mismatch(
        collect_error(Fault::FinalObsRows),
        "final_obs features",
        STEP1,
        "[4, 4]",
        "[3, 4]",
    );
    assert_mismatch(
        collect_error(Fault::FinalObsWidth),
        "final_obs features",
        STEP1,
        "[4, 4]",
        "[4, 5]",
    );
}

#[test]
fn an_environment_error_keeps_its_source_and_gains_the_step() {
    match collect_error(Fault::StepError) {
        AlgoError::Env { env, at, source } => {
            assert_eq!((env.as_str(), at.as_str()), ("Faulty", STEP1));
            assert!(
                matches!(*source, CoreError::Env { message, .. } if message == "the simulator crashed")
            );
        }
        other => panic!("expected an environment error, got {other:?}"),
    }
}

/// The default model's values with `value_rows` rows more (or fewer), and a policy with
/// logits `[N + dist_rows, 1, categories]`, all `logit` (0: uniform).
#[derive(Module, Debug)]
struct Misfit<B: Backend> {
    inner: DefaultModel<B>,
    value_rows: isize,
    dist_rows: isize,
    categories: usize,
    logit: f32,
}

impl<B: Backend> Model<B> for Misfit<B> {
    type Dist = Categorical<B>;
    fn forward(&self, obs: &Observation<B>) -> Result<PolicyOutput<B, Categorical<B>>, CoreError> {
        let values = self.inner.forward(obs)?.values;
        let n = obs.batch_size();
        let logits = Tensor::full(
            [
                n.checked_add_signed(self.dist_rows).unwrap(),
                1,
                self.categories,
            ],
            self.logit,
            &obs.features.device(),
        );
        Ok(PolicyOutput {
            dist: Categorical::new(logits),
            values: rows(values, self.value_rows),
        })
    }
}

fn default_model() -> DefaultModel<B> {
    let env = faulty(Fault::None);
    DefaultModelConfig::new()
        .with_hiddens(vec![8])
        .init(
            env.observation_space(),
            env.action_space(),
            0,
            &Default::default(),
        )
        .unwrap()
}

#[test]
fn model_outputs_of_the_wrong_shape_are_named_with_the_step() {
    let cases = [
        (-1, 0, 2, "the model's values", "[4, 1]", "[3, 1]"),
        (1, 0, 2, "the model's values", "[4, 1]", "[5, 1]"),
        (0, -1, 2, "the model's action distribution", "4 rows", "[3]"),
        // Logits of width 1 for Discrete(2): action 1 would never be taken.
        (
            0,
            0,
            1,
            "the model's action distribution",
            "the actions of Discrete { n: 2 }",
            "1 categorical head(s) of 1",
        ),
        (
            0,
            0,
            3,
            "the model's action distribution",
            "the actions of Discrete { n: 2 }",
            "1 categorical head(s) of 3",
        ),
    ];
    for (value_rows, dist_rows, categories, what, expected, actual) in cases {
        let model = Misfit {
            inner: default_model(),
            value_rows,
            dist_rows,
            categories,
            logit: 0.0,
        };
        let env = boxed(faulty(Fault::None));
        let error = Algorithm::with_model(config(), env, model)
            .unwrap()
            .collect()
            .unwrap_err();
        assert_mismatch(error, what, "step 0 of collect 0", expected, actual);
    }
}

#[test]
fn a_model_that_outputs_nan_stops_the_collect_that_met_it() {
    let model = Misfit {
        inner: default_model(),
        value_rows: 0,
        dist_rows: 0,
        categories: 2,
        logit: f32::NAN,
    };
    let env = boxed(faulty(Fault::None));
    let mut algo = Algorithm::with_model(config(), env, model).unwrap();
    match algo.collect().unwrap_err() {
        AlgoError::NonFinite { what, detail } => {
            assert!(
                what.starts_with("log-probability of the action taken"),
                "{what}"
            );
            assert!(
                detail.starts_with("environment 0 at step 0 of collect 0: NaN"),
                "{detail}"
            );
        }
        other => panic!("expected NonFinite, got {other:?}"),
    }
    // Nothing was buffered to train on.
    assert!(matches!(algo.step(), Err(AlgoError::NotBuffered)));
}

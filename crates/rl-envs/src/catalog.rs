//! The environments by name, as `gym.make` finds them: what a config file or a command line
//! names.

use burn::tensor::backend::Backend;
use rl_core::{CoreError, Env, Result};

use crate::{
    AcrobotV1, CartPole, CartPoleNoVelocity, CartPoleV1, Combination, DeviceCartPole,
    DeviceCartPoleV1, MaskedRecall, MountainCar, MountainCarContinuousV0, MountainCarV0, Pendulum,
    PendulumV1, Recall,
};

/// One of this crate's environments, named as its [`Env::name`] says (`"CartPole-v1"`, ...).
///
/// ```
/// use burn::backend::NdArray;
/// use rl_envs::EnvKind;
///
/// let kind = EnvKind::from_name("Pendulum").unwrap();
/// assert!(kind.config_keys().contains(&"max_torque"));
/// let env = kind.make::<NdArray>(4, 0, &Default::default())?;
/// assert_eq!(env.name(), "Pendulum");
/// # Ok::<(), rl_core::CoreError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnvKind {
    /// [`CartPole`], rl8's.
    CartPole,
    /// [`CartPoleV1`], Gymnasium's.
    CartPoleV1,
    /// [`CartPoleNoVelocity`].
    CartPoleNoVelocity,
    /// [`Pendulum`].
    Pendulum,
    /// [`MountainCar`].
    MountainCar,
    /// [`Recall`].
    Recall,
    /// [`PendulumV1`], Gymnasium's.
    PendulumV1,
    /// [`MountainCarV0`], Gymnasium's.
    MountainCarV0,
    /// [`MountainCarContinuousV0`], Gymnasium's.
    MountainCarContinuousV0,
    /// [`AcrobotV1`], Gymnasium's.
    AcrobotV1,
    /// [`MaskedRecall`].
    MaskedRecall,
    /// [`Combination`].
    Combination,
    /// [`DeviceCartPole`], rl8's cart-pole on the device.
    DeviceCartPole,
    /// [`DeviceCartPoleV1`], Gymnasium's cart-pole on the device.
    DeviceCartPoleV1,
}

/// The mountain cars' keys: rl8's are the first 7; `MountainCar-v0` adds `max_episode_steps`;
/// `MountainCarContinuous-v0` pushes with `power` instead of `force_mag`.
const CAR_KEYS: [&str; 9] = [
    "force_mag",
    "goal_position",
    "goal_velocity",
    "gravity",
    "max_position",
    "max_speed",
    "min_position",
    "max_episode_steps",
    "power",
];

const CARTPOLE_GYM_KEYS: &[&str] = &[
    "gravity",
    "masscart",
    "masspole",
    "length",
    "force_mag",
    "tau",
    "semi_implicit",
    "max_episode_steps",
];

impl EnvKind {
    /// Every environment, in the order of the crate's table.
    pub const ALL: [EnvKind; 14] = [
        EnvKind::CartPole,
        EnvKind::CartPoleV1,
        EnvKind::CartPoleNoVelocity,
        EnvKind::Pendulum,
        EnvKind::MountainCar,
        EnvKind::Recall,
        EnvKind::PendulumV1,
        EnvKind::MountainCarV0,
        EnvKind::MountainCarContinuousV0,
        EnvKind::AcrobotV1,
        EnvKind::MaskedRecall,
        EnvKind::Combination,
        EnvKind::DeviceCartPole,
        EnvKind::DeviceCartPoleV1,
    ];

    /// The environment's name (its [`Env::name`]).
    pub fn name(self) -> &'static str {
        match self {
            EnvKind::CartPole => "CartPole",
            EnvKind::CartPoleV1 => "CartPole-v1",
            EnvKind::CartPoleNoVelocity => "CartPole-v1-NoVelocity",
            EnvKind::Pendulum => "Pendulum",
            EnvKind::MountainCar => "MountainCar",
            EnvKind::Recall => "Recall",
            EnvKind::PendulumV1 => "Pendulum-v1",
            EnvKind::MountainCarV0 => "MountainCar-v0",
            EnvKind::MountainCarContinuousV0 => "MountainCarContinuous-v0",
            EnvKind::AcrobotV1 => "Acrobot-v1",
            EnvKind::MaskedRecall => "MaskedRecall",
            EnvKind::Combination => "Combination",
            EnvKind::DeviceCartPole => "CartPole-device",
            EnvKind::DeviceCartPoleV1 => "CartPole-v1-device",
        }
    }

    /// The environment called `name`, if there is one.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }

    /// The keys its reset config ([`rl_core::EnvConfig`]) reads; others are ignored by the
    /// environment, so a caller that wants to reject misspelt keys checks them here.
    pub fn config_keys(self) -> &'static [&'static str] {
        match self {
            EnvKind::CartPole | EnvKind::DeviceCartPole => &[
                "gravity",
                "cart_mass",
                "pole_mass",
                "length",
                "force_mag",
                "tau",
                "semi_implicit",
            ],
            EnvKind::CartPoleV1 | EnvKind::CartPoleNoVelocity | EnvKind::DeviceCartPoleV1 => {
                CARTPOLE_GYM_KEYS
            }
            EnvKind::Pendulum => &["dt", "g", "l", "m", "max_speed", "max_torque"],
            EnvKind::PendulumV1 => &[
                "dt",
                "g",
                "l",
                "m",
                "max_speed",
                "max_torque",
                "max_episode_steps",
            ],
            EnvKind::MountainCar => &CAR_KEYS[..7],
            EnvKind::MountainCarV0 => &CAR_KEYS[..8],
            EnvKind::MountainCarContinuousV0 => &CAR_KEYS[1..],
            EnvKind::AcrobotV1 => &["dt", "max_episode_steps"],
            EnvKind::Recall | EnvKind::MaskedRecall => &["length"],
            EnvKind::Combination => &[],
        }
    }

    /// Whether its episodes end (terminate or truncate); rl8's infinite-horizon tasks never
    /// end theirs and are reset on a schedule instead.
    pub fn ends_episodes(self) -> bool {
        matches!(
            self,
            EnvKind::CartPoleV1
                | EnvKind::CartPoleNoVelocity
                | EnvKind::Recall
                | EnvKind::PendulumV1
                | EnvKind::MountainCarV0
                | EnvKind::MountainCarContinuousV0
                | EnvKind::AcrobotV1
                | EnvKind::MaskedRecall
                | EnvKind::Combination
                | EnvKind::DeviceCartPoleV1
        )
    }

    /// `num_envs` of them, seeded with `seed` (each type's `new`), boxed.
    ///
    /// # Errors
    /// [`CoreError::Env`] if `num_envs` is 0.
    pub fn make<B: Backend>(
        self,
        num_envs: usize,
        seed: u64,
        device: &B::Device,
    ) -> Result<Box<dyn Env<B>>> {
        Ok(match self {
            EnvKind::CartPole => Box::new(CartPole::new(num_envs, seed, device)?),
            EnvKind::CartPoleV1 => Box::new(CartPoleV1::new(num_envs, seed, device)?),
            EnvKind::CartPoleNoVelocity => {
                Box::new(CartPoleNoVelocity::new(num_envs, seed, device)?)
            }
            EnvKind::Pendulum => Box::new(Pendulum::new(num_envs, seed, device)?),
            EnvKind::MountainCar => Box::new(MountainCar::new(num_envs, seed, device)?),
            EnvKind::Recall => Box::new(Recall::new(num_envs, seed, device)?),
            EnvKind::PendulumV1 => Box::new(PendulumV1::new(num_envs, seed, device)?),
            EnvKind::MountainCarV0 => Box::new(MountainCarV0::new(num_envs, seed, device)?),
            EnvKind::MountainCarContinuousV0 => {
                Box::new(MountainCarContinuousV0::new(num_envs, seed, device)?)
            }
            EnvKind::AcrobotV1 => Box::new(AcrobotV1::new(num_envs, seed, device)?),
            EnvKind::MaskedRecall => Box::new(MaskedRecall::new(num_envs, seed, device)?),
            EnvKind::Combination => Box::new(Combination::new(num_envs, seed, device)?),
            EnvKind::DeviceCartPole => Box::new(DeviceCartPole::new(num_envs, seed, device)?),
            EnvKind::DeviceCartPoleV1 => Box::new(DeviceCartPoleV1::new(num_envs, seed, device)?),
        })
    }
}

impl std::fmt::Display for EnvKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for EnvKind {
    type Err = CoreError;

    /// [`EnvKind::from_name`], with an error listing the names.
    fn from_str(name: &str) -> Result<Self> {
        Self::from_name(name).ok_or_else(|| CoreError::Env {
            env: name.to_string(),
            message: format!(
                "no such environment; the environments are {}",
                Self::ALL.map(Self::name).join(", ")
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::NdArray;
    use rl_core::EnvConfig;

    /// Every listed key is read by the environment's reset: a NaN or infinite value for it is
    /// refused with an error naming it. And every kind makes the environment of its name.
    #[test]
    fn every_listed_key_is_read() {
        let device = Default::default();
        for kind in EnvKind::ALL {
            let mut env = kind.make::<NdArray>(2, 0, &device).unwrap();
            assert_eq!(env.name(), kind.name());
            assert_eq!(EnvKind::from_name(kind.name()), Some(kind));
            for key in kind.config_keys() {
                for value in [f64::NAN, f64::INFINITY] {
                    let config = EnvConfig::from([(key.to_string(), value)]);
                    let error = env.reset(Some(&config)).err();
                    let message = error.map(|e| e.to_string()).unwrap_or_default();
                    assert!(
                        message.contains(key),
                        "{kind}: {key} = {value}: {message:?}"
                    );
                }
            }
        }
        assert!("CartPole-v0".parse::<EnvKind>().is_err());
    }
}

//! Configs as documents (JSON here, TOML run files in `rl-train`): the keys given are read
//! over the defaults, a missing key keeps its default, an unknown key is refused with the
//! nearest known one, and a bad value is named by its path. A config is saved only when it is
//! valid, so that every saved config loads back.

use std::fmt;
use std::path::Path;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::{AlgoError, Result};
use crate::record::write_atomic;

/// A key a config does not have, with the known key nearest to it (if any is near).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownKey {
    /// Its path, e.g. `"ppo.minibatch_size"`.
    pub path: String,
    /// The nearest key the config has at that place, e.g. `"minibatch"`.
    pub nearest: Option<String>,
}

impl UnknownKey {
    /// The unknown `key` at `path`, with its nearest among `known` (Jaro-Winkler similarity
    /// of at least 0.7, as clap and cargo suggest).
    pub fn among<'a>(path: String, key: &str, known: impl IntoIterator<Item = &'a str>) -> Self {
        let nearest = known
            .into_iter()
            .map(|k| (strsim::jaro_winkler(key, k), k))
            .filter(|(score, _)| *score >= 0.7)
            .max_by(|a, b| a.0.total_cmp(&b.0))
            .map(|(_, k)| k.to_string());
        Self { path, nearest }
    }

    /// The keys, comma-separated, each as it displays: what an error message lists.
    ///
    /// ```
    /// use rl_algo::UnknownKey;
    ///
    /// let keys = [UnknownKey::among("ppo.hoirzon".into(), "hoirzon", ["horizon"])];
    /// assert_eq!(UnknownKey::list(&keys), "`ppo.hoirzon` (did you mean `horizon`?)");
    /// ```
    pub fn list(keys: &[UnknownKey]) -> String {
        keys.iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl fmt::Display for UnknownKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}`", self.path)?;
        match &self.nearest {
            Some(n) => write!(f, " (did you mean `{n}`?)"),
            None => Ok(()),
        }
    }
}

/// A `T` read from `given` over `default`: the keys given replace the default's (tables key
/// by key, an enum's value whole), missing keys keep the default's, and keys `T` does not have
/// are refused, all of them together, each with its nearest known key. `prefix` is the path of
/// `given` in its document (`"ppo"`; empty at the top).
///
/// ```
/// use rl_algo::{AlgoError, PpoConfig, read_over_defaults};
///
/// let given = serde_json::json!({ "horizon": 64, "minibatch_size": 16 });
/// let err = read_over_defaults::<PpoConfig>(given, &PpoConfig::new(), "ppo").unwrap_err();
/// let AlgoError::UnknownKeys(keys) = err else { panic!("{err}") };
/// assert_eq!(keys[0].path, "ppo.minibatch_size");
/// assert_eq!(keys[0].nearest.as_deref(), Some("minibatch"));
/// ```
///
/// # Errors
/// [`AlgoError::UnknownKeys`], or [`AlgoError::ConfigValue`] naming the path of a value of the
/// wrong kind.
pub fn read_over_defaults<T: Serialize + DeserializeOwned>(
    given: Value,
    default: &T,
    prefix: &str,
) -> Result<T> {
    let path = |inner: &str| match (prefix.is_empty(), inner.is_empty() || inner == ".") {
        (_, true) => prefix.to_string(),
        (true, false) => inner.to_string(),
        (false, false) => format!("{prefix}.{inner}"),
    };
    if !given.is_object() {
        return Err(AlgoError::ConfigValue {
            path: path(""),
            message: format!("{given}: expected a table of keys"),
        });
    }
    let known = serde_json::to_value(default).map_err(|e| AlgoError::ConfigValue {
        path: path(""),
        message: format!("the default cannot be written: {e}"),
    })?;
    let mut merged = known.clone();
    merge(&mut merged, given);
    let mut unknown = Vec::new();
    let mut note = |p: serde_ignored::Path<'_>| {
        let inner = p.to_string();
        let (parent, key) = inner.rsplit_once('.').unwrap_or(("", &inner));
        let siblings = parent
            .split('.')
            .filter(|s| !s.is_empty())
            .try_fold(&known, |v, k| v.get(k));
        let names = siblings
            .and_then(Value::as_object)
            .map(|o| o.keys().map(String::as_str).collect::<Vec<_>>())
            .unwrap_or_default();
        unknown.push(UnknownKey::among(path(&inner), key, names));
    };
    let parsed: T =
        serde_path_to_error::deserialize(serde_ignored::Deserializer::new(merged, &mut note))
            .map_err(|e| AlgoError::ConfigValue {
                path: path(&e.path().to_string()),
                message: e.inner().to_string(),
            })?;
    if !unknown.is_empty() {
        return Err(AlgoError::UnknownKeys(unknown));
    }
    Ok(parsed)
}

/// Writes `given` over `base`: tables key by key, except an enum's value (a table keyed by a
/// variant name, `{"Every": 4}`), which replaces the default's whole.
fn merge(base: &mut Value, given: Value) {
    let is_variant =
        |m: &serde_json::Map<String, Value>| m.keys().any(|k| k.starts_with(char::is_uppercase));
    match (base, given) {
        (Value::Object(base), Value::Object(given)) if !is_variant(&given) => {
            for (key, value) in given {
                match base.get_mut(&key) {
                    Some(slot) => merge(slot, value),
                    None => {
                        base.insert(key, value);
                    }
                }
            }
        }
        (slot, given) => *slot = given,
    }
}

/// `text` (JSON) read over `default` ([`read_over_defaults`]).
pub(crate) fn from_json<T: Serialize + DeserializeOwned>(text: &str, default: &T) -> Result<T> {
    let value: Value = serde_json::from_str(text).map_err(AlgoError::ConfigSyntax)?;
    read_over_defaults(value, default, "")
}

/// Reads the JSON config at `path` over `default`.
pub(crate) fn load<T: Serialize + DeserializeOwned>(path: &Path, default: &T) -> Result<T> {
    let text = std::fs::read_to_string(path).map_err(|source| AlgoError::Io {
        action: "read config",
        path: path.to_path_buf(),
        source,
    })?;
    from_json(&text, default)
}

/// Writes `config` as JSON at `path`, atomically, once `validate` accepts it (JSON has no NaN
/// or infinity: serde writes them as `null`, which would not load back).
pub(crate) fn save<T: Serialize>(
    config: &T,
    validate: impl FnOnce() -> Result<()>,
    path: &Path,
) -> Result<()> {
    validate()?;
    let io = |source| AlgoError::Io {
        action: "write config",
        path: path.to_path_buf(),
        source,
    };
    let json = serde_json::to_string_pretty(config).map_err(|e| io(std::io::Error::other(e)))?;
    write_atomic(path, json.as_bytes()).map_err(io)
}

/// `load`, `from_json` and `save` for a config with `new()` defaults and a `validate()`: they
/// shadow Burn's `Config::load`/`save`, which ignore unknown keys, need every key and save a
/// NaN as `null`.
macro_rules! config_file {
    ($config:ty) => {
        impl $config {
            /// Reads a config from JSON: the keys given replace [`new`](Self::new)'s defaults,
            /// missing keys keep them, unknown keys are refused with the nearest known key.
            ///
            /// # Errors
            /// [`AlgoError::ConfigSyntax`](crate::AlgoError::ConfigSyntax),
            /// [`AlgoError::UnknownKeys`](crate::AlgoError::UnknownKeys) or
            /// [`AlgoError::ConfigValue`](crate::AlgoError::ConfigValue).
            pub fn from_json(text: &str) -> crate::Result<Self> {
                crate::config_file::from_json(text, &Self::new())
            }

            /// Reads the JSON config at `path` as [`from_json`](Self::from_json) does.
            ///
            /// # Errors
            /// [`AlgoError::Io`](crate::AlgoError::Io) or those of
            /// [`from_json`](Self::from_json).
            pub fn load(path: impl AsRef<std::path::Path>) -> crate::Result<Self> {
                crate::config_file::load(path.as_ref(), &Self::new())
            }

            /// Writes the config as JSON at `path`, atomically, if it is valid: a saved config
            /// always loads back.
            ///
            /// # Errors
            /// Those of `validate`, or [`AlgoError::Io`](crate::AlgoError::Io).
            pub fn save(&self, path: impl AsRef<std::path::Path>) -> crate::Result<()> {
                crate::config_file::save(self, || self.validate(), path.as_ref())
            }
        }
    };
}
pub(crate) use config_file;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_key_is_suggested_only_when_near() {
        let k = UnknownKey::among("target_kl".into(), "target_kl", ["target_kl_div", "gamma"]);
        assert_eq!(k.nearest.as_deref(), Some("target_kl_div"));
        let k = UnknownKey::among("zzz".into(), "zzz", ["target_kl_div", "gamma"]);
        assert_eq!(k.nearest, None);
        assert_eq!(k.to_string(), "`zzz`");
    }
}

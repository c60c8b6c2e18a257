//! Saving and loading a model's parameters (Burn's named MessagePack format, full precision),
//! with a clear error when the file holds another architecture.

use std::path::Path;

use burn::record::{FullPrecisionSettings, NamedMpkFileRecorder, Recorder};
use burn::tensor::{Tensor, backend::Backend};

use crate::error::{AlgoError, Result};

/// Saves any Burn module's parameters to `path` (Burn's named MessagePack format, full
/// precision; `.mpk` is added).
///
/// # Errors
/// [`AlgoError::Record`] naming the file.
pub fn save_model<B: Backend, M: burn::module::Module<B>>(
    model: M,
    path: impl AsRef<Path>,
) -> Result<()> {
    let path = path.as_ref();
    model
        .save_file(path, &NamedMpkFileRecorder::<FullPrecisionSettings>::new())
        .map_err(|source| AlgoError::Record {
            action: "save",
            path: path.to_path_buf(),
            source,
        })
}

/// Loads parameters saved by [`save_model`] into `model` (built with the same architecture).
///
/// # Errors
/// [`AlgoError::Record`] naming the file when it is missing or unreadable,
/// [`AlgoError::Architecture`] when it was saved from another architecture (other layers,
/// other parameter shapes).
pub fn load_model<B: Backend, M: burn::module::Module<B>>(
    model: M,
    path: impl AsRef<Path>,
    device: &B::Device,
) -> Result<M> {
    let path = path.as_ref();
    let error = |detail: String| AlgoError::Architecture {
        path: path.to_path_buf(),
        detail,
    };
    let expected = parameter_shapes(&model);
    let record = NamedMpkFileRecorder::<FullPrecisionSettings>::new()
        .load(path.to_path_buf(), device)
        .map_err(|source| AlgoError::Record {
            action: "load",
            path: path.to_path_buf(),
            source,
        })?;
    // Burn panics when a saved enum variant (e.g. another activation) differs from the model's.
    let loaded =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| model.load_record(record)))
            .map_err(|_| error("the saved model has another architecture".into()))?;
    let found = parameter_shapes(&loaded);
    if found != expected {
        return Err(error(format!(
            "the saved parameters have shapes {found:?}, the model {expected:?}"
        )));
    }
    Ok(loaded)
}

/// The shape of every float parameter of `model`, in visiting order.
fn parameter_shapes<B: Backend, M: burn::module::Module<B>>(model: &M) -> Vec<Vec<usize>> {
    struct Shapes(Vec<Vec<usize>>);
    impl<B: Backend> burn::module::ModuleVisitor<B> for Shapes {
        fn visit_float<const D: usize>(&mut self, param: &burn::module::Param<Tensor<B, D>>) {
            self.0.push(param.val().dims().to_vec());
        }
    }
    let mut shapes = Shapes(Vec::new());
    model.visit(&mut shapes);
    shapes.0
}

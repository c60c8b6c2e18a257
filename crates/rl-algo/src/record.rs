//! Saving and loading a model's parameters (Burn's named MessagePack format, full precision,
//! framed with the parameters' shapes and a checksum), with a clear error when the file is
//! damaged or holds another architecture, and [`write_atomic`], the one way files are written:
//! a crash or a failed write leaves the previous file in place.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use burn::record::{FullPrecisionSettings, NamedMpkBytesRecorder, Recorder};
use burn::tensor::{Tensor, backend::Backend};

use crate::error::{AlgoError, Result};

/// The recorder of saved models: Burn's named MessagePack, full precision, in memory (the bytes
/// then go to disk with [`write_atomic`]).
type ModelRecorder = NamedMpkBytesRecorder<FullPrecisionSettings>;

/// The file a model saved at `path` lives in: `path` with `.mpk` appended, so that `model.v1`
/// and `model.v2` stay two files (Burn's own file recorders replace the extension); a path
/// that already ends in `.mpk` is kept.
///
/// ```
/// use std::path::Path;
/// use rl_algo::model_file;
///
/// assert_eq!(model_file("out/policy"), Path::new("out/policy.mpk"));
/// assert_eq!(model_file("model.v2"), Path::new("model.v2.mpk"));
/// assert_eq!(model_file("policy.mpk"), Path::new("policy.mpk"));
/// ```
pub fn model_file(path: impl AsRef<Path>) -> PathBuf {
    let path = path.as_ref();
    if path.extension().is_some_and(|e| e == "mpk") {
        path.to_path_buf()
    } else {
        let mut name = path.as_os_str().to_owned();
        name.push(".mpk");
        PathBuf::from(name)
    }
}

/// Writes `bytes` to `path` atomically: into a temporary file in the same directory, synced
/// to disk, then renamed over `path` (and the directory synced). A crash, a full disk or any
/// other failure leaves the previous content of `path` (or no file) in place, never a
/// fragment; the temporary file is removed on failure. Missing parent directories are
/// created.
///
/// ```
/// let path = std::env::temp_dir().join("rl_algo_doc_atomic.txt");
/// rl_algo::write_atomic(&path, b"first")?;
/// rl_algo::write_atomic(&path, b"second")?;
/// assert_eq!(std::fs::read(&path)?, b"second");
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// # Errors
/// The I/O error of the step that failed.
pub fn write_atomic(path: impl AsRef<Path>, bytes: &[u8]) -> std::io::Result<()> {
    let path = path.as_ref();
    let name = path.file_name().ok_or_else(|| {
        std::io::Error::new(std::io::ErrorKind::InvalidInput, "the path names no file")
    })?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let temporary = dir.join(format!(
        ".{}.tmp-{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    std::fs::create_dir_all(dir)?;
    let result = (|| {
        let mut file = File::create(&temporary)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&temporary, path)?;
        // The rename is durable once the directory entry is on disk.
        #[cfg(unix)]
        File::open(dir)?.sync_all()?;
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    result
}

/// The first bytes of a model file: the format's name and version.
const MODEL_MAGIC: &[u8; 8] = b"RLMODEL1";

/// What is wrong with a model file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModelFileProblem {
    /// The file does not start as a model file of this library.
    #[error("not a model file saved by rl (it does not start with `RLMODEL1`)")]
    NotAModel,
    /// It is truncated or its bytes changed since it was written.
    #[error("damaged: {0}")]
    Damaged(&'static str),
}

/// A model file: [`MODEL_MAGIC`], the length of the header (u32, little-endian), the header
/// (the JSON list of every float parameter's shape, in visiting order), Burn's record of the
/// parameters, and a CRC-32C of all that (u32, little-endian).
fn pack_model(shapes: &[Vec<usize>], record: &[u8]) -> Vec<u8> {
    let header = serde_json::to_vec(shapes).expect("shapes are plain numbers");
    let mut bytes = Vec::with_capacity(MODEL_MAGIC.len() + 8 + header.len() + record.len());
    bytes.extend_from_slice(MODEL_MAGIC);
    bytes.extend_from_slice(&(header.len() as u32).to_le_bytes());
    bytes.extend_from_slice(&header);
    bytes.extend_from_slice(record);
    let crc = crc32c::crc32c(&bytes);
    bytes.extend_from_slice(&crc.to_le_bytes());
    bytes
}

/// The saved shapes and Burn's record of a model file written by [`pack_model`].
fn unpack_model(bytes: &[u8]) -> std::result::Result<(Vec<Vec<usize>>, &[u8]), ModelFileProblem> {
    if !bytes.starts_with(MODEL_MAGIC) {
        return Err(ModelFileProblem::NotAModel);
    }
    let Some((body, crc)) = bytes.split_last_chunk::<4>() else {
        return Err(ModelFileProblem::Damaged("truncated"));
    };
    if body.len() < MODEL_MAGIC.len() + 4 {
        return Err(ModelFileProblem::Damaged("truncated"));
    }
    if crc32c::crc32c(body) != u32::from_le_bytes(*crc) {
        return Err(ModelFileProblem::Damaged(
            "its checksum does not match its contents",
        ));
    }
    let rest = &body[MODEL_MAGIC.len()..];
    let (len, rest) = rest.split_at(4);
    let len = u32::from_le_bytes(len.try_into().expect("4 bytes")) as usize;
    if len > rest.len() {
        return Err(ModelFileProblem::Damaged(
            "its header is longer than the file",
        ));
    }
    let (header, record) = rest.split_at(len);
    let shapes = serde_json::from_slice(header)
        .map_err(|_| ModelFileProblem::Damaged("its header cannot be read"))?;
    Ok((shapes, record))
}

/// Saves any Burn module's parameters to [`model_file`]`(path)`, atomically ([`write_atomic`]):
/// Burn's named MessagePack record (full precision), framed with every parameter's shape and a
/// CRC-32C, so that [`load_model`] refuses a damaged file or one of another architecture.
///
/// # Errors
/// [`AlgoError::Record`] if Burn cannot encode the parameters, [`AlgoError::Io`] naming the
/// file if it cannot be written (the previous file, if any, is then left as it was).
pub fn save_model<B: Backend, M: burn::module::Module<B>>(
    model: M,
    path: impl AsRef<Path>,
) -> Result<()> {
    let file = model_file(path);
    let shapes = parameter_shapes(&model);
    let record = model_to_bytes(model).map_err(|source| AlgoError::Record {
        action: "save",
        path: file.clone(),
        source,
    })?;
    write_atomic(&file, &pack_model(&shapes, &record)).map_err(|source| AlgoError::Io {
        action: "write model",
        path: file,
        source,
    })
}

/// Loads parameters saved by [`save_model`] at `path` (the same path; the file is
/// [`model_file`]`(path)`) into `model` (built with the same architecture).
///
/// # Errors
/// [`AlgoError::Io`] naming the file when it cannot be read, [`AlgoError::ModelFile`] when it
/// is not a saved model or is damaged (truncated, or any byte changed: the checksum),
/// [`AlgoError::Architecture`] when it was saved from another architecture (more or fewer
/// parameters, such as biases the model does not have, or other shapes),
/// [`AlgoError::Record`] when Burn cannot decode it.
pub fn load_model<B: Backend, M: burn::module::Module<B>>(
    model: M,
    path: impl AsRef<Path>,
    device: &B::Device,
) -> Result<M> {
    let path = model_file(path);
    let bytes = std::fs::read(&path).map_err(|source| AlgoError::Io {
        action: "read model",
        path: path.clone(),
        source,
    })?;
    let (saved, record) = unpack_model(&bytes).map_err(|problem| AlgoError::ModelFile {
        path: path.clone(),
        problem,
    })?;
    let expected = parameter_shapes(&model);
    if saved != expected {
        return Err(AlgoError::Architecture {
            path,
            detail: format!(
                "the file holds {} parameters of shapes {saved:?}, the model {} of shapes {expected:?}",
                saved.len(),
                expected.len()
            ),
        });
    }
    model_from_bytes(model, record.to_vec(), device).map_err(|e| match e {
        LoadError::Record(source) => AlgoError::Record {
            action: "load",
            path,
            source,
        },
        LoadError::Architecture(detail) => AlgoError::Architecture { path, detail },
    })
}

/// Why saved parameters could not be loaded.
pub(crate) enum LoadError {
    /// The bytes are not a record Burn can decode.
    Record(burn::record::RecorderError),
    /// They are the parameters of another architecture.
    Architecture(String),
}

/// `model`'s parameters as bytes (the format of [`save_model`]).
pub(crate) fn model_to_bytes<B: Backend, M: burn::module::Module<B>>(
    model: M,
) -> std::result::Result<Vec<u8>, burn::record::RecorderError> {
    record_to_bytes::<B, _>(model.into_record())
}

/// `model` with the parameters saved in `bytes` by [`model_to_bytes`].
pub(crate) fn model_from_bytes<B: Backend, M: burn::module::Module<B>>(
    model: M,
    bytes: Vec<u8>,
    device: &B::Device,
) -> std::result::Result<M, LoadError> {
    let expected = parameter_shapes(&model);
    let record = ModelRecorder::default()
        .load(bytes, device)
        .map_err(LoadError::Record)?;
    // Burn panics when a saved enum variant (e.g. another activation) differs from the model's.
    let loaded =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| model.load_record(record)))
            .map_err(|_| {
                LoadError::Architecture("the saved model has another architecture".into())
            })?;
    let found = parameter_shapes(&loaded);
    if found != expected {
        return Err(LoadError::Architecture(format!(
            "the saved parameters have shapes {found:?}, the model {expected:?}"
        )));
    }
    Ok(loaded)
}

/// Any Burn record (an optimizer's state) as bytes, full precision.
pub(crate) fn record_to_bytes<B: Backend, R: burn::record::Record<B>>(
    record: R,
) -> std::result::Result<Vec<u8>, burn::record::RecorderError> {
    Recorder::<B>::record(&ModelRecorder::default(), record, ())
}

/// A record saved by [`record_to_bytes`].
pub(crate) fn record_from_bytes<B: Backend, R: burn::record::Record<B>>(
    bytes: Vec<u8>,
    device: &B::Device,
) -> std::result::Result<R, burn::record::RecorderError> {
    Recorder::<B>::load(&ModelRecorder::default(), bytes, device)
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

//! TensorBoard event files: every statistic of every update as a scalar against environment
//! steps, so that `tensorboard --logdir OUT` shows a run.
//!
//! The format is small, so it is written here rather than through a protobuf stack: a file of
//! TFRecords (`u64` length, masked CRC-32C of the length, the bytes, masked CRC-32C of the
//! bytes), each holding one `Event` protobuf: the first with `file_version`, then one per
//! update with a `Summary` of `(tag, simple_value)` pairs.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use rl_algo::Stats;

use crate::error::{Result, TrainError as Error};

/// A TensorBoard event file receiving one event per update.
///
/// ```
/// use rl_algo::Stats;
/// use rl_train::tensorboard::EventWriter;
///
/// let dir = std::env::temp_dir().join("rl_train_doc_tensorboard");
/// let mut events = EventWriter::create(&dir)?;
/// let stats: Stats = [("episode/return_mean", 21.5)].into_iter().collect();
/// events.write(1024, &stats)?;
/// assert!(events.path().file_name().unwrap().to_str().unwrap().contains("tfevents"));
/// # Ok::<(), rl_train::TrainError>(())
/// ```
#[derive(Debug)]
pub struct EventWriter {
    path: PathBuf,
    file: File,
}

impl EventWriter {
    /// Creates `dir` if needed and a new event file in it (`events.out.tfevents.<seconds>.rl`,
    /// TensorBoard's naming), with the file-version event.
    ///
    /// # Errors
    /// [`Error::Io`] if the directory or the file cannot be created or written.
    pub fn create(dir: impl AsRef<Path>) -> Result<Self> {
        let dir = dir.as_ref();
        std::fs::create_dir_all(dir).map_err(|e| Error::io("creating directory", dir, e))?;
        let now = wall_time();
        // The process id keeps two writers started in the same second apart.
        let name = format!(
            "events.out.tfevents.{}.rl.{}",
            now as u64,
            std::process::id()
        );
        let path = dir.join(name);
        let file = File::create(&path).map_err(|e| Error::io("creating", &path, e))?;
        let mut writer = Self { path, file };
        let mut event = Vec::new();
        put_double(&mut event, 1, now);
        put_bytes(&mut event, 3, b"brain.Event:2");
        writer.record(&event)?;
        Ok(writer)
    }

    /// Writes every statistic of `stats` as a scalar at `step` (the environment steps)
    /// straight to the file, so that a killed run keeps every finished update. Tags are the
    /// statistics' keys (`episode/return_mean`, `losses/policy`, ...), which TensorBoard
    /// groups by prefix.
    ///
    /// # Errors
    /// [`Error::Io`] if the file cannot be written.
    pub fn write(&mut self, step: u64, stats: &Stats) -> Result<()> {
        let mut summary = Vec::new();
        for (key, value) in stats.iter() {
            let mut entry = Vec::new();
            put_bytes(&mut entry, 1, key.as_bytes());
            // TensorBoard's scalars are f32 (`simple_value`).
            put_float(&mut entry, 2, value as f32);
            put_bytes(&mut summary, 1, &entry);
        }
        let mut event = Vec::new();
        put_double(&mut event, 1, wall_time());
        put_varint_field(&mut event, 2, step);
        put_bytes(&mut event, 5, &summary);
        self.record(&event)
    }

    /// The event file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one TFRecord holding `data`, with one write call (nothing is buffered, so a
    /// killed run keeps every finished record).
    fn record(&mut self, data: &[u8]) -> Result<()> {
        let len = (data.len() as u64).to_le_bytes();
        let mut out = Vec::with_capacity(data.len() + 16);
        out.extend_from_slice(&len);
        out.extend_from_slice(&masked_crc(&len).to_le_bytes());
        out.extend_from_slice(data);
        out.extend_from_slice(&masked_crc(data).to_le_bytes());
        self.file
            .write_all(&out)
            .map_err(|e| Error::io("writing", &self.path, e))
    }
}

/// Seconds since the Unix epoch.
fn wall_time() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// TFRecord's checksum: CRC-32C, rotated right by 15 bits, plus a constant.
fn masked_crc(data: &[u8]) -> u32 {
    let crc = crc32c::crc32c(data);
    crc.rotate_right(15).wrapping_add(0xa282_ead8)
}

/// A protobuf varint.
fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// A protobuf field key: field number and wire type.
fn put_key(out: &mut Vec<u8>, field: u32, wire_type: u8) {
    put_varint(out, (u64::from(field) << 3) | u64::from(wire_type));
}

/// A varint field (wire type 0).
fn put_varint_field(out: &mut Vec<u8>, field: u32, v: u64) {
    put_key(out, field, 0);
    put_varint(out, v);
}

/// A `double` field (wire type 1).
fn put_double(out: &mut Vec<u8>, field: u32, v: f64) {
    put_key(out, field, 1);
    out.extend_from_slice(&v.to_le_bytes());
}

/// A length-delimited field (wire type 2): a string, bytes or a nested message.
fn put_bytes(out: &mut Vec<u8>, field: u32, bytes: &[u8]) {
    put_key(out, field, 2);
    put_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// A `float` field (wire type 5).
fn put_float(out: &mut Vec<u8>, field: u32, v: f32) {
    put_key(out, field, 5);
    out.extend_from_slice(&v.to_le_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32c_and_its_mask_match_the_published_check_values() {
        // CRC-32C's check value (RFC 3720, and every CRC catalogue): "123456789".
        assert_eq!(crc32c::crc32c(b"123456789"), 0xe306_9283);
        // The mask, computed by hand from that value: rotr(0xe3069283, 15) = 0x2507c60d, plus
        // 0xa282ead8 modulo 2^32.
        assert_eq!(masked_crc(b"123456789"), 0xc78a_b0e5);
    }

    #[test]
    fn protobuf_encoding_of_the_fields_used() {
        let mut v = Vec::new();
        put_varint(&mut v, 300);
        assert_eq!(v, [0xac, 0x02]); // the protobuf documentation's example
        let mut f = Vec::new();
        put_varint_field(&mut f, 2, 1);
        put_float(&mut f, 2, 1.0);
        put_bytes(&mut f, 1, b"ab");
        assert_eq!(
            f,
            [
                0x10, 0x01, 0x15, 0x00, 0x00, 0x80, 0x3f, 0x0a, 0x02, b'a', b'b'
            ]
        );
    }

    #[test]
    fn records_are_framed_with_length_and_checksums() {
        let dir = std::env::temp_dir()
            .join(format!("rl_train_tensorboard_{}", std::process::id()))
            .join("framing");
        let _ = std::fs::remove_dir_all(&dir);
        let mut w = EventWriter::create(&dir).unwrap();
        let stats: Stats = [("a", 2.0)].into_iter().collect();
        w.write(7, &stats).unwrap();
        let bytes = std::fs::read(w.path()).unwrap();
        let mut at = 0;
        let mut records = Vec::new();
        while at < bytes.len() {
            let len_bytes = &bytes[at..at + 8];
            let len = u64::from_le_bytes(len_bytes.try_into().unwrap()) as usize;
            let len_crc = u32::from_le_bytes(bytes[at + 8..at + 12].try_into().unwrap());
            assert_eq!(len_crc, masked_crc(len_bytes));
            let data = &bytes[at + 12..at + 12 + len];
            let data_crc =
                u32::from_le_bytes(bytes[at + 12 + len..at + 16 + len].try_into().unwrap());
            assert_eq!(data_crc, masked_crc(data));
            records.push(data.to_vec());
            at += 16 + len;
        }
        assert_eq!(records.len(), 2);
        // The first event: wall_time, then file_version.
        assert_eq!(records[0][0], 0x09);
        assert_eq!(&records[0][9..], b"\x1a\x0dbrain.Event:2");
        // The second: wall_time, step 7, a summary with the value tagged "a" = 2.0f32.
        assert_eq!(records[1][0], 0x09);
        assert_eq!(
            &records[1][9..],
            [
                0x10, 7, 0x2a, 10, 0x0a, 8, 0x0a, 1, b'a', 0x15, 0x00, 0x00, 0x00, 0x40
            ]
        );
    }
}

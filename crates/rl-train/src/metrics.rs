//! A CSV log of training metrics (through the `csv` crate): one row per update, one column per
//! chosen statistic.
//!
//! Cells hold `f64` values written so that they read back bit for bit (`1024`, `0.1`,
//! `1e-7`, `NaN`, `inf`); a statistic absent from a row's stats leaves its cell empty (eval
//! columns are filled only on eval steps, for example). Every row is flushed as soon as it is
//! complete, so a killed run keeps every finished row.

use std::fs::File;
use std::path::{Path, PathBuf};

use rl_algo::Stats;

use crate::error::{Result, TrainError as Error};

/// One CSV column: its header `name` and the stats `key` its cells are read from.
///
/// ```
/// use rl_train::metrics::Column;
///
/// let col = Column::new("returns_mean", "returns/mean");
/// assert_eq!(col.name, "returns_mean");
/// assert_eq!(col.key, "returns/mean");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Column {
    /// The CSV header; no commas, quotes or line breaks.
    pub name: String,
    /// The stats key whose value fills the column.
    pub key: String,
}

impl Column {
    /// A column named `name` showing the statistic `key`.
    ///
    /// ```
    /// use rl_train::metrics::Column;
    ///
    /// assert_eq!(Column::new("kl", "monitors/kl_div").key, "monitors/kl_div");
    /// ```
    pub fn new(name: impl Into<String>, key: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            key: key.into(),
        }
    }
}

/// The default columns: `(header, stats key)`.
const DEFAULT_COLUMNS: [(&str, &str); 18] = [
    ("env_steps", "env/steps"),
    ("wall_s", "time/wall_s"),
    ("episode_return_mean", "episode/return_mean"),
    ("episode_length_mean", "episode/length_mean"),
    ("returns_mean", "returns/mean"),
    ("loss_policy", "losses/policy"),
    ("loss_value", "losses/vf"),
    ("loss_entropy", "losses/entropy"),
    ("loss_total", "losses/total"),
    ("approx_kl", "monitors/kl_div"),
    ("clip_fraction", "monitors/clip_fraction"),
    ("explained_variance", "monitors/explained_variance"),
    ("learning_rate", "coefficients/learning_rate"),
    ("entropy_coeff", "coefficients/entropy"),
    ("transitions_per_s", "profiling/transitions_per_s"),
    ("collect_ms", "profiling/collect_ms"),
    ("step_ms", "profiling/step_ms"),
    ("eval_return_mean", "eval/episode/return_mean"),
];

/// A CSV file receiving one row of statistics per call to [`write`](Self::write).
///
/// ```
/// use rl_algo::Stats;
/// use rl_train::metrics::{read_column, Column, MetricsCsv};
///
/// let path = std::env::temp_dir().join("rl_train_doc_metrics/run.csv");
/// let mut csv = MetricsCsv::create(&path, vec![
///     Column::new("env_steps", "env/steps"),
///     Column::new("eval_return_mean", "eval/episode/return_mean"),
/// ])?;
/// csv.write(&[("env/steps", 1024.0)].into_iter().collect::<Stats>())?;
/// let mut row = Stats::new();
/// row.insert("env/steps", 2048.0);
/// row.insert("eval/episode/return_mean", 9.5);
/// csv.write(&row)?;
/// let text = std::fs::read_to_string(&path).unwrap();
/// assert_eq!(text, "env_steps,eval_return_mean\n1024,\n2048,9.5\n");
/// assert_eq!(read_column(&path, "eval_return_mean")?, [None, Some(9.5)]);
/// # Ok::<(), rl_train::TrainError>(())
/// ```
#[derive(Debug)]
pub struct MetricsCsv {
    path: PathBuf,
    columns: Vec<Column>,
    writer: csv::Writer<File>,
    rows: u64,
}

impl MetricsCsv {
    /// Creates (or truncates) the file at `path`, creating its parent directories, and writes
    /// the header. Column names must be non-empty and unique, and there must be at least one
    /// column ([`Error::InvalidConfig`] otherwise).
    ///
    /// ```
    /// use rl_train::metrics::{Column, MetricsCsv};
    ///
    /// let dir = std::env::temp_dir().join("rl_train_doc_create/nested/dirs");
    /// let csv = MetricsCsv::create(dir.join("m.csv"), MetricsCsv::default_columns())?;
    /// assert!(csv.path().exists());
    /// assert!(MetricsCsv::create(dir.join("bad.csv"), vec![Column::new("", "x")]).is_err());
    /// # Ok::<(), rl_train::TrainError>(())
    /// ```
    pub fn create(path: impl AsRef<Path>, columns: Vec<Column>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        validate_columns(&columns)?;
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .map_err(|e| Error::io("creating directory", parent, e))?;
        }
        let file = File::create(&path).map_err(|e| Error::io("creating", &path, e))?;
        let mut writer = csv::Writer::from_writer(file);
        let csv_error = |source| Error::Csv {
            action: "writing",
            path: path.clone(),
            source,
        };
        writer
            .write_record(columns.iter().map(|c| c.name.as_str()))
            .map_err(csv_error)?;
        writer.flush().map_err(|e| Error::io("writing", &path, e))?;
        Ok(Self {
            path,
            columns,
            writer,
            rows: 0,
        })
    }

    /// The default trainer columns, in this order: `env_steps`, `wall_s`,
    /// `episode_return_mean`, `episode_length_mean`, `returns_mean`, `loss_policy`,
    /// `loss_value`, `loss_entropy`, `loss_total`, `approx_kl`, `clip_fraction`,
    /// `explained_variance`, `learning_rate`, `entropy_coeff`, `transitions_per_s`,
    /// `collect_ms`, `step_ms`, `eval_return_mean`, reading `env/steps`, `time/wall_s`, `episode/return_mean`,
    /// `episode/length_mean`, `returns/mean`, `losses/policy`, `losses/vf`, `losses/entropy`,
    /// `losses/total`, `monitors/kl_div`, `monitors/clip_fraction`,
    /// `monitors/explained_variance`, `coefficients/learning_rate`, `coefficients/entropy`,
    /// `profiling/transitions_per_s`, `profiling/collect_ms`, `profiling/step_ms` and
    /// `eval/episode/return_mean`.
    ///
    /// ```
    /// use rl_train::metrics::{Column, MetricsCsv};
    ///
    /// let cols = MetricsCsv::default_columns();
    /// assert_eq!(cols.len(), 18);
    /// assert_eq!(cols[9], Column::new("approx_kl", "monitors/kl_div"));
    /// ```
    pub fn default_columns() -> Vec<Column> {
        DEFAULT_COLUMNS
            .iter()
            .map(|(name, key)| Column::new(*name, *key))
            .collect()
    }

    /// Appends one row built from `stats` and flushes it to the file. A column whose key is
    /// not in `stats` gets an empty cell.
    ///
    /// ```
    /// use rl_algo::Stats;
    /// use rl_train::metrics::{read_column, Column, MetricsCsv};
    ///
    /// let path = std::env::temp_dir().join("rl_train_doc_write.csv");
    /// let mut csv = MetricsCsv::create(&path, vec![Column::new("loss", "losses/total")])?;
    /// csv.write(&[("losses/total", f64::NAN)].into_iter().collect::<Stats>())?;
    /// csv.write(&[("losses/total", 0.1)].into_iter().collect::<Stats>())?;
    /// assert_eq!(csv.rows_written(), 2);
    /// let col = read_column(&path, "loss")?;
    /// assert!(col[0].unwrap().is_nan());
    /// assert_eq!(col[1], Some(0.1));
    /// # Ok::<(), rl_train::TrainError>(())
    /// ```
    pub fn write(&mut self, stats: &Stats) -> Result<()> {
        let cells = self
            .columns
            .iter()
            .map(|c| stats.get(&c.key).map(format_cell).unwrap_or_default());
        self.writer
            .write_record(cells)
            .map_err(|source| Error::Csv {
                action: "writing",
                path: self.path.clone(),
                source,
            })?;
        self.writer
            .flush()
            .map_err(|e| Error::io("writing", &self.path, e))?;
        self.rows += 1;
        Ok(())
    }

    /// The file being written.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The columns, in file order.
    pub fn columns(&self) -> &[Column] {
        &self.columns
    }

    /// How many rows (not counting the header) were written.
    pub fn rows_written(&self) -> u64 {
        self.rows
    }
}

/// Checks the column list (see [`MetricsCsv::create`]).
fn validate_columns(columns: &[Column]) -> Result<()> {
    if columns.is_empty() {
        return Err(Error::invalid("columns", "[]", "need at least one column"));
    }
    for (i, c) in columns.iter().enumerate() {
        if c.name.is_empty() {
            return Err(Error::invalid("columns.name", "\"\"", "must be non-empty"));
        }
        if columns[..i].iter().any(|d| d.name == c.name) {
            return Err(Error::invalid(
                "columns.name",
                format!("{:?}", c.name),
                "column names must be unique",
            ));
        }
    }
    Ok(())
}

/// Formats a cell so that it parses back to the same `f64`: plain decimal (`1024`, `0.25`)
/// for ordinary magnitudes, scientific (`1e-7`, `2.5e20`) for very small or large ones,
/// `NaN`, `inf`, `-inf`.
fn format_cell(v: f64) -> String {
    let a = v.abs();
    if v != 0.0 && a.is_finite() && !(1e-5..1e16).contains(&a) {
        format!("{v:e}")
    } else {
        format!("{v}")
    }
}

/// Reads the column `name` of a CSV file with a header row (as [`MetricsCsv`] writes): one
/// entry per row, `None` for an empty cell.
///
/// # Errors
/// [`Error::MissingColumn`] if the header has no such column (listing the header);
/// [`Error::Io`] if the file cannot be opened; [`Error::Csv`] if it is not CSV (a row with
/// another number of cells than the header, an empty file) or a cell is not a number.
///
/// ```
/// use rl_train::metrics::read_column;
///
/// let path = std::env::temp_dir().join("rl_train_doc_read.csv");
/// std::fs::write(&path, "a,b\n1,\n2,0.5\n").unwrap();
/// assert_eq!(read_column(&path, "a")?, [Some(1.0), Some(2.0)]);
/// assert_eq!(read_column(&path, "b")?, [None, Some(0.5)]);
/// assert!(read_column(&path, "c").is_err());
/// # Ok::<(), rl_train::TrainError>(())
/// ```
pub fn read_column(path: impl AsRef<Path>, name: &str) -> Result<Vec<Option<f64>>> {
    let path = path.as_ref();
    let file = File::open(path).map_err(|e| Error::io("reading", path, e))?;
    let csv_error = |source| Error::Csv {
        action: "reading",
        path: path.to_path_buf(),
        source,
    };
    let mut reader = csv::Reader::from_reader(file);
    let header = reader.headers().map_err(csv_error)?.clone();
    if header.is_empty() {
        return Err(csv_error(csv::Error::from(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "the file is empty (no header)",
        ))));
    }
    let index = header
        .iter()
        .position(|h| h == name)
        .ok_or_else(|| Error::MissingColumn {
            path: path.to_path_buf(),
            column: name.to_owned(),
            available: header.iter().collect::<Vec<_>>().join(", "),
        })?;
    let mut out = Vec::new();
    for record in reader.records() {
        let record = record.map_err(csv_error)?;
        let cell = record.get(index).unwrap_or("").trim();
        if cell.is_empty() {
            out.push(None);
            continue;
        }
        let value = cell.parse::<f64>().map_err(|_| {
            let line = record.position().map_or(0, |p| p.line());
            csv_error(csv::Error::from(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("line {line}, column `{name}`: `{cell}` is not a number"),
            )))
        })?;
        out.push(Some(value));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh directory under the system temp dir for one test.
    fn temp_dir(test: &str) -> PathBuf {
        let dir = std::env::temp_dir()
            .join(format!("rl_train_metrics_{}", std::process::id()))
            .join(test);
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn default_columns_exact() {
        let cols = MetricsCsv::default_columns();
        let names: Vec<&str> = cols.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "env_steps",
                "wall_s",
                "episode_return_mean",
                "episode_length_mean",
                "returns_mean",
                "loss_policy",
                "loss_value",
                "loss_entropy",
                "loss_total",
                "approx_kl",
                "clip_fraction",
                "explained_variance",
                "learning_rate",
                "entropy_coeff",
                "transitions_per_s",
                "collect_ms",
                "step_ms",
                "eval_return_mean"
            ]
        );
        assert_eq!(cols[0].key, "env/steps");
        assert_eq!(cols[1].key, "time/wall_s");
        assert_eq!(cols[6].key, "losses/vf");
        assert_eq!(cols[17].key, "eval/episode/return_mean");
    }

    #[test]
    fn header_order_and_round_trip() {
        let path = temp_dir("round_trip").join("a/b/metrics.csv");
        let mut csv = MetricsCsv::create(&path, MetricsCsv::default_columns()).unwrap();
        let header = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            header,
            "env_steps,wall_s,episode_return_mean,episode_length_mean,returns_mean,\
             loss_policy,loss_value,loss_entropy,loss_total,approx_kl,clip_fraction,\
             explained_variance,learning_rate,entropy_coeff,transitions_per_s,collect_ms,step_ms,\
             eval_return_mean\n"
        );
        let tricky = [
            0.1,
            1.0 / 3.0,
            -2.5e-9,
            6.02e23,
            f64::MIN_POSITIVE,
            f64::MAX,
            -0.0,
            1024.0,
            123_456_789.123_456_78,
            f64::INFINITY,
        ];
        for (i, &v) in tricky.iter().enumerate() {
            let mut s = Stats::new();
            s.insert("env/steps", (i as f64 + 1.0) * 1024.0);
            s.insert("losses/total", v);
            if i % 3 == 0 {
                s.insert("eval/episode/return_mean", v * 2.0);
            }
            csv.write(&s).unwrap();
        }
        assert_eq!(csv.rows_written(), tricky.len() as u64);
        let steps = read_column(&path, "env_steps").unwrap();
        let loss = read_column(&path, "loss_total").unwrap();
        let eval = read_column(&path, "eval_return_mean").unwrap();
        let wall = read_column(&path, "wall_s").unwrap();
        for (i, &v) in tricky.iter().enumerate() {
            assert_eq!(steps[i], Some((i as f64 + 1.0) * 1024.0));
            assert_eq!(loss[i].map(f64::to_bits), Some(v.to_bits()), "value {v}");
            let expected = (i % 3 == 0).then_some(v * 2.0);
            assert_eq!(eval[i], expected);
            assert_eq!(wall[i], None);
        }
        // Integers print without a fraction.
        let text = std::fs::read_to_string(&path).unwrap();
        let second = text.lines().nth(1).unwrap();
        assert!(
            second.starts_with("1024,,,,,,,,0.1,,,,,,,,,0.2"),
            "{second}"
        );
    }

    #[test]
    fn nan_cells() {
        let path = temp_dir("nan").join("m.csv");
        let mut csv = MetricsCsv::create(&path, vec![Column::new("x", "x")]).unwrap();
        csv.write(&[("x", f64::NAN)].into_iter().collect()).unwrap();
        csv.write(&Stats::new()).unwrap();
        // A row of one empty cell is quoted, so that it is not a blank line.
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "x\nNaN\n\"\"\n");
        let col = read_column(&path, "x").unwrap();
        assert_eq!(col.len(), 2);
        assert!(col[0].unwrap().is_nan());
        assert_eq!(col[1], None);
    }

    #[test]
    fn rows_survive_without_drop() {
        // Rows are on disk before the writer is dropped (a killed run keeps them).
        let path = temp_dir("flush").join("m.csv");
        let mut csv = MetricsCsv::create(&path, vec![Column::new("a", "a")]).unwrap();
        csv.write(&[("a", 1.5)].into_iter().collect()).unwrap();
        assert_eq!(read_column(&path, "a").unwrap(), [Some(1.5)]);
        drop(csv);
    }

    #[test]
    fn invalid_columns() {
        let dir = temp_dir("invalid");
        let field = |r: Result<MetricsCsv>| match r {
            Err(Error::InvalidConfig { field, .. }) => field,
            other => panic!("expected InvalidConfig, got {other:?}"),
        };
        assert_eq!(
            field(MetricsCsv::create(dir.join("a.csv"), vec![])),
            "columns"
        );
        let cols = vec![Column::new("", "k")];
        assert_eq!(
            field(MetricsCsv::create(dir.join("b.csv"), cols)),
            "columns.name"
        );
        let dup = vec![Column::new("a", "k"), Column::new("a", "j")];
        assert_eq!(
            field(MetricsCsv::create(dir.join("c.csv"), dup)),
            "columns.name"
        );
        // Nothing was created for invalid columns.
        assert!(!dir.join("a.csv").exists());
    }

    #[test]
    fn create_reports_io_errors() {
        let dir = temp_dir("io");
        std::fs::create_dir_all(&dir).unwrap();
        let blocker = dir.join("file");
        std::fs::write(&blocker, "x").unwrap();
        // A parent "directory" that is a file cannot be created.
        match MetricsCsv::create(blocker.join("m.csv"), MetricsCsv::default_columns()) {
            Err(Error::Io { action, path, .. }) => {
                assert_eq!(action, "creating directory");
                assert_eq!(path, blocker);
            }
            other => panic!("expected Io, got {other:?}"),
        }
    }

    #[test]
    fn read_column_errors() {
        let dir = temp_dir("read");
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("m.csv");
        assert!(matches!(
            read_column(&p, "a"),
            Err(Error::Io {
                action: "reading",
                ..
            })
        ));
        std::fs::write(&p, "a,b\n1,2\n").unwrap();
        match read_column(&p, "c") {
            Err(Error::MissingColumn {
                column, available, ..
            }) => {
                assert_eq!(column, "c");
                assert_eq!(available, "a, b");
            }
            other => panic!("expected MissingColumn, got {other:?}"),
        }
        std::fs::write(&p, "a,b\n1,2\n3\n").unwrap();
        let invalid = |r: Result<Vec<Option<f64>>>| matches!(r, Err(Error::Csv { .. }));
        assert!(invalid(read_column(&p, "a")));
        std::fs::write(&p, "a,b\n1,x\n").unwrap();
        assert!(invalid(read_column(&p, "b")));
        assert_eq!(read_column(&p, "a").unwrap(), [Some(1.0)]);
        std::fs::write(&p, "").unwrap();
        assert!(invalid(read_column(&p, "a")));
        std::fs::write(&p, "a,b\r\n1,\r\n").unwrap();
        assert_eq!(read_column(&p, "b").unwrap(), [None]);
    }

    #[test]
    fn cell_format() {
        assert_eq!(format_cell(1024.0), "1024");
        assert_eq!(format_cell(0.5), "0.5");
        assert_eq!(format_cell(1e-7), "1e-7");
        assert_eq!(format_cell(2.5e20), "2.5e20");
        assert_eq!(format_cell(1e15), "1000000000000000");
        assert_eq!(format_cell(f64::NAN), "NaN");
        assert_eq!(format_cell(f64::NEG_INFINITY), "-inf");
        assert_eq!(format_cell(0.0), "0");
    }
}

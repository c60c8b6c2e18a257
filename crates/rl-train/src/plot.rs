//! Learning curves as PNG images, drawn with `plotters` in a font bundled with the crate (a
//! subset of DejaVu Sans: no system fonts needed): a title, a legend, axes with their labels, one
//! line per series and an optional dashed target line.

use std::path::Path;

use plotters::prelude::*;
use plotters::style::FontStyle;

use crate::error::{Result, TrainError};

/// The series' colours, in order (cycled).
pub const SERIES_COLOURS: [[u8; 3]; 4] =
    [[31, 119, 180], [255, 127, 14], [44, 160, 44], [214, 39, 40]];

/// The target line's colour.
pub const TARGET_COLOUR: [u8; 3] = [70, 70, 70];

/// The image size, in pixels.
pub const SIZE: (u32, u32) = (800, 500);

/// The font family the bundled font is registered under.
const FONT: &str = "rl-sans";

/// DejaVu Sans, printable ASCII and a few signs (`assets/README.md` says how it was cut and
/// its licence).
static FONT_BYTES: &[u8] = include_bytes!("../assets/DejaVuSans-subset.ttf");

/// One named curve: `(x, y)` points drawn in order. Points with a non-finite coordinate are
/// skipped (the line joins their finite neighbours).
///
/// ```
/// use rl_train::plot::Series;
///
/// let s = Series::new("returns", vec![(0.0, 1.0), (1.0, f64::NAN), (2.0, 3.0)]);
/// assert_eq!(s.points.len(), 3);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    /// The legend entry.
    pub name: String,
    /// The points, in drawing order.
    pub points: Vec<(f64, f64)>,
}

impl Series {
    /// A series named `name` with `points`.
    pub fn new(name: impl Into<String>, points: Vec<(f64, f64)>) -> Self {
        Self {
            name: name.into(),
            points,
        }
    }

    /// A series from two CSV columns (as read by
    /// [`read_column`](super::metrics::read_column)): the rows where both cells are present
    /// become points.
    ///
    /// ```
    /// use rl_train::plot::Series;
    ///
    /// let xs = [Some(1.0), Some(2.0), Some(3.0)];
    /// let ys = [Some(10.0), None, Some(30.0)];
    /// let s = Series::from_columns("eval", &xs, &ys);
    /// assert_eq!(s.points, [(1.0, 10.0), (3.0, 30.0)]);
    /// ```
    pub fn from_columns(name: impl Into<String>, xs: &[Option<f64>], ys: &[Option<f64>]) -> Self {
        let points = xs
            .iter()
            .zip(ys)
            .filter_map(|(x, y)| Some(((*x)?, (*y)?)))
            .collect();
        Self::new(name, points)
    }

    fn finite(&self) -> impl Iterator<Item = (f64, f64)> + '_ {
        self.points
            .iter()
            .copied()
            .filter(|(x, y)| x.is_finite() && y.is_finite())
    }
}

/// The bundled font, registered once for the process.
fn register_font() -> Result<()> {
    static REGISTERED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| {
        plotters::style::register_font(FONT, FontStyle::Normal, FONT_BYTES).is_ok()
    });
    if ok {
        Ok(())
    } else {
        Err(TrainError::Plot("the bundled font cannot be read".into()))
    }
}

/// `[lo, hi]` of `values` widened by 5% (a constant one by ±1, or ±5% of its size), or
/// `[0, 1]` without values.
fn range(values: impl Iterator<Item = f64>) -> std::ops::Range<f64> {
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| {
        (l.min(v), h.max(v))
    });
    if lo > hi {
        return 0.0..1.0;
    }
    let pad = if hi > lo {
        (hi - lo) * 0.05
    } else {
        (lo.abs() * 0.05).max(1.0)
    };
    (lo - pad)..(hi + pad)
}

/// A tick's label: at most three decimals, without trailing zeros (`25000`, `0.125`).
fn tick_label(v: f64) -> String {
    let s = format!("{v:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" { "0".into() } else { s.into() }
}

fn rgb([r, g, b]: [u8; 3]) -> RGBColor {
    RGBColor(r, g, b)
}

/// Draws `series` (and an optional dashed `target` line) as an RGB image of [`SIZE`], rows top
/// to bottom. Non-finite points are skipped; with no finite point the image still has its axes
/// and a "no data" note.
///
/// # Errors
/// [`TrainError::Plot`] if drawing fails.
pub fn render(
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series],
    target: Option<f64>,
) -> Result<Vec<u8>> {
    register_font()?;
    let (w, h) = SIZE;
    let mut pixels = vec![255u8; (w * h * 3) as usize];
    draw(&mut pixels, title, x_label, y_label, series, target).map_err(TrainError::Plot)?;
    Ok(pixels)
}

fn draw(
    pixels: &mut [u8],
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series],
    target: Option<f64>,
) -> std::result::Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let root = BitMapBackend::with_buffer(pixels, SIZE).into_drawing_area();
    root.fill(&WHITE)?;
    let xs = range(series.iter().flat_map(|s| s.finite().map(|p| p.0)));
    let ys = range(
        series
            .iter()
            .flat_map(|s| s.finite().map(|p| p.1))
            .chain(target.filter(|t| t.is_finite())),
    );
    let mut chart = ChartBuilder::on(&root)
        .caption(title, (FONT, 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(xs.clone(), ys)?;
    chart
        .configure_mesh()
        .x_desc(x_label)
        .y_desc(y_label)
        .x_label_formatter(&|v| tick_label(*v))
        .y_label_formatter(&|v| tick_label(*v))
        .label_style((FONT, 13))
        .axis_desc_style((FONT, 14))
        .light_line_style(RGBColor(240, 240, 240))
        .draw()?;
    if let Some(t) = target.filter(|t| t.is_finite()) {
        let colour = rgb(TARGET_COLOUR);
        let dashes =
            DashedLineSeries::new([(xs.start, t), (xs.end, t)], 8, 5, colour.stroke_width(1));
        chart
            .draw_series(dashes)?
            .label(format!("target {t}"))
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 18, y)], colour));
    }
    let mut any = false;
    for (i, s) in series.iter().enumerate() {
        let colour = rgb(SERIES_COLOURS[i % SERIES_COLOURS.len()]);
        let points: Vec<(f64, f64)> = s.finite().collect();
        any |= !points.is_empty();
        let style = colour.stroke_width(2);
        chart
            .draw_series(LineSeries::new(points.iter().copied(), style))?
            .label(s.name.clone())
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 18, y)], style));
        // A lone point has no line: mark it.
        if let [p] = points[..] {
            chart.draw_series([Circle::new(p, 3, colour.filled())])?;
        }
    }
    if !any {
        root.draw_text(
            "no data",
            &(FONT, 16).into_font().color(&RGBColor(120, 120, 120)),
            (SIZE.0 as i32 / 2 - 30, SIZE.1 as i32 / 2),
        )?;
    }
    chart
        .configure_series_labels()
        .label_font((FONT, 13))
        .background_style(WHITE.mix(0.8))
        .border_style(RGBColor(200, 200, 200))
        .position(SeriesLabelPosition::LowerRight)
        .draw()?;
    root.present()?;
    Ok(())
}

/// Draws `series` (see [`render`]) as a PNG at `path`, written atomically.
///
/// ```
/// use rl_train::plot::{plot_learning_curve, Series};
///
/// let path = std::env::temp_dir().join("rl_train_doc_plot/curve.png");
/// let train = Series::new("train", vec![(2048.0, 22.0), (4096.0, 40.0), (6144.0, 95.5)]);
/// plot_learning_curve(&path, "CartPole", "env steps", "return", &[train], Some(475.0))?;
/// assert!(path.exists());
/// # Ok::<(), rl_train::TrainError>(())
/// ```
///
/// # Errors
/// [`TrainError::Plot`] if drawing fails, [`TrainError::Png`] if encoding does,
/// [`TrainError::Io`] if the file cannot be written.
pub fn plot_learning_curve(
    path: impl AsRef<Path>,
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series],
    target: Option<f64>,
) -> Result<()> {
    let pixels = render(title, x_label, y_label, series, target)?;
    let path = path.as_ref();
    let mut png = Vec::new();
    let mut encoder = png::Encoder::new(&mut png, SIZE.0, SIZE.1);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let png_error = |source| TrainError::Png {
        path: path.to_path_buf(),
        source,
    };
    let mut writer = encoder.write_header().map_err(png_error)?;
    writer.write_image_data(&pixels).map_err(png_error)?;
    writer.finish().map_err(png_error)?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|source| TrainError::Io {
            action: "create the plot's directory",
            path: dir.to_path_buf(),
            source,
        })?;
    }
    rl_algo::write_atomic(path, &png).map_err(|source| TrainError::Io {
        action: "write learning curve",
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(pixels: &[u8], colour: [u8; 3]) -> usize {
        pixels.chunks(3).filter(|p| *p == colour).count()
    }

    fn curve() -> Vec<Series> {
        vec![
            Series::new(
                "train",
                (0..50)
                    .map(|i| (i as f64 * 100.0, (i * i) as f64))
                    .collect(),
            ),
            Series::new(
                "eval",
                vec![(500.0, 10.0), (2500.0, f64::NAN), (4500.0, 2000.0)],
            ),
        ]
    }

    #[test]
    fn series_and_target_are_drawn_in_their_colours() {
        let pixels = render("t", "x", "y", &curve(), Some(1500.0)).unwrap();
        assert_eq!(pixels.len(), (SIZE.0 * SIZE.1 * 3) as usize);
        assert!(count(&pixels, SERIES_COLOURS[0]) > 500, "the train line");
        assert!(count(&pixels, SERIES_COLOURS[1]) > 200, "the eval line");
        assert!(count(&pixels, TARGET_COLOUR) > 100, "the target line");
        let untargeted = render("t", "x", "y", &curve(), None).unwrap();
        assert!(count(&untargeted, TARGET_COLOUR) < count(&pixels, TARGET_COLOUR));
    }

    #[test]
    fn text_is_drawn_with_the_bundled_font() {
        let a = render("PPO on CartPole-v1", "x", "y", &curve(), None).unwrap();
        let b = render("", "x", "y", &curve(), None).unwrap();
        // The caption band (the top 30 rows) differs only by the title's glyphs.
        let band = (SIZE.0 * 30 * 3) as usize;
        let differing = a[..band]
            .iter()
            .zip(&b[..band])
            .filter(|(p, q)| p != q)
            .count();
        assert!(
            differing > 100,
            "{differing} bytes of the title band differ"
        );
    }

    #[test]
    fn tick_labels_are_short() {
        assert_eq!(tick_label(25000.0), "25000");
        assert_eq!(tick_label(0.125), "0.125");
        assert_eq!(tick_label(-2.5), "-2.5");
        assert_eq!(tick_label(-0.0001), "0");
        assert_eq!(tick_label(0.0), "0");
    }

    #[test]
    fn no_data_still_draws_axes() {
        for series in [
            vec![],
            vec![Series::new(
                "nan",
                vec![(f64::NAN, 1.0), (2.0, f64::INFINITY)],
            )],
        ] {
            let pixels = render("t", "x", "y", &series, Some(f64::NAN)).unwrap();
            let dark = pixels
                .chunks(3)
                .filter(|p| p.iter().all(|&c| c < 100))
                .count();
            assert!(dark > 500, "axes and labels: {dark} dark pixels");
        }
        // A single point is marked.
        let one = render("t", "x", "y", &[Series::new("one", vec![(1.0, 1.0)])], None).unwrap();
        assert!(count(&one, SERIES_COLOURS[0]) > 10);
    }

    #[test]
    fn png_decodes_at_its_size_and_write_errors_are_reported() {
        let dir = std::env::temp_dir().join(format!("rl_train_plot_{}", std::process::id()));
        let path = dir.join("curve.png");
        plot_learning_curve(&path, "t", "x", "y", &curve(), Some(1.0)).unwrap();
        let decoder =
            png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&path).unwrap()));
        let reader = decoder.read_info().unwrap();
        let info = reader.info();
        assert_eq!((info.width, info.height), SIZE);
        assert_eq!(info.color_type, png::ColorType::Rgb);
        // A directory where the file should be: an error naming it, not a panic.
        let blocked = dir.join("blocked.png");
        std::fs::create_dir_all(&blocked).unwrap();
        let error = plot_learning_curve(&blocked, "t", "x", "y", &curve(), None).unwrap_err();
        assert!(matches!(error, TrainError::Io { .. }), "{error}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

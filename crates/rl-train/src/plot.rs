//! Learning curves as PNG images, drawn by a small built-in rasterizer and bitmap font (no
//! system fonts, no plotting library): a title, a legend, axes with "nice" ticks (1, 2 or 5
//! times a power of ten), axis labels, one 2-pixel polyline per series and an optional dashed
//! target line.

use std::path::Path;

use crate::error::{Result, TrainError as Error};

/// The series colours, in order (cycled after the eighth series).
pub const SERIES_COLOURS: [[u8; 3]; 8] = [
    [31, 119, 180],  // blue
    [255, 127, 14],  // orange
    [44, 160, 44],   // green
    [214, 39, 40],   // red
    [148, 103, 189], // purple
    [140, 86, 75],   // brown
    [227, 119, 194], // pink
    [23, 190, 207],  // cyan
];

const WHITE: [u8; 3] = [255, 255, 255];
const BLACK: [u8; 3] = [0, 0, 0];
const TEXT: [u8; 3] = [30, 30, 30];
const GRID: [u8; 3] = [225, 225, 225];
const NOTE: [u8; 3] = [120, 120, 120];
/// The colour of the dashed target line and its label.
pub const TARGET_COLOUR: [u8; 3] = [70, 70, 70];

/// Inputs are clamped to this magnitude so that spans and tick values stay finite.
const LIMIT: f64 = 1e300;

/// The default image size.
const DEFAULT_SIZE: (u32, u32) = (800, 500);

/// One named curve: `(x, y)` points drawn in order. Points with a non-finite coordinate are
/// skipped (the line joins their finite neighbours).
///
/// ```
/// use rl_train::plot::Series;
///
/// let s = Series::new("returns", vec![(0.0, 1.0), (1.0, f64::NAN), (2.0, 3.0)]);
/// assert_eq!(s.points.len(), 3);
/// ```
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Series {
    /// The legend entry.
    pub name: String,
    /// The points, in drawing order.
    pub points: Vec<(f64, f64)>,
}

impl Series {
    /// A series named `name` with `points`.
    ///
    /// ```
    /// use rl_train::plot::Series;
    ///
    /// assert_eq!(Series::new("a", vec![(0.0, 1.0)]).name, "a");
    /// ```
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
}

/// An RGB image, 8 bits per channel, rows top to bottom.
///
/// ```
/// use rl_train::plot::LearningCurve;
///
/// let img = LearningCurve::new("empty", "x", "y").render()?;
/// assert_eq!((img.width(), img.height()), (800, 500));
/// assert_eq!(img.pixel(0, 0), Some([255, 255, 255]));
/// assert_eq!(img.pixel(800, 0), None);
/// # Ok::<(), rl_train::TrainError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Image {
    width: u32,
    height: u32,
    rgb: Vec<u8>,
}

impl Image {
    /// A `width` × `height` image filled with `colour`.
    fn filled(width: u32, height: u32, colour: [u8; 3]) -> Self {
        let n = width as usize * height as usize;
        let mut rgb = Vec::with_capacity(n * 3);
        for _ in 0..n {
            rgb.extend_from_slice(&colour);
        }
        Self { width, height, rgb }
    }

    /// The width in pixels.
    ///
    /// ```
    /// use rl_train::plot::LearningCurve;
    ///
    /// let mut curve = LearningCurve::new("t", "x", "y");
    /// curve.width = 640;
    /// assert_eq!(curve.render()?.width(), 640);
    /// # Ok::<(), rl_train::TrainError>(())
    /// ```
    pub fn width(&self) -> u32 {
        self.width
    }

    /// The height in pixels.
    ///
    /// ```
    /// use rl_train::plot::LearningCurve;
    ///
    /// assert_eq!(LearningCurve::new("t", "x", "y").render()?.height(), 500);
    /// # Ok::<(), rl_train::TrainError>(())
    /// ```
    pub fn height(&self) -> u32 {
        self.height
    }

    /// The colour at `(x, y)` (origin top left), or `None` outside the image.
    ///
    /// ```
    /// use rl_train::plot::LearningCurve;
    ///
    /// let img = LearningCurve::new("t", "x", "y").render()?;
    /// assert_eq!(img.pixel(799, 499), Some([255, 255, 255]));
    /// # Ok::<(), rl_train::TrainError>(())
    /// ```
    pub fn pixel(&self, x: u32, y: u32) -> Option<[u8; 3]> {
        if x >= self.width || y >= self.height {
            return None;
        }
        let i = (y as usize * self.width as usize + x as usize) * 3;
        Some([self.rgb[i], self.rgb[i + 1], self.rgb[i + 2]])
    }

    /// The raw RGB bytes, row by row.
    ///
    /// ```
    /// use rl_train::plot::LearningCurve;
    ///
    /// let img = LearningCurve::new("t", "x", "y").render()?;
    /// assert_eq!(img.as_rgb().len(), 800 * 500 * 3);
    /// # Ok::<(), rl_train::TrainError>(())
    /// ```
    pub fn as_rgb(&self) -> &[u8] {
        &self.rgb
    }

    /// Writes the image as an 8-bit RGB PNG, creating parent directories.
    ///
    /// ```
    /// use rl_train::plot::LearningCurve;
    ///
    /// let path = std::env::temp_dir().join("rl_train_doc_image.png");
    /// LearningCurve::new("t", "x", "y").render()?.save_png(&path)?;
    /// assert!(std::fs::read(&path).unwrap().starts_with(b"\x89PNG"));
    /// # Ok::<(), rl_train::TrainError>(())
    /// ```
    pub fn save_png(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .map_err(|e| Error::io("creating directory", parent, e))?;
        }
        let png_err = |source| Error::Png {
            path: path.to_path_buf(),
            source,
        };
        let mut bytes = Vec::new();
        let mut encoder = png::Encoder::new(&mut bytes, self.width, self.height);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().map_err(png_err)?;
        writer.write_image_data(&self.rgb).map_err(png_err)?;
        writer.finish().map_err(png_err)?;
        rl_algo::write_atomic(path, &bytes).map_err(|e| Error::io("writing", path, e))
    }

    /// Sets `(x, y)` to `colour` if it is inside the image and inside `clip`.
    fn put(&mut self, x: i64, y: i64, colour: [u8; 3], clip: Option<&Rect>) {
        if let Some(r) = clip
            && !r.contains(x, y)
        {
            return;
        }
        if x < 0 || y < 0 || x >= i64::from(self.width) || y >= i64::from(self.height) {
            return;
        }
        let i = (y as usize * self.width as usize + x as usize) * 3;
        self.rgb[i..i + 3].copy_from_slice(&colour);
    }

    /// Fills the rectangle `[x0, x1] × [y0, y1]` (inclusive).
    fn fill(&mut self, x0: i64, y0: i64, x1: i64, y1: i64, colour: [u8; 3]) {
        let x0 = x0.max(0);
        let y0 = y0.max(0);
        let x1 = x1.min(i64::from(self.width) - 1);
        let y1 = y1.min(i64::from(self.height) - 1);
        for y in y0..=y1 {
            for x in x0..=x1 {
                self.put(x, y, colour, None);
            }
        }
    }

    /// A 2-pixel-wide line from `a` to `b` (Bresenham, with a 2×2 brush), clipped to `clip`.
    fn line(&mut self, a: (i64, i64), b: (i64, i64), colour: [u8; 3], clip: &Rect) {
        let (mut x, mut y) = a;
        let dx = (b.0 - x).abs();
        let dy = -(b.1 - y).abs();
        let sx = if x < b.0 { 1 } else { -1 };
        let sy = if y < b.1 { 1 } else { -1 };
        let mut err = dx + dy;
        loop {
            for (ox, oy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
                self.put(x + ox, y + oy, colour, Some(clip));
            }
            if (x, y) == b {
                break;
            }
            let e2 = 2 * err;
            if e2 >= dy {
                err += dy;
                x += sx;
            }
            if e2 <= dx {
                err += dx;
                y += sy;
            }
        }
    }

    /// Draws `text` with its top-left corner at `(x, y)`, each font pixel `scale` × `scale`.
    fn text(&mut self, x: i64, y: i64, text: &str, scale: i64, colour: [u8; 3]) {
        for (i, c) in text.chars().enumerate() {
            let glyph = glyph(c);
            let gx = x + i as i64 * ADVANCE * scale;
            for (row, bits) in glyph.iter().enumerate() {
                for col in 0..GLYPH_W {
                    if bits & (0b10000 >> col) != 0 {
                        let px = gx + col * scale;
                        let py = y + row as i64 * scale;
                        self.fill(px, py, px + scale - 1, py + scale - 1, colour);
                    }
                }
            }
        }
    }

    /// Draws `text` rotated a quarter turn anticlockwise (reading upwards), the text's
    /// top edge at column `x` and its start at row `y`.
    fn text_up(&mut self, x: i64, y: i64, text: &str, colour: [u8; 3]) {
        for (i, c) in text.chars().enumerate() {
            let glyph = glyph(c);
            for (row, bits) in glyph.iter().enumerate() {
                for col in 0..GLYPH_W {
                    if bits & (0b10000 >> col) != 0 {
                        self.put(x + row as i64, y - (i as i64 * ADVANCE + col), colour, None);
                    }
                }
            }
        }
    }
}

/// An inclusive pixel rectangle.
#[derive(Clone, Copy, Debug)]
struct Rect {
    x0: i64,
    y0: i64,
    x1: i64,
    y1: i64,
}

impl Rect {
    fn contains(&self, x: i64, y: i64) -> bool {
        (self.x0..=self.x1).contains(&x) && (self.y0..=self.y1).contains(&y)
    }
}

/// A learning-curve plot: build it, then [`render`](Self::render) or [`save`](Self::save).
///
/// ```
/// use rl_train::plot::{LearningCurve, Series};
///
/// let mut curve = LearningCurve::new("CartPole PPO", "env steps", "episode return");
/// curve.series.push(Series::new("train", vec![(0.0, 20.0), (5e4, 200.0), (1e5, 490.0)]));
/// curve.target = Some(475.0);
/// let path = std::env::temp_dir().join("rl_train_doc_curve.png");
/// curve.save(&path)?;
/// assert!(path.exists());
/// # Ok::<(), rl_train::TrainError>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct LearningCurve {
    /// The title, drawn at twice the font size.
    pub title: String,
    /// The x-axis label.
    pub x_label: String,
    /// The y-axis label (drawn reading upwards).
    pub y_label: String,
    /// The curves, coloured by [`SERIES_COLOURS`] in order.
    pub series: Vec<Series>,
    /// An optional horizontal target, drawn as a labelled dashed line (must be finite).
    pub target: Option<f64>,
    /// Image width in pixels, 200 to 4096 (default 800).
    pub width: u32,
    /// Image height in pixels, 150 to 4096 (default 500).
    pub height: u32,
}

impl LearningCurve {
    /// An 800 × 500 plot without series or target.
    ///
    /// ```
    /// use rl_train::plot::LearningCurve;
    ///
    /// let curve = LearningCurve::new("title", "x", "y");
    /// assert_eq!((curve.width, curve.height), (800, 500));
    /// assert!(curve.series.is_empty() && curve.target.is_none());
    /// ```
    pub fn new(
        title: impl Into<String>,
        x_label: impl Into<String>,
        y_label: impl Into<String>,
    ) -> Self {
        Self {
            title: title.into(),
            x_label: x_label.into(),
            y_label: y_label.into(),
            series: Vec::new(),
            target: None,
            width: DEFAULT_SIZE.0,
            height: DEFAULT_SIZE.1,
        }
    }

    /// Draws the plot. Without any finite point it still draws the axes (0 to 1) and a
    /// "no data" note. Errors: [`Error::InvalidConfig`] for a size out of range or a
    /// non-finite target.
    ///
    /// ```
    /// use rl_train::plot::{LearningCurve, Series};
    ///
    /// let mut curve = LearningCurve::new("t", "x", "y");
    /// curve.series.push(Series::new("s", vec![(0.0, 0.0), (1.0, 1.0)]));
    /// let img = curve.render()?;
    /// assert_eq!(img.as_rgb().len(), 800 * 500 * 3);
    /// curve.width = 10;
    /// assert!(curve.render().is_err());
    /// # Ok::<(), rl_train::TrainError>(())
    /// ```
    pub fn render(&self) -> Result<Image> {
        Ok(self.render_with_layout()?.0)
    }

    /// Draws the plot and writes it as a PNG at `path` (see [`render`](Self::render) and
    /// [`Image::save_png`]).
    ///
    /// ```
    /// use rl_train::plot::LearningCurve;
    ///
    /// let path = std::env::temp_dir().join("rl_train_doc_save.png");
    /// LearningCurve::new("nothing yet", "env steps", "return").save(&path)?;
    /// assert!(path.exists());
    /// # Ok::<(), rl_train::TrainError>(())
    /// ```
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        self.render()?.save_png(path)
    }

    /// Checks the size and target.
    fn validate(&self) -> Result<()> {
        if !(200..=4096).contains(&self.width) {
            return Err(Error::invalid(
                "width",
                self.width,
                "must be 200 to 4096 pixels",
            ));
        }
        if !(150..=4096).contains(&self.height) {
            return Err(Error::invalid(
                "height",
                self.height,
                "must be 150 to 4096 pixels",
            ));
        }
        if let Some(t) = self.target
            && !t.is_finite()
        {
            return Err(Error::invalid("target", t, "must be finite"));
        }
        Ok(())
    }

    /// Draws the plot and returns it with the data-to-pixel mapping used.
    fn render_with_layout(&self) -> Result<(Image, Layout)> {
        self.validate()?;
        let series: Vec<Vec<(f64, f64)>> = self
            .series
            .iter()
            .map(|s| {
                s.points
                    .iter()
                    .filter(|(x, y)| x.is_finite() && y.is_finite())
                    .map(|&(x, y)| (x.clamp(-LIMIT, LIMIT), y.clamp(-LIMIT, LIMIT)))
                    .collect()
            })
            .collect();
        let has_data = series.iter().any(|s| !s.is_empty());

        // Data ranges (the target is part of the y range so that its line is visible).
        let xs = series.iter().flatten().map(|p| p.0);
        let ys = series.iter().flatten().map(|p| p.1).chain(self.target);
        let (x_lo, x_hi) = bounds(xs).unwrap_or((0.0, 1.0));
        let (y_lo, y_hi) = bounds(ys).unwrap_or((0.0, 1.0));
        let x_ticks = tick_set(x_lo, x_hi, 5).unwrap_or_else(TickSet::unit);
        let y_ticks = tick_set(y_lo, y_hi, 5).unwrap_or_else(TickSet::unit);
        let x_labels = x_ticks.labels();
        let y_labels = y_ticks.labels();

        // Margins.
        let (w, h) = (i64::from(self.width), i64::from(self.height));
        let max_y_label = y_labels.iter().map(|l| text_width(l, 1)).max().unwrap_or(0);
        let last_x_label = x_labels.last().map_or(0, |l| text_width(l, 1));
        let left =
            10 + if self.y_label.is_empty() {
                0
            } else {
                GLYPH_H + 8
            } + max_y_label
                + 10;
        let right = w - 1 - (last_x_label / 2 + 12).max(20);
        let legend = legend_rows(&self.series, left, right);
        let title_h = if self.title.is_empty() {
            0
        } else {
            2 * GLYPH_H + 8
        };
        let legend_h = if legend.is_empty() {
            0
        } else {
            legend.len() as i64 * LEGEND_ROW + 4
        };
        let top = 10 + title_h + legend_h;
        let bottom = h
            - 1
            - (10
                + GLYPH_H
                + 6
                + if self.x_label.is_empty() {
                    0
                } else {
                    GLYPH_H + 8
                });
        let plot = Rect {
            x0: left,
            y0: top,
            x1: right.max(left + 10),
            y1: bottom.max(top + 10),
        };
        let layout = Layout {
            plot,
            x_lo: x_ticks.first(),
            x_hi: x_ticks.last(),
            y_lo: y_ticks.first(),
            y_hi: y_ticks.last(),
        };

        let mut img = Image::filled(self.width, self.height, WHITE);

        // Grid, ticks and tick labels.
        for (v, label) in x_ticks.values.iter().zip(&x_labels) {
            let x = layout.px_x(*v).round() as i64;
            for y in plot.y0..=plot.y1 {
                img.put(x, y, GRID, None);
            }
            img.fill(x, plot.y1, x, plot.y1 + 5, BLACK);
            img.text(x - text_width(label, 1) / 2, plot.y1 + 9, label, 1, TEXT);
        }
        for (v, label) in y_ticks.values.iter().zip(&y_labels) {
            let y = layout.px_y(*v).round() as i64;
            for x in plot.x0..=plot.x1 {
                img.put(x, y, GRID, None);
            }
            img.fill(plot.x0 - 5, y, plot.x0, y, BLACK);
            img.text(
                plot.x0 - 9 - text_width(label, 1),
                y - CAP_H / 2,
                label,
                1,
                TEXT,
            );
        }

        // Target line and label.
        if let Some(t) = self.target {
            let y = layout.px_y(t).round() as i64;
            let mut x = plot.x0;
            while x <= plot.x1 {
                let end = (x + DASH_ON - 1).min(plot.x1);
                img.fill(x, y, end, y + 1, TARGET_COLOUR);
                x += DASH_ON + DASH_OFF;
            }
            let label = format!("target {}", format_value(t));
            let lx = plot.x1 - 6 - text_width(&label, 1);
            let ly = if y - CAP_H - 5 > plot.y0 + 2 {
                y - CAP_H - 4
            } else {
                y + 7
            };
            img.fill(
                lx - 2,
                ly - 2,
                lx + text_width(&label, 1) + 1,
                ly + GLYPH_H,
                WHITE,
            );
            img.text(lx, ly, &label, 1, TARGET_COLOUR);
        }

        // Series.
        let inner = Rect {
            x0: plot.x0 + 1,
            y0: plot.y0,
            x1: plot.x1,
            y1: plot.y1 - 1,
        };
        for (i, points) in series.iter().enumerate() {
            let colour = SERIES_COLOURS[i % SERIES_COLOURS.len()];
            let pixels: Vec<(i64, i64)> = points.iter().map(|&(x, y)| layout.px(x, y)).collect();
            if let [only] = pixels[..] {
                for dy in -2..=2 {
                    for dx in -2..=2 {
                        img.put(only.0 + dx, only.1 + dy, colour, Some(&inner));
                    }
                }
            }
            for pair in pixels.windows(2) {
                img.line(pair[0], pair[1], colour, &inner);
            }
        }

        // Frame.
        img.fill(plot.x0, plot.y0, plot.x0, plot.y1, BLACK);
        img.fill(plot.x0, plot.y1, plot.x1, plot.y1, BLACK);
        img.fill(plot.x0, plot.y0, plot.x1, plot.y0, GRID);
        img.fill(plot.x1, plot.y0, plot.x1, plot.y1, GRID);

        if !has_data {
            let note = "no data";
            let tw = text_width(note, 2);
            let cx = (plot.x0 + plot.x1) / 2 - tw / 2;
            let cy = (plot.y0 + plot.y1) / 2 - CAP_H;
            img.text(cx, cy, note, 2, NOTE);
        }

        // Title, axis labels, legend.
        if !self.title.is_empty() {
            let tw = text_width(&self.title, 2);
            let tx = ((w - tw) / 2).max(10);
            img.text(tx, 10, &self.title, 2, TEXT);
        }
        if !self.x_label.is_empty() {
            let tw = text_width(&self.x_label, 1);
            let cx = (plot.x0 + plot.x1) / 2 - tw / 2;
            img.text(cx, plot.y1 + 9 + GLYPH_H + 8, &self.x_label, 1, TEXT);
        }
        if !self.y_label.is_empty() {
            let tw = text_width(&self.y_label, 1);
            let cy = (plot.y0 + plot.y1) / 2 + tw / 2;
            img.text_up(10, cy.min(h - 1), &self.y_label, TEXT);
        }
        let legend_top = 10 + title_h;
        for (row, entries) in legend.iter().enumerate() {
            let y = legend_top + row as i64 * LEGEND_ROW;
            for &(i, x) in entries {
                let colour = SERIES_COLOURS[i % SERIES_COLOURS.len()];
                img.fill(x, y + 2, x + SWATCH - 1, y + 4, colour);
                img.text(x + SWATCH + 5, y, &self.series[i].name, 1, TEXT);
            }
        }
        Ok((img, layout))
    }
}

/// Draws `series` (and an optional dashed `target` line) as an 800 × 500 PNG at `path`.
/// Non-finite points are skipped; with no finite point the image still has its axes and a
/// "no data" note.
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
pub fn plot_learning_curve(
    path: impl AsRef<Path>,
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series],
    target: Option<f64>,
) -> Result<()> {
    let mut curve = LearningCurve::new(title, x_label, y_label);
    curve.series = series.to_vec();
    curve.target = target;
    curve.save(path)
}

/// Up to `max_intervals + 1` "nice" tick values (1, 2 or 5 times a power of ten apart) whose
/// first is `<= min(lo, hi)` and last is `>= max(lo, hi)`: the step is the smallest nice
/// step that covers the range in at most `max_intervals` intervals (`max_intervals` is
/// clamped to 1..=100). A zero-width (or relatively tiny, below 1e-9) range is centred and
/// widened to about `max_intervals` steps of 2% of its value (±1 around 0). Inputs are
/// clamped to ±1e300; a non-finite input gives no ticks. Tick values are the doubles nearest
/// to their decimal values (`0.3`, not `0.30000000000000004`).
///
/// ```
/// use rl_train::plot::nice_ticks;
///
/// assert_eq!(nice_ticks(0.0, 475.0, 5), [0.0, 100.0, 200.0, 300.0, 400.0, 500.0]);
/// assert_eq!(nice_ticks(-0.7, 0.9, 5), [-1.0, -0.5, 0.0, 0.5, 1.0]);
/// assert_eq!(nice_ticks(0.1, 0.35, 5), [0.1, 0.15, 0.2, 0.25, 0.3, 0.35]);
/// assert!(nice_ticks(f64::NAN, 1.0, 5).is_empty());
/// ```
pub fn nice_ticks(lo: f64, hi: f64, max_intervals: usize) -> Vec<f64> {
    tick_set(lo, hi, max_intervals).map_or_else(Vec::new, |t| t.values)
}

/// Ticks `k · mantissa · 10^exp` for consecutive integers `k`.
#[derive(Clone, Debug, PartialEq)]
struct TickSet {
    values: Vec<f64>,
    exp: i32,
}

impl TickSet {
    /// The ticks of the unit range, used when there is nothing to scale to.
    fn unit() -> Self {
        Self {
            values: vec![0.0, 0.2, 0.4, 0.6, 0.8, 1.0],
            exp: -1,
        }
    }

    fn first(&self) -> f64 {
        self.values.first().copied().unwrap_or(0.0)
    }

    fn last(&self) -> f64 {
        self.values.last().copied().unwrap_or(1.0)
    }

    /// Labels with just enough digits for the step: fixed-point normally, scientific for
    /// magnitudes from 1e7 or below 1e-3, or more than 9 decimals.
    fn labels(&self) -> Vec<String> {
        let max_abs = self.values.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        let decimals = (-self.exp).max(0) as usize;
        let scientific = max_abs >= 1e7 || (max_abs > 0.0 && max_abs < 1e-3) || decimals > 9;
        self.values
            .iter()
            .map(|&v| {
                if v == 0.0 {
                    "0".to_owned()
                } else if scientific {
                    let digits = (max_abs.log10().floor() as i32 - self.exp).max(0) as usize;
                    format!("{v:.digits$e}")
                } else {
                    format!("{v:.decimals$}")
                }
            })
            .collect()
    }
}

/// The smallest and largest of `values`, or `None` if there are none.
fn bounds(values: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
    values.fold(None, |acc, v| match acc {
        None => Some((v, v)),
        Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
    })
}

/// `k × 10^exp`, correctly rounded (parsed from its decimal form).
fn decimal(k: i64, exp: i32) -> Option<f64> {
    format!("{k}e{exp}")
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
}

/// `q` rounded down, or to the nearest integer when within rounding noise of it.
fn floor_tol(q: f64) -> f64 {
    let r = q.round();
    if (q - r).abs() <= 1e-9 * r.abs().max(1.0) {
        r
    } else {
        q.floor()
    }
}

/// `q` rounded up, or to the nearest integer when within rounding noise of it.
fn ceil_tol(q: f64) -> f64 {
    let r = q.round();
    if (q - r).abs() <= 1e-9 * r.abs().max(1.0) {
        r
    } else {
        q.ceil()
    }
}

/// The smallest `(m, e)` with `m` in {1, 2, 5} and `m × 10^e >= raw` (up to rounding), for a
/// positive finite `raw`.
fn nice_ceil(raw: f64) -> Option<(i64, i32)> {
    let exp = raw.log10().floor() as i32;
    let frac = raw / decimal(1, exp)?;
    Some(if frac <= 1.0 + 1e-12 {
        (1, exp)
    } else if frac <= 2.0 + 1e-12 {
        (2, exp)
    } else if frac <= 5.0 + 1e-12 {
        (5, exp)
    } else {
        (1, exp + 1)
    })
}

/// See [`nice_ticks`].
fn tick_set(lo: f64, hi: f64, max_intervals: usize) -> Option<TickSet> {
    if !lo.is_finite() || !hi.is_finite() {
        return None;
    }
    let (lo, hi) = if lo <= hi { (lo, hi) } else { (hi, lo) };
    let (mut lo, mut hi) = (lo.clamp(-LIMIT, LIMIT), hi.clamp(-LIMIT, LIMIT));
    let n = max_intervals.clamp(1, 100) as f64;
    let scale = lo.abs().max(hi.abs());
    if hi - lo <= scale * 1e-9 || hi - lo < 1e-280 {
        // A constant: centre it, with about `n` steps of ~2% of its magnitude.
        let mid = lo / 2.0 + hi / 2.0;
        let (m, e) = if mid.abs() < 1e-280 {
            (5, -1)
        } else {
            nice_ceil(mid.abs() * 0.02)?
        };
        let d = decimal(m, e)? * (n / 2.0).floor().max(1.0);
        lo = mid - d;
        hi = mid + d;
    }
    let (mut mantissa, mut exp) = nice_ceil((hi - lo) / n)?;
    for _ in 0..12 {
        let step = decimal(mantissa, exp)?;
        let first = floor_tol(lo / step);
        let last = ceil_tol(hi / step);
        if last - first <= n {
            let values: Vec<f64> = (first as i64..=last as i64)
                .filter_map(|k| decimal(k * mantissa, exp))
                .collect();
            return Some(TickSet { values, exp });
        }
        (mantissa, exp) = match mantissa {
            1 => (2, exp),
            2 => (5, exp),
            _ => (1, exp + 1),
        };
    }
    None
}

/// Maps data coordinates to pixels.
#[derive(Clone, Copy, Debug)]
struct Layout {
    plot: Rect,
    x_lo: f64,
    x_hi: f64,
    y_lo: f64,
    y_hi: f64,
}

impl Layout {
    /// The fraction `(v - lo) / (hi - lo)`, computed on halves so it cannot overflow.
    fn fraction(v: f64, lo: f64, hi: f64) -> f64 {
        let span = hi / 2.0 - lo / 2.0;
        if span > 0.0 {
            (v / 2.0 - lo / 2.0) / span
        } else {
            0.5
        }
    }

    fn px_x(&self, x: f64) -> f64 {
        let f = Self::fraction(x, self.x_lo, self.x_hi);
        self.plot.x0 as f64 + f * (self.plot.x1 - self.plot.x0) as f64
    }

    fn px_y(&self, y: f64) -> f64 {
        let f = Self::fraction(y, self.y_lo, self.y_hi);
        self.plot.y1 as f64 - f * (self.plot.y1 - self.plot.y0) as f64
    }

    /// The pixel of a data point. The data lies inside the axis ranges; the clamp only
    /// bounds the line-drawing work should that ever fail.
    fn px(&self, x: f64, y: f64) -> (i64, i64) {
        let p = self.plot;
        let px = self
            .px_x(x)
            .round()
            .clamp((p.x0 - 2) as f64, (p.x1 + 2) as f64);
        let py = self
            .px_y(y)
            .round()
            .clamp((p.y0 - 2) as f64, (p.y1 + 2) as f64);
        (px as i64, py as i64)
    }
}

/// Lays the legend out in rows within `[left, right]`: for each row, `(series index, x)`.
fn legend_rows(series: &[Series], left: i64, right: i64) -> Vec<Vec<(usize, i64)>> {
    let mut rows: Vec<Vec<(usize, i64)>> = Vec::new();
    let mut x = left;
    for (i, s) in series.iter().enumerate() {
        let w = SWATCH + 5 + text_width(&s.name, 1);
        if rows.is_empty() || (x + w > right && x > left) {
            rows.push(Vec::new());
            x = left;
        }
        if let Some(row) = rows.last_mut() {
            row.push((i, x));
        }
        x += w + 18;
    }
    rows
}

/// A value for a label: up to 6 decimals, trailing zeros removed, or scientific.
fn format_value(v: f64) -> String {
    let a = v.abs();
    if v == 0.0 {
        "0".to_owned()
    } else if (1e-3..1e7).contains(&a) {
        let s = format!("{v:.6}");
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        format!("{v:.3e}")
    }
}

// ---- Bitmap font ----------------------------------------------------------------------------

/// Glyph width in font pixels.
const GLYPH_W: i64 = 5;
/// Glyph cell height: rows 0–6 sit on the baseline, rows 7–8 are descenders.
const GLYPH_H: i64 = 9;
/// Height of capitals and digits.
const CAP_H: i64 = 7;
/// Horizontal advance per character, in font pixels.
const ADVANCE: i64 = 6;
/// Legend row height and swatch length.
const LEGEND_ROW: i64 = 14;
const SWATCH: i64 = 18;
/// Target dash pattern.
const DASH_ON: i64 = 8;
const DASH_OFF: i64 = 5;

/// The width of `text` in pixels at `scale`.
fn text_width(text: &str, scale: i64) -> i64 {
    let n = text.chars().count() as i64;
    if n == 0 { 0 } else { (n * ADVANCE - 1) * scale }
}

/// The 5 × 9 bitmap of `c` (bit 4 is the leftmost column); unknown characters show as `?`.
fn glyph(c: char) -> [u8; 9] {
    match c {
        ' ' => [0; 9],
        '0' => [
            0b01110, 0b10001, 0b10011, 0b10101, 0b11001, 0b10001, 0b01110, 0, 0,
        ],
        '1' => [
            0b00100, 0b01100, 0b00100, 0b00100, 0b00100, 0b00100, 0b01110, 0, 0,
        ],
        '2' => [
            0b01110, 0b10001, 0b00001, 0b00010, 0b00100, 0b01000, 0b11111, 0, 0,
        ],
        '3' => [
            0b11111, 0b00010, 0b00100, 0b00010, 0b00001, 0b10001, 0b01110, 0, 0,
        ],
        '4' => [
            0b00010, 0b00110, 0b01010, 0b10010, 0b11111, 0b00010, 0b00010, 0, 0,
        ],
        '5' => [
            0b11111, 0b10000, 0b11110, 0b00001, 0b00001, 0b10001, 0b01110, 0, 0,
        ],
        '6' => [
            0b00110, 0b01000, 0b10000, 0b11110, 0b10001, 0b10001, 0b01110, 0, 0,
        ],
        '7' => [
            0b11111, 0b00001, 0b00010, 0b00100, 0b01000, 0b01000, 0b01000, 0, 0,
        ],
        '8' => [
            0b01110, 0b10001, 0b10001, 0b01110, 0b10001, 0b10001, 0b01110, 0, 0,
        ],
        '9' => [
            0b01110, 0b10001, 0b10001, 0b01111, 0b00001, 0b00010, 0b01100, 0, 0,
        ],
        'A' => [
            0b01110, 0b10001, 0b10001, 0b11111, 0b10001, 0b10001, 0b10001, 0, 0,
        ],
        'B' => [
            0b11110, 0b10001, 0b10001, 0b11110, 0b10001, 0b10001, 0b11110, 0, 0,
        ],
        'C' => [
            0b01110, 0b10001, 0b10000, 0b10000, 0b10000, 0b10001, 0b01110, 0, 0,
        ],
        'D' => [
            0b11100, 0b10010, 0b10001, 0b10001, 0b10001, 0b10010, 0b11100, 0, 0,
        ],
        'E' => [
            0b11111, 0b10000, 0b10000, 0b11110, 0b10000, 0b10000, 0b11111, 0, 0,
        ],
        'F' => [
            0b11111, 0b10000, 0b10000, 0b11110, 0b10000, 0b10000, 0b10000, 0, 0,
        ],
        'G' => [
            0b01110, 0b10001, 0b10000, 0b10111, 0b10001, 0b10001, 0b01111, 0, 0,
        ],
        'H' => [
            0b10001, 0b10001, 0b10001, 0b11111, 0b10001, 0b10001, 0b10001, 0, 0,
        ],
        'I' => [
            0b01110, 0b00100, 0b00100, 0b00100, 0b00100, 0b00100, 0b01110, 0, 0,
        ],
        'J' => [
            0b00111, 0b00010, 0b00010, 0b00010, 0b00010, 0b10010, 0b01100, 0, 0,
        ],
        'K' => [
            0b10001, 0b10010, 0b10100, 0b11000, 0b10100, 0b10010, 0b10001, 0, 0,
        ],
        'L' => [
            0b10000, 0b10000, 0b10000, 0b10000, 0b10000, 0b10000, 0b11111, 0, 0,
        ],
        'M' => [
            0b10001, 0b11011, 0b10101, 0b10101, 0b10001, 0b10001, 0b10001, 0, 0,
        ],
        'N' => [
            0b10001, 0b10001, 0b11001, 0b10101, 0b10011, 0b10001, 0b10001, 0, 0,
        ],
        'O' => [
            0b01110, 0b10001, 0b10001, 0b10001, 0b10001, 0b10001, 0b01110, 0, 0,
        ],
        'P' => [
            0b11110, 0b10001, 0b10001, 0b11110, 0b10000, 0b10000, 0b10000, 0, 0,
        ],
        'Q' => [
            0b01110, 0b10001, 0b10001, 0b10001, 0b10101, 0b10010, 0b01101, 0, 0,
        ],
        'R' => [
            0b11110, 0b10001, 0b10001, 0b11110, 0b10100, 0b10010, 0b10001, 0, 0,
        ],
        'S' => [
            0b01111, 0b10000, 0b10000, 0b01110, 0b00001, 0b00001, 0b11110, 0, 0,
        ],
        'T' => [
            0b11111, 0b00100, 0b00100, 0b00100, 0b00100, 0b00100, 0b00100, 0, 0,
        ],
        'U' => [
            0b10001, 0b10001, 0b10001, 0b10001, 0b10001, 0b10001, 0b01110, 0, 0,
        ],
        'V' => [
            0b10001, 0b10001, 0b10001, 0b10001, 0b10001, 0b01010, 0b00100, 0, 0,
        ],
        'W' => [
            0b10001, 0b10001, 0b10001, 0b10101, 0b10101, 0b10101, 0b01010, 0, 0,
        ],
        'X' => [
            0b10001, 0b10001, 0b01010, 0b00100, 0b01010, 0b10001, 0b10001, 0, 0,
        ],
        'Y' => [
            0b10001, 0b10001, 0b01010, 0b00100, 0b00100, 0b00100, 0b00100, 0, 0,
        ],
        'Z' => [
            0b11111, 0b00001, 0b00010, 0b00100, 0b01000, 0b10000, 0b11111, 0, 0,
        ],
        'a' => [0, 0, 0b01110, 0b00001, 0b01111, 0b10001, 0b01111, 0, 0],
        'b' => [
            0b10000, 0b10000, 0b10110, 0b11001, 0b10001, 0b10001, 0b11110, 0, 0,
        ],
        'c' => [0, 0, 0b01110, 0b10000, 0b10000, 0b10001, 0b01110, 0, 0],
        'd' => [
            0b00001, 0b00001, 0b01101, 0b10011, 0b10001, 0b10001, 0b01111, 0, 0,
        ],
        'e' => [0, 0, 0b01110, 0b10001, 0b11111, 0b10000, 0b01110, 0, 0],
        'f' => [
            0b00110, 0b01001, 0b01000, 0b11100, 0b01000, 0b01000, 0b01000, 0, 0,
        ],
        'g' => [
            0, 0, 0b01111, 0b10001, 0b10001, 0b10011, 0b01101, 0b00001, 0b01110,
        ],
        'h' => [
            0b10000, 0b10000, 0b10110, 0b11001, 0b10001, 0b10001, 0b10001, 0, 0,
        ],
        'i' => [
            0b00100, 0, 0b01100, 0b00100, 0b00100, 0b00100, 0b01110, 0, 0,
        ],
        'j' => [
            0b00010, 0, 0b00110, 0b00010, 0b00010, 0b00010, 0b00010, 0b10010, 0b01100,
        ],
        'k' => [
            0b10000, 0b10000, 0b10010, 0b10100, 0b11000, 0b10100, 0b10010, 0, 0,
        ],
        'l' => [
            0b01100, 0b00100, 0b00100, 0b00100, 0b00100, 0b00100, 0b01110, 0, 0,
        ],
        'm' => [0, 0, 0b11010, 0b10101, 0b10101, 0b10101, 0b10101, 0, 0],
        'n' => [0, 0, 0b10110, 0b11001, 0b10001, 0b10001, 0b10001, 0, 0],
        'o' => [0, 0, 0b01110, 0b10001, 0b10001, 0b10001, 0b01110, 0, 0],
        'p' => [
            0, 0, 0b10110, 0b11001, 0b10001, 0b10001, 0b11110, 0b10000, 0b10000,
        ],
        'q' => [
            0, 0, 0b01101, 0b10011, 0b10001, 0b10001, 0b01111, 0b00001, 0b00001,
        ],
        'r' => [0, 0, 0b10110, 0b11001, 0b10000, 0b10000, 0b10000, 0, 0],
        's' => [0, 0, 0b01111, 0b10000, 0b01110, 0b00001, 0b11110, 0, 0],
        't' => [
            0b01000, 0b01000, 0b11100, 0b01000, 0b01000, 0b01001, 0b00110, 0, 0,
        ],
        'u' => [0, 0, 0b10001, 0b10001, 0b10001, 0b10011, 0b01101, 0, 0],
        'v' => [0, 0, 0b10001, 0b10001, 0b10001, 0b01010, 0b00100, 0, 0],
        'w' => [0, 0, 0b10001, 0b10001, 0b10101, 0b10101, 0b01010, 0, 0],
        'x' => [0, 0, 0b10001, 0b01010, 0b00100, 0b01010, 0b10001, 0, 0],
        'y' => [
            0, 0, 0b10001, 0b10001, 0b10001, 0b10011, 0b01101, 0b00001, 0b01110,
        ],
        'z' => [0, 0, 0b11111, 0b00010, 0b00100, 0b01000, 0b11111, 0, 0],
        '-' => [0, 0, 0, 0b11111, 0, 0, 0, 0, 0],
        '+' => [0, 0b00100, 0b00100, 0b11111, 0b00100, 0b00100, 0, 0, 0],
        '.' => [0, 0, 0, 0, 0, 0b01100, 0b01100, 0, 0],
        ',' => [0, 0, 0, 0, 0, 0b01100, 0b00100, 0b01000, 0],
        ':' => [0, 0b01100, 0b01100, 0, 0b01100, 0b01100, 0, 0, 0],
        '/' => [
            0b00001, 0b00010, 0b00010, 0b00100, 0b01000, 0b01000, 0b10000, 0, 0,
        ],
        '_' => [0, 0, 0, 0, 0, 0, 0, 0b11111, 0],
        '(' => [
            0b00010, 0b00100, 0b01000, 0b01000, 0b01000, 0b00100, 0b00010, 0, 0,
        ],
        ')' => [
            0b01000, 0b00100, 0b00010, 0b00010, 0b00010, 0b00100, 0b01000, 0, 0,
        ],
        '%' => [
            0b11000, 0b11001, 0b00010, 0b00100, 0b01000, 0b10011, 0b00011, 0, 0,
        ],
        '>' => [
            0b01000, 0b00100, 0b00010, 0b00001, 0b00010, 0b00100, 0b01000, 0, 0,
        ],
        '<' => [
            0b00010, 0b00100, 0b01000, 0b10000, 0b01000, 0b00100, 0b00010, 0, 0,
        ],
        '=' => [0, 0, 0b11111, 0, 0b11111, 0, 0, 0, 0],
        _ => [
            0b01110, 0b10001, 0b00001, 0b00010, 0b00100, 0, 0b00100, 0, 0,
        ], // '?'
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(test: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir()
            .join(format!("rl_train_plot_{}", std::process::id()))
            .join(test);
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    /// Decodes a PNG file into (width, height, colour type, RGB bytes).
    fn decode(path: &Path) -> (u32, u32, png::ColorType, Vec<u8>) {
        let file = std::io::BufReader::new(std::fs::File::open(path).unwrap());
        let mut reader = png::Decoder::new(file).read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        buf.truncate(info.buffer_size());
        (info.width, info.height, info.color_type, buf)
    }

    fn is_step_nice(ticks: &[f64]) -> bool {
        let step = ticks[1] - ticks[0];
        let exp = step.log10().floor();
        let m = step / 10f64.powf(exp);
        [1.0, 2.0, 5.0, 10.0].iter().any(|n| (m - n).abs() < 1e-6)
            && ticks
                .windows(2)
                .all(|w| ((w[1] - w[0]) - step).abs() <= step * 1e-6)
    }

    fn check_cover(lo: f64, hi: f64) -> Vec<f64> {
        let t = nice_ticks(lo, hi, 5);
        assert!((3..=6).contains(&t.len()), "{lo}..{hi}: {t:?}");
        assert!(
            t[0] <= lo.min(hi) && *t.last().unwrap() >= lo.max(hi),
            "{lo}..{hi}: {t:?}"
        );
        assert!(is_step_nice(&t), "{lo}..{hi}: {t:?}");
        t
    }

    #[test]
    fn ticks_for_common_ranges() {
        assert_eq!(
            check_cover(0.0, 500.0),
            [0.0, 100.0, 200.0, 300.0, 400.0, 500.0]
        );
        assert_eq!(check_cover(0.0, 1.0), [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]);
        assert_eq!(
            check_cover(2048.0, 1_000_000.0),
            [0.0, 200_000.0, 400_000.0, 600_000.0, 800_000.0, 1_000_000.0]
        );
        assert_eq!(check_cover(9.3, 200.0), [0.0, 50.0, 100.0, 150.0, 200.0]);
        // Reversed arguments are accepted.
        assert_eq!(nice_ticks(1.0, 0.0, 5), nice_ticks(0.0, 1.0, 5));
    }

    #[test]
    fn ticks_for_negative_ranges() {
        assert_eq!(
            check_cover(-1500.0, -120.0),
            [-1500.0, -1000.0, -500.0, 0.0]
        );
        assert_eq!(check_cover(-3.0, 2.5), [-4.0, -2.0, 0.0, 2.0, 4.0]);
        check_cover(-1e-3, -9e-4);
    }

    #[test]
    fn ticks_for_constant_series() {
        assert_eq!(
            check_cover(500.0, 500.0),
            [480.0, 490.0, 500.0, 510.0, 520.0]
        );
        assert_eq!(
            check_cover(1e-9, 1e-9),
            [9.6e-10, 9.8e-10, 1e-9, 1.02e-9, 1.04e-9]
        );
        assert_eq!(check_cover(0.0, 0.0), [-1.0, -0.5, 0.0, 0.5, 1.0]);
        let t = check_cover(-2.0, -2.0);
        assert!(t.contains(&-2.0));
        // Relatively negligible spread counts as constant.
        let t = check_cover(1e10, 1e10 + 1e-3);
        assert!(t.len() >= 3);
    }

    #[test]
    fn ticks_for_tiny_and_huge_ranges() {
        let t = check_cover(0.0, 3e-9);
        assert_eq!(t, [0.0, 1e-9, 2e-9, 3e-9]);
        let t = check_cover(1.0, 1.0 + 1e-6);
        assert!(t[0] <= 1.0 && t[0] > 0.999_999);
        check_cover(-1e300, 1e300);
        // Clamped to ±1e300.
        assert_eq!(
            nice_ticks(f64::MIN, f64::MAX, 5),
            [-1e300, -5e299, 0.0, 5e299, 1e300]
        );
        assert!(nice_ticks(0.0, f64::INFINITY, 5).is_empty());
        // Max intervals is respected for other counts too.
        let t = nice_ticks(0.0, 10.0, 2);
        assert_eq!(t, [0.0, 5.0, 10.0]);
        let t = nice_ticks(0.0, 1.0, 0);
        assert_eq!(t, [0.0, 1.0]);
    }

    #[test]
    fn tick_values_are_exact_decimals() {
        let t = nice_ticks(0.0, 0.7, 7);
        assert_eq!(t, [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7]);
    }

    #[test]
    fn tick_labels_are_distinct_and_short() {
        for (lo, hi) in [
            (0.0, 1.0),
            (0.0, 475.0),
            (2048.0, 5e7),
            (1.0, 1.0 + 1e-6),
            (0.0, 3e-9),
            (-1e-3, -9e-4),
            (-1500.0, -120.0),
            (1e10, 1e10 + 1e-3),
        ] {
            let t = tick_set(lo, hi, 5).unwrap();
            let labels = t.labels();
            let mut dedup = labels.clone();
            dedup.dedup();
            assert_eq!(dedup.len(), labels.len(), "{labels:?}");
            assert!(labels.iter().all(|l| l.len() <= 12), "{labels:?}");
            // Each label parses back to (about) its tick.
            for (l, v) in labels.iter().zip(&t.values) {
                let p: f64 = l.parse().unwrap();
                assert!(
                    (p - v).abs()
                        <= 1e-9 * v.abs().max(1e-300) + (t.values[1] - t.values[0]) * 1e-6,
                    "{l} vs {v}"
                );
            }
        }
        assert_eq!(
            tick_set(0.0, 1.0, 5).unwrap().labels(),
            ["0", "0.2", "0.4", "0.6", "0.8", "1.0"]
        );
        assert_eq!(
            tick_set(0.0, 5e7, 5).unwrap().labels(),
            ["0", "1e7", "2e7", "3e7", "4e7", "5e7"]
        );
    }

    #[test]
    fn png_decodes_at_stated_size() {
        let dir = temp_dir("size");
        let path = dir.join("sub/curve.png");
        let series = [Series::new("train", vec![(0.0, 1.0), (1.0, 2.0)])];
        plot_learning_curve(&path, "t", "x", "y", &series, None).unwrap();
        let (w, h, colour, rgb) = decode(&path);
        assert_eq!((w, h, colour), (800, 500, png::ColorType::Rgb));
        let img = LearningCurve {
            series: series.to_vec(),
            ..LearningCurve::new("t", "x", "y")
        }
        .render()
        .unwrap();
        assert_eq!(rgb, img.as_rgb());

        let mut curve = LearningCurve::new("t", "x", "y");
        curve.width = 321;
        curve.height = 234;
        curve.save(dir.join("small.png")).unwrap();
        let (w, h, _, _) = decode(&dir.join("small.png"));
        assert_eq!((w, h), (321, 234));
    }

    #[test]
    fn data_points_have_the_series_colour() {
        let mut curve = LearningCurve::new("t", "x", "y");
        curve
            .series
            .push(Series::new("a", vec![(0.0, 0.0), (3.0, 7.0), (10.0, 2.0)]));
        curve.series.push(Series::new(
            "b",
            vec![(0.0, 9.0), (f64::NAN, 1.0), (10.0, 9.0)],
        ));
        let (img, layout) = curve.render_with_layout().unwrap();
        let (x, y) = layout.px(3.0, 7.0);
        assert_eq!(img.pixel(x as u32, y as u32), Some(SERIES_COLOURS[0]));
        // The NaN point is skipped: "b" is a flat line at 9 (its midpoint is coloured).
        let (x, y) = layout.px(5.0, 9.0);
        assert_eq!(img.pixel(x as u32, y as u32), Some(SERIES_COLOURS[1]));
        // Far from any line, the plot area is background or grid.
        let (x, y) = layout.px(9.0, 5.5);
        let p = img.pixel(x as u32, y as u32).unwrap();
        assert!(p == WHITE || p == GRID, "{p:?}");
        // Legend swatches use the colours too.
        let count = |c: [u8; 3]| img.as_rgb().chunks(3).filter(|p| *p == c).count();
        assert!(count(SERIES_COLOURS[0]) > 100 && count(SERIES_COLOURS[1]) > 100);
    }

    #[test]
    fn single_point_is_visible() {
        let mut curve = LearningCurve::new("t", "x", "y");
        curve.series.push(Series::new("one", vec![(5.0, 5.0)]));
        let (img, layout) = curve.render_with_layout().unwrap();
        let (x, y) = layout.px(5.0, 5.0);
        assert_eq!(img.pixel(x as u32, y as u32), Some(SERIES_COLOURS[0]));
    }

    #[test]
    fn empty_and_non_finite_still_draw_axes_and_note() {
        for series in [
            vec![],
            vec![Series::new(
                "nan",
                vec![(f64::NAN, 1.0), (1.0, f64::INFINITY)],
            )],
        ] {
            let mut curve = LearningCurve::new("t", "x", "y");
            curve.series = series;
            let (img, layout) = curve.render_with_layout().unwrap();
            let p = layout.plot;
            // Axes: the left and bottom edges are black.
            assert_eq!(
                img.pixel(p.x0 as u32, ((p.y0 + p.y1) / 2) as u32),
                Some(BLACK)
            );
            assert_eq!(
                img.pixel(((p.x0 + p.x1) / 2) as u32, p.y1 as u32),
                Some(BLACK)
            );
            // The "no data" note is drawn in the middle.
            let notes = img.as_rgb().chunks(3).filter(|c| *c == NOTE).count();
            assert!(notes > 50, "{notes}");
            assert_eq!(
                (layout.x_lo, layout.x_hi, layout.y_lo, layout.y_hi),
                (0.0, 1.0, 0.0, 1.0)
            );
        }
        let path = temp_dir("empty").join("e.png");
        plot_learning_curve(&path, "", "", "", &[], None).unwrap();
        assert_eq!(decode(&path).0, 800);
    }

    #[test]
    fn target_line_is_dashed_and_in_range() {
        let mut curve = LearningCurve::new("t", "x", "y");
        curve
            .series
            .push(Series::new("a", vec![(0.0, 10.0), (1.0, 100.0)]));
        curve.target = Some(475.0);
        let (img, layout) = curve.render_with_layout().unwrap();
        assert!(layout.y_hi >= 475.0);
        let y = layout.px_y(475.0).round() as u32;
        let row: Vec<bool> = (layout.plot.x0 as u32 + 2..layout.plot.x1 as u32 - 200)
            .map(|x| img.pixel(x, y) == Some(TARGET_COLOUR))
            .collect();
        let on = row.iter().filter(|b| **b).count();
        assert!(
            on > row.len() / 3 && on < row.len(),
            "{on} of {}",
            row.len()
        );
        let runs = row.windows(2).filter(|w| w[0] && !w[1]).count();
        assert!(runs > 10, "{runs}");
        curve.target = Some(f64::NAN);
        assert!(matches!(curve.render(), Err(Error::InvalidConfig { .. })));
    }

    #[test]
    fn invalid_size_is_an_error() {
        let mut curve = LearningCurve::new("t", "x", "y");
        curve.height = 0;
        match curve.render() {
            Err(Error::InvalidConfig { field, .. }) => assert_eq!(field, "height"),
            other => panic!("{other:?}"),
        }
        curve.height = 500;
        curve.width = 100_000;
        assert!(curve.render().is_err());
    }

    #[test]
    fn save_reports_io_errors() {
        let dir = temp_dir("io");
        std::fs::create_dir_all(&dir).unwrap();
        let blocker = dir.join("file");
        std::fs::write(&blocker, "x").unwrap();
        let err = plot_learning_curve(blocker.join("a.png"), "t", "x", "y", &[], None).unwrap_err();
        assert!(
            matches!(
                err,
                Error::Io {
                    action: "creating directory",
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn font_covers_the_required_characters() {
        let unknown = glyph('\u{2603}');
        let required = "0123456789-.+ /_():%,abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
        for c in required.chars() {
            let g = glyph(c);
            assert!(c == ' ' || g != unknown, "{c} has no glyph");
            assert!(g.iter().all(|row| *row < 32), "{c} is wider than 5");
        }
        assert_eq!(glyph(' '), [0; 9]);
        // All drawn glyphs are distinct (no accidental copies), except none.
        let chars: Vec<char> = required.chars().collect();
        for (i, a) in chars.iter().enumerate() {
            for b in &chars[i + 1..] {
                assert_ne!(glyph(*a), glyph(*b), "{a} and {b} look the same");
            }
        }
    }

    #[test]
    fn format_value_is_short() {
        assert_eq!(format_value(475.0), "475");
        assert_eq!(format_value(0.95), "0.95");
        assert_eq!(format_value(-200.5), "-200.5");
        assert_eq!(format_value(1e9), "1.000e9");
        assert_eq!(format_value(0.0), "0");
    }

    #[test]
    fn from_columns_skips_missing_cells() {
        let s = Series::from_columns(
            "x",
            &[Some(1.0), None, Some(3.0), Some(4.0)],
            &[Some(1.0), Some(2.0), None],
        );
        assert_eq!(s.points, [(1.0, 1.0)]);
    }
}

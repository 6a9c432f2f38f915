//! Small, general charts on plotters: line/scatter charts with several series and optional
//! log axes, and grouped bar charts with error bars. Written as SVG or PNG (chosen by the
//! file extension) with no system library: PNG text is drawn with DejaVu Sans, embedded
//! from `assets/fonts` (licence beside it) and rendered by ab_glyph.
//!
//! ```
//! use bfly_studies::plot::{Corner, LineChart, Series, Scale};
//! let dir = tempfile::tempdir().unwrap();
//! let chart = LineChart {
//!     title: "Fidelity vs bond dimension".into(),
//!     x_label: "bond dimension χ".into(),
//!     y_label: "1 − fidelity".into(),
//!     x_scale: Scale::Log,
//!     y_scale: Scale::Log,
//!     series: vec![Series::line("n = 16", vec![(2.0, 0.5), (4.0, 0.1), (8.0, 1e-3)])],
//!     legend: Corner::LowerLeft,
//! };
//! for name in ["f.svg", "f.png"] {
//!     chart.save(&dir.path().join(name)).unwrap();
//!     assert!(std::fs::metadata(dir.path().join(name)).unwrap().len() > 1000);
//! }
//! ```

use std::path::Path;
use std::sync::Once;

use plotters::coord::Shift;
use plotters::prelude::*;

use bfly_core::error::{Error, Result};

static FONT: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSans.ttf");
static REGISTER: Once = Once::new();
const FAMILY: &str = "sans-serif";
/// Pixel size of written charts.
pub const SIZE: (u32, u32) = (960, 640);

/// Register the embedded font with plotters (once); every chart drawn in this crate needs
/// it, since plotters is built without system font support.
pub(crate) fn register_font() {
    REGISTER.call_once(|| {
        // The font is compiled in; it parses (checked by the plot tests).
        let _ = plotters::style::register_font(FAMILY, FontStyle::Normal, FONT);
    });
}

/// Axis scale. Points with a non-positive coordinate on a log axis are left out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scale {
    /// Linear.
    Linear,
    /// Base-10 logarithmic.
    Log,
    /// Logarithmic with ticks at powers of two (qubit counts, bond dimensions).
    Log2,
}

/// How a series is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    /// Solid line with markers.
    Line,
    /// Dashed line with markers.
    Dashed,
    /// Markers only (a scatter).
    Points,
    /// Thin grey line without markers (a reference such as y = x).
    Reference,
}

/// One named series of `(x, y)` points.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    /// Legend text.
    pub name: String,
    /// Points in drawing order.
    pub points: Vec<(f64, f64)>,
    /// How to draw them.
    pub style: Style,
}

impl Series {
    /// A solid line with markers.
    pub fn line(name: impl Into<String>, points: Vec<(f64, f64)>) -> Self {
        Series {
            name: name.into(),
            points,
            style: Style::Line,
        }
    }
    /// A dashed line with markers.
    pub fn dashed(name: impl Into<String>, points: Vec<(f64, f64)>) -> Self {
        Series {
            style: Style::Dashed,
            ..Series::line(name, points)
        }
    }
    /// Markers only.
    pub fn points(name: impl Into<String>, points: Vec<(f64, f64)>) -> Self {
        Series {
            style: Style::Points,
            ..Series::line(name, points)
        }
    }
    /// A thin reference line.
    pub fn reference(name: impl Into<String>, points: Vec<(f64, f64)>) -> Self {
        Series {
            style: Style::Reference,
            ..Series::line(name, points)
        }
    }
}

/// A chart of line and scatter series on linear or log axes.
#[derive(Clone, Debug, PartialEq)]
pub struct LineChart {
    /// Title above the plot.
    pub title: String,
    /// X axis label (with units).
    pub x_label: String,
    /// Y axis label (with units).
    pub y_label: String,
    /// X axis scale.
    pub x_scale: Scale,
    /// Y axis scale.
    pub y_scale: Scale,
    /// The series, each with a legend entry.
    pub series: Vec<Series>,
    /// Corner of the legend box.
    pub legend: Corner,
}

/// A corner of the plotting area.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Corner {
    /// Top left.
    UpperLeft,
    /// Top right.
    #[default]
    UpperRight,
    /// Bottom left.
    LowerLeft,
    /// Bottom right.
    LowerRight,
}

impl Corner {
    fn position(self) -> SeriesLabelPosition {
        match self {
            Corner::UpperLeft => SeriesLabelPosition::UpperLeft,
            Corner::UpperRight => SeriesLabelPosition::UpperRight,
            Corner::LowerLeft => SeriesLabelPosition::LowerLeft,
            Corner::LowerRight => SeriesLabelPosition::LowerRight,
        }
    }
}

/// One series of a bar chart: a value and an optional ± error per category.
#[derive(Clone, Debug, PartialEq)]
pub struct BarSeries {
    /// Legend text.
    pub name: String,
    /// `(value, error)` per category (same length as the chart's categories).
    pub values: Vec<(f64, Option<f64>)>,
}

/// Grouped bars (one group per category, one bar per series) with error bars.
#[derive(Clone, Debug, PartialEq)]
pub struct BarChart {
    /// Title above the plot.
    pub title: String,
    /// X axis label.
    pub x_label: String,
    /// Y axis label (with units).
    pub y_label: String,
    /// Category names along x.
    pub categories: Vec<String>,
    /// The series.
    pub series: Vec<BarSeries>,
}

/// Distinct colours (Okabe–Ito, then plotters' palette).
fn colour(i: usize) -> RGBColor {
    const OKABE_ITO: [RGBColor; 8] = [
        RGBColor(0, 114, 178),
        RGBColor(213, 94, 0),
        RGBColor(0, 158, 115),
        RGBColor(204, 121, 167),
        RGBColor(230, 159, 0),
        RGBColor(86, 180, 233),
        RGBColor(0, 0, 0),
        RGBColor(150, 150, 0),
    ];
    if i < OKABE_ITO.len() {
        OKABE_ITO[i]
    } else {
        let c = Palette99::pick(i).to_rgba();
        RGBColor(c.0, c.1, c.2)
    }
}

fn bounds(values: impl Iterator<Item = f64>, scale: Scale) -> Option<(f64, f64)> {
    let (lo, hi) = values
        .filter(|v| v.is_finite() && (scale == Scale::Linear || *v > 0.0))
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(v), b.max(v))
        });
    if lo > hi {
        return None;
    }
    Some(match scale {
        Scale::Linear => {
            let pad = if hi > lo { 0.05 * (hi - lo) } else { 0.5 };
            (lo - pad, hi + pad)
        }
        Scale::Log | Scale::Log2 => {
            let (l, h) = (lo.log10(), hi.log10());
            let pad = if h > l { 0.05 * (h - l) } else { 0.5 };
            (10f64.powf(l - pad), 10f64.powf(h + pad))
        }
    })
}

fn format_tick(v: f64, scale: Scale) -> String {
    if v == 0.0 {
        return "0".into();
    }
    let a = v.abs();
    if scale == Scale::Log2 {
        let r = v.round();
        return if (v - r).abs() < 1e-6 * a.max(1.0) {
            format!("{r}")
        } else {
            format!("{v:.2}")
        };
    }
    if scale == Scale::Log && !(1e-2..1e4).contains(&a) {
        format!("{v:.0e}")
    } else if !(1e-3..1e5).contains(&a) {
        format!("{v:.1e}")
    } else {
        let s = format!("{v:.3}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

fn plot_err<E: std::fmt::Debug>(path: &Path) -> impl Fn(E) -> Error + '_ {
    move |e| Error::Plot {
        path: path.to_path_buf(),
        message: format!("{e:?}"),
    }
}

macro_rules! draw_lines {
    ($root:expr, $chart:expr, $xr:expr, $yr:expr, $path:expr) => {{
        let c = $chart;
        let (xs, ys) = (c.x_scale, c.y_scale);
        let mut ctx = ChartBuilder::on(&$root)
            .caption(&c.title, (FAMILY, 26))
            .margin(18)
            .x_label_area_size(56)
            .y_label_area_size(90)
            .build_cartesian_2d($xr, $yr)
            .map_err(plot_err($path))?;
        ctx.configure_mesh()
            .x_desc(c.x_label.as_str())
            .y_desc(c.y_label.as_str())
            .label_style((FAMILY, 16))
            .axis_desc_style((FAMILY, 19))
            .x_label_formatter(&|v: &f64| format_tick(*v, xs))
            .y_label_formatter(&|v: &f64| format_tick(*v, ys))
            .light_line_style(RGBColor(235, 235, 235))
            .draw()
            .map_err(plot_err($path))?;
        let keep = |p: &(f64, f64)| {
            p.0.is_finite()
                && p.1.is_finite()
                && (xs == Scale::Linear || p.0 > 0.0)
                && (ys == Scale::Linear || p.1 > 0.0)
        };
        let mut colour_index = 0;
        for s in &c.series {
            let pts: Vec<(f64, f64)> = s.points.iter().copied().filter(keep).collect();
            let col = if s.style == Style::Reference {
                RGBColor(120, 120, 120)
            } else {
                colour_index += 1;
                colour(colour_index - 1)
            };
            let stroke = col.stroke_width(2);
            let anno = match s.style {
                Style::Line | Style::Reference => ctx
                    .draw_series(LineSeries::new(
                        pts.clone(),
                        if s.style == Style::Reference {
                            col.stroke_width(1)
                        } else {
                            stroke
                        },
                    ))
                    .map_err(plot_err($path))?,
                Style::Dashed => ctx
                    .draw_series(DashedLineSeries::new(pts.clone(), 8, 5, stroke))
                    .map_err(plot_err($path))?,
                Style::Points => ctx
                    .draw_series(std::iter::empty::<PathElement<(f64, f64)>>())
                    .map_err(plot_err($path))?,
            };
            let dashed = s.style == Style::Dashed;
            anno.label(s.name.as_str()).legend(move |(x, y)| {
                if dashed {
                    PathElement::new(vec![(x, y), (x + 8, y)], col.stroke_width(2))
                } else {
                    PathElement::new(vec![(x, y), (x + 20, y)], col.stroke_width(2))
                }
            });
            if s.style != Style::Reference {
                let filled = s.style != Style::Dashed;
                ctx.draw_series(pts.iter().map(|&p| {
                    if filled {
                        Circle::new(p, 4, col.filled())
                    } else {
                        Circle::new(p, 4, col.stroke_width(2))
                    }
                }))
                .map_err(plot_err($path))?;
            }
        }
        ctx.configure_series_labels()
            .position(c.legend.position())
            .label_font((FAMILY, 15))
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()
            .map_err(plot_err($path))?;
    }};
}

impl LineChart {
    /// Write the chart to `path`: SVG for `.svg`, PNG for `.png` (960 × 640).
    pub fn save(&self, path: &Path) -> Result<()> {
        save_with(
            path,
            |root| self.draw(root, path),
            |root| self.draw(root, path),
        )
    }

    fn draw<DB: DrawingBackend>(&self, root: DrawingArea<DB, Shift>, path: &Path) -> Result<()> {
        root.fill(&WHITE).map_err(plot_err(path))?;
        let all = || self.series.iter().flat_map(|s| s.points.iter());
        let x = bounds(all().map(|p| p.0), self.x_scale).unwrap_or((1.0, 10.0));
        let y = bounds(all().map(|p| p.1), self.y_scale).unwrap_or((1.0, 10.0));
        let base = |s: Scale| if s == Scale::Log2 { 2.0 } else { 10.0 };
        let (bx, by) = (base(self.x_scale), base(self.y_scale));
        let lin = |s: Scale| s == Scale::Linear;
        match (lin(self.x_scale), lin(self.y_scale)) {
            (true, true) => draw_lines!(root, self, x.0..x.1, y.0..y.1, path),
            (false, true) => {
                draw_lines!(root, self, (x.0..x.1).log_scale().base(bx), y.0..y.1, path)
            }
            (true, false) => {
                draw_lines!(root, self, x.0..x.1, (y.0..y.1).log_scale().base(by), path)
            }
            (false, false) => draw_lines!(
                root,
                self,
                (x.0..x.1).log_scale().base(bx),
                (y.0..y.1).log_scale().base(by),
                path
            ),
        }
        root.present().map_err(plot_err(path))
    }
}

impl BarChart {
    /// Write the chart to `path`: SVG for `.svg`, PNG for `.png` (960 × 640).
    pub fn save(&self, path: &Path) -> Result<()> {
        for s in &self.series {
            if s.values.len() != self.categories.len() {
                return Err(Error::Plot {
                    path: path.to_path_buf(),
                    message: format!(
                        "bar series \"{}\" has {} values for {} categories; give one value per category",
                        s.name,
                        s.values.len(),
                        self.categories.len()
                    ),
                });
            }
        }
        save_with(
            path,
            |root| self.draw(root, path),
            |root| self.draw(root, path),
        )
    }

    fn draw<DB: DrawingBackend>(&self, root: DrawingArea<DB, Shift>, path: &Path) -> Result<()> {
        root.fill(&WHITE).map_err(plot_err(path))?;
        let tops = self.series.iter().flat_map(|s| {
            s.values
                .iter()
                .flat_map(|&(v, e)| [v + e.unwrap_or(0.0), v - e.unwrap_or(0.0)])
        });
        let (lo, hi) = tops
            .filter(|v| v.is_finite())
            .fold((0.0f64, 0.0f64), |(a, b), v| (a.min(v), b.max(v)));
        let hi = if hi > lo { hi + 0.08 * (hi - lo) } else { 1.0 };
        let ncat = self.categories.len().max(1);
        let cats = self.categories.clone();
        let mut ctx = ChartBuilder::on(&root)
            .caption(&self.title, (FAMILY, 26))
            .margin(18)
            .x_label_area_size(56)
            .y_label_area_size(90)
            .build_cartesian_2d(-0.5..(ncat as f64 - 0.5), lo..hi)
            .map_err(plot_err(path))?;
        ctx.configure_mesh()
            .disable_x_mesh()
            .x_labels(ncat * 2 + 1)
            .x_desc(self.x_label.as_str())
            .y_desc(self.y_label.as_str())
            .label_style((FAMILY, 16))
            .axis_desc_style((FAMILY, 19))
            .x_label_formatter(&|v: &f64| {
                let i = v.round();
                if (v - i).abs() < 1e-6 && i >= 0.0 {
                    cats.get(i as usize).cloned().unwrap_or_default()
                } else {
                    String::new()
                }
            })
            .y_label_formatter(&|v: &f64| format_tick(*v, Scale::Linear))
            .light_line_style(RGBColor(235, 235, 235))
            .draw()
            .map_err(plot_err(path))?;
        let m = self.series.len().max(1) as f64;
        let width = 0.8 / m;
        for (j, s) in self.series.iter().enumerate() {
            let col = colour(j);
            let left = |i: usize| i as f64 - 0.4 + j as f64 * width;
            ctx.draw_series(s.values.iter().enumerate().map(|(i, &(v, _))| {
                Rectangle::new([(left(i), 0.0), (left(i) + width * 0.92, v)], col.filled())
            }))
            .map_err(plot_err(path))?
            .label(s.name.as_str())
            .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 14, y + 6)], col.filled()));
            ctx.draw_series(s.values.iter().enumerate().filter_map(|(i, &(v, e))| {
                e.map(|e| {
                    ErrorBar::new_vertical(
                        left(i) + width * 0.46,
                        v - e,
                        v,
                        v + e,
                        BLACK.stroke_width(2),
                        10,
                    )
                })
            }))
            .map_err(plot_err(path))?;
        }
        ctx.configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .label_font((FAMILY, 15))
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()
            .map_err(plot_err(path))?;
        root.present().map_err(plot_err(path))
    }
}

/// Open the backend chosen by `path`'s extension and run the matching closure.
fn save_with(
    path: &Path,
    svg: impl FnOnce(DrawingArea<SVGBackend, Shift>) -> Result<()>,
    png: impl FnOnce(DrawingArea<BitMapBackend, Shift>) -> Result<()>,
) -> Result<()> {
    register_font();
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    match path.extension().and_then(|e| e.to_str()) {
        Some("svg") => {
            let mut text = String::new();
            svg(SVGBackend::with_string(&mut text, SIZE).into_drawing_area())?;
            bfly_core::io::write_atomic(path, text.as_bytes())
        }
        Some("png") => {
            let mut pixels = vec![0u8; (SIZE.0 * SIZE.1 * 3) as usize];
            png(BitMapBackend::with_buffer(&mut pixels, SIZE).into_drawing_area())?;
            let mut bytes = Vec::new();
            image_png(&pixels, &mut bytes).map_err(plot_err(path))?;
            bfly_core::io::write_atomic(path, &bytes)
        }
        _ => Err(Error::Plot {
            path: path.to_path_buf(),
            message: "unknown image format; name the file .svg or .png".into(),
        }),
    }
}

/// Encode an RGB buffer of [`SIZE`] as PNG in memory (plotters' own encoder writes the
/// file non-atomically; this way it goes through `write_atomic`).
fn image_png(pixels: &[u8], out: &mut Vec<u8>) -> std::result::Result<(), String> {
    use image::ImageEncoder;
    image::codecs::png::PngEncoder::new(out)
        .write_image(pixels, SIZE.0, SIZE.1, image::ColorType::Rgb8)
        .map_err(|e| e.to_string())
}

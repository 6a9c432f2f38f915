//! The study's figure: test AUC per method, every seed as a dot and the mean ± one
//! standard deviation as a bar, as an SVG document (plotters' SVG backend; text is
//! written as SVG `<text>`, measured with the embedded font of [`crate::plot`]).
//!
//! Kept in one function so it can later be pointed at a shared plotting module.

use plotters::prelude::*;

use super::imputation::StudyReport;
use super::metrics::mean_std;
use bfly_core::error::{Error, Result};

/// The AUC-per-method plot of `report` as SVG text.
pub fn auc_plot_svg(report: &StudyReport) -> Result<String> {
    crate::plot::register_font();
    let plot_err = |e: String| Error::Imputation(format!("could not draw the plot: {e}"));
    let k = report.methods.len();
    let all: Vec<f64> = report
        .methods
        .iter()
        .flat_map(|m| m.auc.iter().copied())
        .collect();
    if k == 0 || all.is_empty() {
        return Err(plot_err("the report has no results".into()));
    }
    let lo = all.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = all.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let pad = ((hi - lo) * 0.1).max(0.002);
    let names: Vec<String> = report.methods.iter().map(|m| m.name.clone()).collect();
    let mut svg = String::new();
    {
        let width = (140 + 110 * k as u32).max(640);
        let root = SVGBackend::with_string(&mut svg, (width, 420)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| plot_err(e.to_string()))?;
        let mut chart = ChartBuilder::on(&root)
            .caption(
                format!(
                    "Downstream {} AUC after imputation ({} seeds, {:.0} % MCAR)",
                    report.outcome,
                    report.seeds.len(),
                    100.0 * report.missing_rate
                ),
                ("sans-serif", 18),
            )
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(-0.5f64..(k as f64 - 0.5), (lo - pad)..(hi + pad))
            .map_err(|e| plot_err(e.to_string()))?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(k)
            .x_label_formatter(&|x| {
                let i = x.round();
                if (x - i).abs() < 1e-6 && i >= 0.0 && (i as usize) < names.len() {
                    names[i as usize].clone()
                } else {
                    String::new()
                }
            })
            .y_desc("test AUC")
            .y_label_formatter(&|y| format!("{y:.3}"))
            .draw()
            .map_err(|e| plot_err(e.to_string()))?;
        for (i, m) in report.methods.iter().enumerate() {
            let color = if m.quantum {
                RGBColor(200, 60, 40)
            } else {
                RGBColor(40, 90, 170)
            };
            let x = i as f64;
            let n = m.auc.len().max(1) as f64;
            chart
                .draw_series(m.auc.iter().enumerate().map(|(j, &a)| {
                    let jitter = 0.25 * ((j as f64 + 0.5) / n - 0.5);
                    Circle::new((x + jitter, a), 3, color.mix(0.45).filled())
                }))
                .map_err(|e| plot_err(e.to_string()))?;
            let (mean, sd) = mean_std(&m.auc);
            chart
                .draw_series(std::iter::once(ErrorBar::new_vertical(
                    x,
                    mean - sd,
                    mean,
                    mean + sd,
                    color.stroke_width(2),
                    14,
                )))
                .map_err(|e| plot_err(e.to_string()))?;
            chart
                .draw_series(std::iter::once(Circle::new((x, mean), 5, color.filled())))
                .map_err(|e| plot_err(e.to_string()))?;
        }
        root.present().map_err(|e| plot_err(e.to_string()))?;
    }
    Ok(svg)
}

/// The model-variance plot of `report` as SVG text: per model (hybrid or dense network),
/// its AUCs across training seeds at one fixed mask and split (left, grey) next to its
/// AUCs across the study's seeds, each a new mask and split (right, coloured); mean ± one
/// standard deviation as a bar. An error if the report has no model-variance rows.
pub fn variance_plot_svg(report: &StudyReport) -> Result<String> {
    crate::plot::register_font();
    let plot_err = |e: String| Error::Imputation(format!("could not draw the plot: {e}"));
    let rows: Vec<(&str, &[f64], &[f64], bool)> = report
        .model_variance
        .iter()
        .filter_map(|v| {
            let m = report.methods.iter().find(|m| m.name == v.method)?;
            Some((
                v.method.as_str(),
                v.auc.as_slice(),
                m.auc.as_slice(),
                m.quantum,
            ))
        })
        .collect();
    if rows.is_empty() {
        return Err(plot_err("the report has no model-variance rows".into()));
    }
    let all: Vec<f64> = rows
        .iter()
        .flat_map(|(_, a, b, _)| a.iter().chain(b.iter()).copied())
        .collect();
    let lo = all.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = all.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let pad = ((hi - lo) * 0.1).max(0.002);
    let k = rows.len();
    let names: Vec<String> = rows.iter().map(|r| r.0.to_string()).collect();
    let mut svg = String::new();
    {
        let width = (140 + 130 * k as u32).max(640);
        let root = SVGBackend::with_string(&mut svg, (width, 420)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| plot_err(e.to_string()))?;
        let mut chart = ChartBuilder::on(&root)
            .caption(
                format!(
                    "{} AUC: training seeds at one mask/split (grey) vs {} masks/splits (colour)",
                    report.outcome,
                    report.seeds.len()
                ),
                ("sans-serif", 16),
            )
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(-0.5f64..(k as f64 - 0.5), (lo - pad)..(hi + pad))
            .map_err(|e| plot_err(e.to_string()))?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(k)
            .x_label_formatter(&|x| {
                let i = x.round();
                if (x - i).abs() < 1e-6 && i >= 0.0 && (i as usize) < names.len() {
                    names[i as usize].clone()
                } else {
                    String::new()
                }
            })
            .y_desc("test AUC")
            .y_label_formatter(&|y| format!("{y:.3}"))
            .draw()
            .map_err(|e| plot_err(e.to_string()))?;
        for (i, (_, training, seeds, quantum)) in rows.iter().enumerate() {
            let colour = if *quantum {
                RGBColor(200, 60, 40)
            } else {
                RGBColor(40, 90, 170)
            };
            for (offset, values, c) in [
                (-0.18, *training, RGBColor(120, 120, 120)),
                (0.18, *seeds, colour),
            ] {
                let x = i as f64 + offset;
                chart
                    .draw_series(
                        values
                            .iter()
                            .map(|&a| Circle::new((x, a), 3, c.mix(0.45).filled())),
                    )
                    .map_err(|e| plot_err(e.to_string()))?;
                let (mean, sd) = mean_std(values);
                chart
                    .draw_series(std::iter::once(ErrorBar::new_vertical(
                        x,
                        mean - sd,
                        mean,
                        mean + sd,
                        c.stroke_width(2),
                        12,
                    )))
                    .map_err(|e| plot_err(e.to_string()))?;
            }
        }
        root.present().map_err(|e| plot_err(e.to_string()))?;
    }
    Ok(svg)
}

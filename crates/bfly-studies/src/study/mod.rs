//! Studies built on the crate: the clinical imputation study (downstream AUC of imputed
//! ICU data, classical imputers against hybrid Butterfly imputers).
//!
//! - [`metrics`]: AUC, RMSE, mean ± std, Welch's t-test.
//! - [`logistic`]: L2 logistic regression (the downstream model).
//! - [`imputation`]: the study driver and its report ([`run_study`], [`StudyReport`]).
//! - [`plot`]: the SVG figure.
//! - [`schema`]: schema inference of a cohort file (types, missing fractions, roles,
//!   leakage warnings).
//! - [`cohort`]: a cohort's choices as one TOML-able spec, its presets (RHC), and their
//!   resolution into a [`StudyConfig`].
//! - [`hardware`]: the hardware-faithful rows (the 16-qubit hybrid's last layer trained
//!   exactly, with shots, under forte-1 noise, and through the IonQ emulator's API).

pub mod cohort;
pub mod hardware;
pub mod imputation;
pub mod logistic;
/// The study metrics live with the models (`bfly_train::metrics`).
pub use bfly_train::metrics;
pub mod plot;
pub mod schema;

pub use cohort::{CohortSpec, MaskColumns, Resolved};
pub use imputation::{
    load_study_data, run_study, ClassicalMethod, Comparison, MethodResult, ModelVariance,
    StudyConfig, StudyData, StudyEvent, StudyReport, DEFAULT_TARGET,
};
pub use plot::{auc_plot_svg, variance_plot_svg};
pub use schema::{ColumnType, Role, Schema};

//! Data: numeric tables read from CSV (with missing values) and the feature/target
//! datasets that training consumes.
//!
//! ```
//! use bfly_train::data::Table;
//! let table = Table::parse("\"age\", bmi,y\n 61, 27.5, 1\nNA, 22.0, 0\n", "inline.csv").unwrap();
//! let sel = table.select(&["age".into(), "bmi".into()], &["y".into()]).unwrap();
//! assert_eq!(sel.dropped, 1); // the row with a missing age
//! assert_eq!(sel.dataset.features, vec![vec![61.0, 27.5]]);
//! ```

pub mod dataset;
mod records;
pub mod table;
pub mod typed;

pub use dataset::Dataset;
pub use table::{Selection, Table};
pub use typed::{ColumnKind, TableSpec, TypedColumn, TypedTable};

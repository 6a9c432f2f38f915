//! CSV tables: the numeric `Table` and the typed `TypedTable` readers (what `Table::read`,
//! `TypedTable::read` and training and the imputation study run on a file's text). The
//! input is the CSV text; its length picks a `TableSpec` over the header's columns, so the
//! spec's cases are reached too (and the corpus stays plain CSV files). A table that parses
//! is also encoded and selected.
#![no_main]

use bfly_train::data::{Table, TableSpec, TypedTable};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let choice = data.len() as u8;
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(table) = Table::parse(text, "fuzz.csv") {
        select_last(&table);
    }
    let Ok(typed) = TypedTable::parse(text, "fuzz.csv", &TableSpec::default()) else {
        return;
    };
    let _ = typed.to_table();
    // Bits of `choice` list columns in the spec: 0–1 zero_missing, 2–3 na_level, 4–5
    // categorical (the first or second column), 6 custom missing markers; then parse
    // again with it.
    let names: Vec<String> = typed.columns.iter().map(|c| c.name.clone()).collect();
    let pick = |shift: u8| -> Vec<String> {
        (0..2)
            .filter(|i| choice >> (shift + i) & 1 == 1)
            .filter_map(|i| names.get(usize::from(i)).cloned())
            .collect()
    };
    let spec = TableSpec {
        zero_missing: pick(0),
        na_level: pick(2),
        categorical: pick(4),
        // Bit 6: custom missing markers (a common clinical set) instead of the default.
        missing_values: (choice >> 6 & 1 == 1)
            .then(|| vec!["NA".to_string(), "?".to_string(), String::new()]),
    };
    if let Ok(typed) = TypedTable::parse(text, "fuzz.csv", &spec) {
        select_last(&typed.to_table());
    }
});

/// Select the last column as the target and the others as features (no features for a
/// one-column table: an error to return, not a panic).
fn select_last(table: &Table) {
    let split = table.columns.len().saturating_sub(1);
    let (features, targets) = table.columns.split_at(split);
    let _ = table.select(features, targets);
}

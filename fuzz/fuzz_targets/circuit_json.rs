//! Circuit JSON (`Circuit::from_json`, what `Circuit::load` runs on a file's text) and
//! parameter JSON (`Parameters`, what `Parameters::load` parses). A circuit that loads must
//! bind with its own defaults or fail with an error, and its JSON must load back to it.
#![no_main]

use bfly_core::circuit::{Circuit, Parameters};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The loaders read files with `read_to_string`: text that is not UTF-8 never reaches
    // the parser.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(circuit) = Circuit::from_json(text) {
        let _ = circuit.bind_defaults();
        let _ = circuit.preserves_hamming_weight(&circuit.parameters);
        let _ = (circuit.n_trainable(), circuit.n_inputs());
        let again = Circuit::from_json(&circuit.to_json()).expect("a loaded circuit re-loads");
        assert_eq!(
            again, circuit,
            "a loaded circuit round-trips through its JSON"
        );
    }
    let _ = serde_json::from_str::<Parameters>(text.strip_prefix('\u{feff}').unwrap_or(text));
});

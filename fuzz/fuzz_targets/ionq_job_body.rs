//! IonQ job bodies: `JobSpec::from_body`, the parser the emulator runs on every `POST
//! /jobs` body (after `serde_json::from_str`), for both API versions. A body that parses is
//! turned into the IR circuit (as the emulator does before simulating) and written back
//! with `to_body`, which must parse to the same job. The same JSON also goes through the
//! client's parsers of the server's answers (`JobInfo`, `Probabilities`).
#![no_main]

use bfly_ionq::format::{ApiVersion, JobInfo, JobSpec, Probabilities};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The emulator reads the body as text and answers 400 to anything not JSON.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(body) = serde_json::from_str::<serde_json::Value>(text) else {
        return;
    };
    for version in [ApiVersion::V0_4, ApiVersion::V0_3] {
        if let Ok(spec) = JobSpec::from_body(&body, version) {
            let _ = spec.input.gate_counts();
            let _ = spec.input.to_circuit();
            let again = JobSpec::from_body(&spec.to_body(version), version)
                .expect("a parsed job body re-parses");
            assert_eq!(again, spec, "a job body round-trips through to_body");
        }
        let _ = JobInfo::from_json(&body, version);
    }
    for n_qubits in [1, 3, 64] {
        let _ = Probabilities::from_json(&body, n_qubits);
    }
});

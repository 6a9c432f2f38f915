//! The API client with careless input (issue 20): base URLs that cannot work are typed
//! errors at once, credentials in a base URL are never shown, connection retries are
//! bounded and say so, and jobs IonQ would reject for their shots are never sent.

use std::net::TcpListener;
use std::time::{Duration, Instant};

use bfly_core::error::Error;
use bfly_ionq::client::{redact_url, ApiKey, ClientConfig, IonqClient};
use bfly_ionq::emulator::{Emulator, EmulatorConfig};
use bfly_ionq::format::{ApiVersion, IonqInput, IonqOps, JobSpec, QisGate};

const KEY: &str = "client-hardening-key";

fn quick(base: &str) -> ClientConfig {
    let mut c = ClientConfig::new(ApiVersion::V0_4).with_base_url(base);
    c.request_timeout = Duration::from_secs(5);
    c.connect_timeout = Duration::from_secs(2);
    c.max_attempts = 3;
    c.initial_backoff = Duration::from_millis(20);
    c.max_backoff = Duration::from_millis(40);
    c
}

fn job() -> JobSpec {
    JobSpec::new(
        "simulator",
        IonqInput {
            qubits: 1,
            ops: IonqOps::Qis(vec![QisGate {
                gate: "h".into(),
                target: Some(0),
                targets: None,
                control: None,
                controls: None,
                rotation: None,
            }]),
        },
    )
}

/// A loopback port nothing listens on.
fn closed_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

#[test]
fn unusable_base_urls_are_typed_errors_at_once() {
    for (base, why) in [
        ("not a url", "relative URL"),
        ("ftp://alice:s3cret@api.ionq.co/v0.4", "scheme"),
        ("mailto:alice@example.com", "scheme"),
        ("http://alice:s3cret@/v0.4", ""),
        ("https://", ""),
    ] {
        let t = Instant::now();
        let err = IonqClient::new(ApiKey::new(KEY).unwrap(), quick(base))
            .err()
            .unwrap_or_else(|| panic!("{base:?} accepted"));
        assert!(
            t.elapsed() < Duration::from_millis(500),
            "{base}: {:?}",
            t.elapsed()
        );
        let shown = format!("{err} {err:?}");
        assert!(
            matches!(err, Error::IonqInvalidBaseUrl { .. }),
            "{base}: {shown}"
        );
        assert!(shown.contains(why), "{base}: {shown}");
        assert!(!shown.contains("s3cret"), "{base}: {shown}");
    }
}

#[test]
fn credentials_in_a_base_url_are_never_shown() {
    assert_eq!(
        redact_url("https://alice:s3cret@api.ionq.co/v0.4/jobs?x=1"),
        "https://***@api.ionq.co/v0.4/jobs?x=1"
    );
    assert_eq!(redact_url("http://alice@h:1/p"), "http://***@h:1/p");
    assert_eq!(redact_url("http://h:1/p@q"), "http://h:1/p@q");

    // A live emulator: a 404 names the URL, with the credentials redacted. (The path
    // prefix /v9 is unknown, so the emulator answers 404 before it looks at the key:
    // reqwest also sends URL credentials as a Basic `Authorization` header.)
    let emu = Emulator::start(EmulatorConfig::new(KEY)).unwrap();
    let base = format!("http://alice:s3cret@{}/v9", emu.addr());
    let client = IonqClient::new(ApiKey::new(KEY).unwrap(), quick(&base)).unwrap();
    assert!(!format!("{client:?}").contains("s3cret"));
    assert!(!format!("{:?}", quick(&base)).contains("s3cret"));
    match client.job("00000000-0000-4000-8000-000000000000") {
        Err(e @ Error::IonqNotFound { .. }) => {
            let shown = format!("{e} {e:?}");
            assert!(!shown.contains("s3cret"), "{shown}");
            assert!(shown.contains("***@"), "{shown}");
        }
        other => panic!("expected 404, got {other:?}"),
    }

    // Nothing listening: the transport error (reqwest's text names the URL) is redacted.
    let base = format!("http://alice:s3cret@127.0.0.1:{}/v0.4", closed_port());
    let client = IonqClient::new(ApiKey::new(KEY).unwrap(), quick(&base)).unwrap();
    let err = client.backends().unwrap_err();
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains("s3cret"), "{shown}");
}

#[test]
fn refused_connections_are_retried_a_bounded_and_stated_number_of_times() {
    let base = format!("http://127.0.0.1:{}/v0.4", closed_port());
    let config = quick(&base);
    let bound = config.max_retry_wait();
    assert_eq!(bound, Duration::from_millis(20 + 40));
    let client = IonqClient::new(ApiKey::new(KEY).unwrap(), config).unwrap();
    let t = Instant::now();
    match client.backends() {
        Err(Error::IonqRetriesExhausted { attempts, last, .. }) => {
            assert_eq!(attempts, 3);
            assert!(last.contains("cannot connect"), "{last}");
            assert!(last.contains("3 tries over"), "{last}");
        }
        other => panic!("expected exhausted retries, got {other:?}"),
    }
    // Three refused connects and two pauses of at most the stated bound.
    assert!(
        t.elapsed() < bound + Duration::from_secs(2),
        "{:?}",
        t.elapsed()
    );
    // The defaults state their bound: about 15 s over 6 tries.
    let d = ClientConfig::new(ApiVersion::V0_4);
    assert_eq!(d.max_retry_wait(), Duration::from_millis(15_500));
}

#[test]
fn jobs_with_shots_the_api_rejects_are_never_sent() {
    let emu = Emulator::start(EmulatorConfig::new(KEY)).unwrap();
    let client = IonqClient::new(
        ApiKey::new(KEY).unwrap(),
        quick(&emu.base_url(ApiVersion::V0_4)),
    )
    .unwrap();
    for shots in [0, 1_000_001, u64::MAX] {
        match client.submit(&job().with_shots(shots)) {
            Err(Error::IonqInvalidJob(m)) => assert!(m.contains("shots"), "{m}"),
            other => panic!("shots {shots}: expected a typed refusal, got {other:?}"),
        }
    }
    let mut debiased = job().with_shots(100);
    debiased.debiasing = Some(true);
    assert!(matches!(
        client.submit(&debiased),
        Err(Error::IonqInvalidJob(_))
    ));
    assert_eq!(emu.requests(), 0, "a refused job reached the server");
    assert!(client.submit(&job().with_shots(1_000_000)).is_ok());
}

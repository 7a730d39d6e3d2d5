mod support;

use docent_e2e::request;
use support::SpinApp;

#[test]
fn health_and_unknown_route() {
    let spin = SpinApp::start(&[("docent_allow_private_hosts", "true")], &[]);
    let health = request("GET", &spin.url("/healthz"), &[], None);
    assert_eq!(health.status, 200, "{}", health.body);
    assert_eq!(health.json()["platform"], "spin");
    let missing = request("GET", &spin.url("/api/nothing-here"), &[], None);
    assert_eq!(missing.status, 404, "{}", missing.body);
    assert_eq!(missing.json()["error"]["code"], "not_found");
}

#[test]
fn postgres_is_reached_only_at_the_allowed_host() {
    let Some(database) = docent_cli::testing::fresh_postgres_database("spin_allowed_host") else {
        return;
    };
    // The URL's server is not the one docent_database_host admits: Spin refuses the connection.
    let spin = SpinApp::start(
        &[
            ("docent_store", "postgres"),
            ("docent_database_url", &database),
            ("docent_database_host", "db.example.com:5432"),
        ],
        &[],
    );
    let refused = request("GET", &spin.url("/healthz"), &[], None);
    assert_eq!(refused.status, 503, "{}", refused.body);
    assert!(refused.body.contains("not permitted"), "{}", refused.body);
    let host = support::postgres_host(&database);
    let spin = SpinApp::start(
        &[
            ("docent_store", "postgres"),
            ("docent_database_url", &database),
            ("docent_database_host", &host),
        ],
        &[],
    );
    let health = request("GET", &spin.url("/healthz"), &[], None);
    assert_eq!(health.status, 200, "{}", health.body);
}

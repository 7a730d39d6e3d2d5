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

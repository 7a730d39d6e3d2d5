//! `docent-fuzz-afl <target>`: one AFL++ persistent-mode loop over the named target of
//! `docent_fuzz::TARGETS` (infra/scripts/fuzz.sh runs each in turn).

fn main() {
    let name = std::env::args().nth(1).unwrap_or_default();
    let Some(target) = docent_fuzz::target(&name) else {
        eprintln!("unknown target `{name}`; one of: {}", docent_fuzz::names().join(", "));
        std::process::exit(2);
    };
    afl::fuzz!(|data: &[u8]| target(data));
}

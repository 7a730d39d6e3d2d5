//! Operating Docent: the metrics it keeps ([`metrics`]) and the alerts they raise ([`alerts`]).

pub mod alerts;
pub mod metrics;

//! What a model call may cost and when it can be skipped: per-minute quotas, prices, and the key of
//! the response cache.

use sha2::{Digest, Sha256};

use crate::crawl::politeness::HostLimits;
use crate::llm::wire::Usage;

/// A provider's per-minute quota as gate limits that never exceed it in any 60-second window: a
/// burst of a fifth of the quota, and a steady rate of the other four fifths spread over the
/// minute.
pub fn per_minute_limits(per_minute: u32) -> HostLimits {
    if per_minute == 0 {
        return HostLimits { rate_per_second: 0.0, burst: 1, concurrency: 0, lease_ms: 0 };
    }
    let burst = (per_minute / 5).max(1);
    let rate = f64::from((per_minute - burst).max(1)) / 60.0;
    HostLimits { rate_per_second: rate, burst, concurrency: 0, lease_ms: 0 }
}

/// US dollars per million tokens, in and out.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Price {
    pub input_per_million: f64,
    pub output_per_million: f64,
}

impl Price {
    pub fn cost_usd(&self, usage: &Usage) -> f64 {
        (f64::from(usage.prompt_tokens) * self.input_per_million
            + f64::from(usage.completion_tokens) * self.output_per_million)
            / 1_000_000.0
    }
}

/// Parses a price table: `model=input/output` entries in dollars per million tokens, separated by
/// commas or new lines (`gpt-4o-mini=0.15/0.60, @cf/meta/llama-3.1-8b-instruct=0.28/0.83`).
pub fn parse_prices(table: &str) -> Result<Vec<(String, Price)>, String> {
    let mut prices = Vec::new();
    for entry in table.split([',', '\n']).map(str::trim).filter(|e| !e.is_empty()) {
        let (model, price) = entry
            .rsplit_once('=')
            .ok_or_else(|| format!("price entry {entry:?} is not model=input/output"))?;
        let (input, output) = price
            .split_once('/')
            .ok_or_else(|| format!("price entry {entry:?} is not model=input/output"))?;
        let number = |s: &str| s.trim().parse::<f64>().ok().filter(|n| n.is_finite() && *n >= 0.0);
        let (Some(input_per_million), Some(output_per_million)) = (number(input), number(output))
        else {
            return Err(format!(
                "price entry {entry:?} needs two non-negative numbers (dollars per million tokens)"
            ));
        };
        prices.push((model.trim().to_string(), Price { input_per_million, output_per_million }));
    }
    Ok(prices)
}

/// A question as the response cache compares it: spacing, closing punctuation and the case of plain
/// words do not matter; anything code-like (`-R`, `Vec::new`, `PGDATA`) keeps its case.
pub fn normalise_question(question: &str) -> String {
    let words: Vec<String> = question
        .split_whitespace()
        .map(|word| {
            let plain = word.trim_end_matches(['?', '!', '.', ',']);
            let is_prose = plain.chars().all(char::is_alphabetic)
                && plain.chars().skip(1).all(char::is_lowercase);
            if is_prose {
                word.to_lowercase()
            } else {
                word.to_string()
            }
        })
        .collect();
    words.join(" ").trim_end_matches(['?', '!', '.', ' ']).to_string()
}

/// What identifies a cached answer: a hash of the normalised question, the index version (a recrawl
/// that changes content changes it, so no stale answer survives) and the providers that would
/// answer.
pub fn answer_fingerprint(question: &str, index_version: u64, models: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(normalise_question(question).as_bytes());
    hasher.update([0]);
    hasher.update(index_version.to_le_bytes());
    hasher.update(models.as_bytes());
    let digest = hasher.finalize();
    digest[..16].iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quota_limits_never_exceed_the_quota_in_a_minute() {
        for quota in [1u32, 2, 5, 60, 1_000, 20_000] {
            let limits = per_minute_limits(quota);
            let mut gate = crate::crawl::politeness::HostGate::default();
            // Saturate for three minutes from an idle start and count grants in every 60 s window.
            let mut grants = Vec::new();
            let mut now = 1_000_000u64;
            while now < 1_000_000 + 180_000 {
                match gate.acquire(&limits, now) {
                    crate::crawl::politeness::Admission::Granted { .. } => grants.push(now),
                    crate::crawl::politeness::Admission::Wait { ms } => now += ms,
                }
            }
            let (mut most, mut end) = (0, 0);
            for start in 0..grants.len() {
                while end < grants.len() && grants[end] < grants[start] + 60_000 {
                    end += 1;
                }
                most = most.max(end - start);
            }
            assert!(most as u32 <= quota, "quota {quota}: {most} grants in one minute");
            assert!(most as u32 >= quota * 9 / 10 || quota < 10, "quota {quota}: only {most} used");
        }
    }

    #[test]
    fn prices_and_cost() {
        let prices =
            parse_prices("gpt-4o-mini=0.15/0.60,\n @cf/meta/llama-3.1-8b-instruct = 0.28/0.83")
                .unwrap();
        assert_eq!(prices[1].0, "@cf/meta/llama-3.1-8b-instruct");
        let cost =
            prices[0].1.cost_usd(&Usage { prompt_tokens: 1_000_000, completion_tokens: 500_000 });
        assert!((cost - 0.45).abs() < 1e-9);
        assert!(parse_prices("gpt=cheap").is_err());
        assert!(parse_prices("gpt=1/-2").is_err());
    }

    #[test]
    fn cache_keys_ignore_form_but_not_meaning_version_or_model() {
        let key = answer_fingerprint("Does Harbor run on Windows?", 7, "m");
        assert_eq!(key, answer_fingerprint("  does harbor run on   windows ", 7, "m"));
        assert_ne!(
            answer_fingerprint("What does `-R` do?", 7, "m"),
            answer_fingerprint("What does `-r` do?", 7, "m")
        );
        assert_ne!(key, answer_fingerprint("Does Harbor run on Linux?", 7, "m"));
        assert_ne!(key, answer_fingerprint("Does Harbor run on Windows?", 8, "m"));
        assert_ne!(key, answer_fingerprint("Does Harbor run on Windows?", 7, "other"));
    }
}

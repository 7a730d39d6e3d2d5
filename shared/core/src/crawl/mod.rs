//! Crawling without I/O: what to request, what a response means for the index and the frontier, and
//! how politely to ask. The crawl function in `docent-functions` performs the I/O decided here.

pub mod breaker;
pub mod decide;
pub mod fetch;
pub mod globs;
pub mod outbound;
pub mod politeness;
pub mod ratelimit;
pub mod retry;
pub mod robots;
pub mod schedule;
pub mod sitemap;
pub mod urls;

//! What the built-in embedder costs, natively (docs/BENCHMARKS.md, "A distilled built-in
//! embedder"): the first call, which reads the compiled-in table, then a question, a misspelled
//! question and a chunk-sized passage, each averaged over many calls.
//!
//!   cargo run --release -p docent-core --example embedder_cost

use std::hint::black_box;
use std::time::{Duration, Instant};

use docent_core::retrieval::embed::{builtin_embed, builtin_embed_query};

fn average(runs: u32, mut call: impl FnMut()) -> Duration {
    let started = Instant::now();
    for _ in 0..runs {
        call();
    }
    started.elapsed() / runs
}

fn main() {
    let started = Instant::now();
    black_box(builtin_embed("database"));
    println!("first call (reads the table): {:?}", started.elapsed());

    let question = "How do I see which queries are running right now?";
    let misspelled = "How do I see which qeuries are runing right now?";
    let passage = "The statistics collector reports the current activity of every server process: \
        the query it runs, when it started, what it waits for and the state of its transaction. \
        Each row of the view describes one process, and a query that has run for too long can be \
        cancelled from another session with the function that signals its backend. "
        .repeat(4);
    println!("passage: {} words", passage.split_whitespace().count());
    println!("question: {:?}", average(20_000, || drop(black_box(builtin_embed_query(question)))));
    println!(
        "misspelled question: {:?}",
        average(20_000, || drop(black_box(builtin_embed_query(misspelled))))
    );
    println!("passage: {:?}", average(5_000, || drop(black_box(builtin_embed(&passage)))));
}

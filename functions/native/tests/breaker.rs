//! The per-origin circuit breaker against a real HTTP server on loopback that answers 503.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use docent_cli::platform::{open_database, Native};
use docent_cli::testing::TestDir;
use docent_core::config::Config;
use docent_core::crawl::breaker::BreakerPolicy;
use docent_functions::crawl::{self, CrawlRequest, Delivery};
use docent_functions::Platform;

/// Answers 404 for /robots.txt and /sitemap.xml and 503 for everything else; records page paths.
fn failing_server() -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let pages = Arc::new(Mutex::new(Vec::new()));
    let seen = pages.clone();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let mut line = String::new();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            reader.read_line(&mut line).unwrap();
            while reader.read_line(&mut String::new()).map(|n| n > 2).unwrap_or(false) {}
            let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
            let status = if path == "/robots.txt" || path == "/sitemap.xml" {
                "404 Not Found"
            } else {
                "503 Service Unavailable"
            };
            if status.starts_with("503") {
                seen.lock().unwrap().push(path);
            }
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
        }
    });
    (port, pages)
}

#[test]
fn the_circuit_opens_after_consecutive_failures_and_spares_the_host() {
    pollster::block_on(async {
        let (port, pages) = failing_server();
        let dir = TestDir::new("breaker");
        let config = Config {
            allow_private_hosts: true,
            breaker: BreakerPolicy { failure_threshold: 2, cool_down_ms: 60_000 },
            ..Config::default()
        };
        let p =
            Native::open(open_database(dir.join("index.db").to_str().unwrap()).unwrap(), config)
                .unwrap();
        let request = CrawlRequest {
            url: format!("http://127.0.0.1:{port}/index.html"),
            max_pages: None,
            max_depth: None,
            include: vec![],
            exclude: vec![],
            priority: None,
            schedule: None,
        };
        crawl::start_job(&p, request).await.unwrap();
        let message = p.queue().pop().unwrap();
        for attempt in 1..=2 {
            let Delivery::Retry { reason, .. } = crawl::consume(&p, &message).await else {
                panic!("attempt {attempt} was not retried")
            };
            assert_eq!(reason, "HTTP 503");
        }
        assert_eq!(pages.lock().unwrap().len(), 2);
        // Open: the next delivery is put back until the cool-down ends, without a request and
        // without spending one of the URL's attempts.
        assert_eq!(crawl::consume(&p, &message).await, Delivery::Ack);
        let delayed = p.queue().delayed();
        assert_eq!(delayed.len(), 1);
        assert_eq!(delayed[0].0, message);
        // The cool-down, plus up to as much again so deferred messages do not all return at once.
        assert!((59..=121).contains(&delayed[0].1), "{delayed:?}");
        assert_eq!(
            pages.lock().unwrap().len(),
            2,
            "the host was not contacted while the circuit was open"
        );
    });
}

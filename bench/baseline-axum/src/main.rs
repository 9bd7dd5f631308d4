//! A minimal axum redirector, the benchmark's baseline: exact paths in a `HashMap`,
//! prefix rules in a second `HashMap` keyed by the prefix, `Redirect::to` (303, no body);
//! HTTP/1.1, and HTTP/2 with prior knowledge (h2c).
//!
//! Usage: `baseline-axum ADDR RULES.csv` where the CSV has a header row naming the columns
//! `path`, `prefix` and `to` (the subset of seeother's CSV rule format the benchmark writes).

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};

/// The loaded table.
#[derive(Default)]
struct Table {
    exact: HashMap<String, String>,
    /// Prefix → target; prefixes are `/c/KEY/` (first two segments), as the generator writes.
    prefix: HashMap<String, String>,
}

fn load(path: &str) -> Result<Table, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {path}: {e}"))?;
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().ok_or("empty rule file")?.split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name);
    let (p, x, t) = (
        col("path"),
        col("prefix"),
        col("to").ok_or("no `to` column")?,
    );
    let mut table = Table::default();
    for line in lines {
        let f: Vec<&str> = line.split(',').collect();
        let get = |i: Option<usize>| i.and_then(|i| f.get(i)).filter(|v| !v.is_empty());
        let to = f
            .get(t)
            .ok_or_else(|| format!("short row: {line}"))?
            .to_string();
        if let Some(path) = get(p) {
            table.exact.insert(path.to_string(), to);
        } else if let Some(prefix) = get(x) {
            table.prefix.insert(prefix.to_string(), to);
        }
    }
    Ok(table)
}

/// The prefix key of `path`: its first two segments with the trailing slash (`/c/KEY/`).
fn prefix_key(path: &str) -> Option<usize> {
    let mut slashes = path.match_indices('/').map(|(i, _)| i).skip(2);
    slashes.next().map(|i| i + 1)
}

async fn redirect(State(table): State<Arc<Table>>, req: Request) -> Response {
    let path = req.uri().path();
    let query = req.uri().query();
    if let Some(to) = table.exact.get(path) {
        return match query {
            None => Redirect::to(to).into_response(),
            Some(q) => Redirect::to(&format!("{to}?{q}")).into_response(),
        };
    }
    if let Some(end) = prefix_key(path)
        && let Some(to) = table.prefix.get(&path[..end])
    {
        let mut target = format!("{to}{}", &path[end..]);
        if let Some(q) = query {
            target.push('?');
            target.push_str(q);
        }
        return Redirect::to(&target).into_response();
    }
    StatusCode::NOT_FOUND.into_response()
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, addr, rules] = args.as_slice() else {
        eprintln!("usage: baseline-axum ADDR RULES.csv");
        std::process::exit(2);
    };
    let table = match load(rules) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("baseline-axum: {e}");
            std::process::exit(1);
        }
    };
    let listener = match tokio::net::TcpListener::bind(addr.as_str()).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("baseline-axum: cannot listen on {addr}: {e}");
            std::process::exit(1);
        }
    };
    let app = Router::new().fallback(redirect).with_state(Arc::new(table));
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    if let Err(e) = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
    {
        eprintln!("baseline-axum: {e}");
        std::process::exit(1);
    }
}

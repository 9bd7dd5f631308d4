//! `seeother import --from apache … --record-from URL --output FILE`: ask the server being
//! replaced the requests that exercise each translated rule, and write the translation with
//! its answers as the file's tests.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use seeother_client::Client;
use seeother_server::migrate::apache::questions::{self, Question};
use seeother_server::migrate::apache::record::{self, Answer};
use seeother_server::rule::RuleSpec;
use seeother_server::rules_file::Format;
use url::Url;

/// Requests in flight at once.
const PARALLEL: usize = 8;

/// The reference server's address: an `http(s)://HOST:PORT` URL without a path.
pub fn parse_reference(text: &str) -> Result<Url, String> {
    let url = Url::parse(text).map_err(|e| {
        format!("--record-from {text:?}: {e}; give the server's URL, e.g. http://127.0.0.1:8080")
    })?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(format!(
            "--record-from {text:?}: give an http(s) URL with a host, e.g. http://127.0.0.1:8080"
        ));
    }
    Ok(url)
}

async fn ask(
    client: &Client,
    base: &Url,
    q: &Question,
    names: &[String],
) -> Result<Answer, String> {
    let url = base
        .join(&q.target)
        .map_err(|e| format!("{}: {e}", q.target))?;
    let mut request = http::Request::get(url.as_str());
    for (n, v) in &q.headers {
        request = request.header(n.as_str(), v.as_str());
    }
    let request = request.body(()).map_err(|e| e.to_string())?;
    let response = client
        .send(request)
        .await
        .map_err(|e| format!("GET {url}: {e}"))?;
    let field = |name: &str| {
        let values: Vec<&str> = response
            .headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        values.join(", ")
    };
    Ok(Answer {
        status: response.status.as_u16(),
        location: response
            .headers
            .get(http::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        headers: names.iter().map(|n| (n.clone(), field(n))).collect(),
    })
}

/// Ask `reference` the questions of `rules` and write `output` (TOML or JSON by its name):
/// the rules and one test per answer that came from rules. The summary line.
pub fn record(
    rules: &[RuleSpec],
    reference: &Url,
    origin: &Url,
    output: &Path,
) -> Result<String, String> {
    let format = Format::from_path(output)
        .filter(|f| *f != Format::Csv)
        .ok_or_else(|| {
            format!(
                "--output {}: a rule file with tests is .toml or .json",
                output.display()
            )
        })?;
    let asked = questions::questions(rules);
    let names = record::header_names(rules);
    let client = Client::builder()
        .follow_redirects(false)
        .cookies(false)
        .default_header(http::header::USER_AGENT, None)
        .hop_timeout(Some(Duration::from_secs(10)))
        .build()
        .map_err(|e| e.to_string())?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    let answers: Vec<Mutex<Option<Result<Answer, String>>>> =
        asked.iter().map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    let shared = Arc::new((client, asked, answers, next, names));
    runtime.block_on(async {
        let mut workers = tokio::task::JoinSet::new();
        for _ in 0..PARALLEL {
            let shared = Arc::clone(&shared);
            let base = reference.clone();
            workers.spawn(async move {
                let (client, asked, answers, next, names) = &*shared;
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(q) = asked.get(i) else { break };
                    let a = ask(client, &base, q, names).await;
                    if let Ok(mut slot) = answers[i].lock() {
                        *slot = Some(a);
                    }
                }
            });
        }
        while workers.join_next().await.is_some() {}
    });
    let (_, asked, answers, _, _) = &*shared;
    let mut got = Vec::with_capacity(answers.len());
    for slot in answers {
        match slot.lock().ok().and_then(|mut s| s.take()) {
            Some(Ok(a)) => got.push(a),
            Some(Err(e)) => return Err(format!("the reference server did not answer: {e}")),
            None => return Err("the reference server did not answer every request".to_owned()),
        }
    }
    let recorded = record::tests(rules, origin, asked, &got)?;
    let text = record::write(rules, &recorded.tests, format);
    std::fs::write(output, text).map_err(|e| format!("{}: {e}", output.display()))?;
    Ok(format!(
        "{}: {} requests asked of {reference}: {} recorded as tests, {} answered from its file system and {} with 500 left out",
        output.display(),
        asked.len(),
        recorded.tests.len(),
        recorded.from_files,
        recorded.errors,
    ))
}

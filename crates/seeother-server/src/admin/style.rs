//! The admin pages' stylesheet, served at a stable path and cached by browsers. It extends the
//! small inline style of the core's page shell (the one the 303 note and the 404 page use), so
//! every page the server sends shares one look.

/// Where the stylesheet is served.
pub const PATH: &str = "/-/admin/style.css";

/// How long browsers may keep it (one day); the path changes never, the rules rarely.
pub const CACHE_CONTROL_VALUE: &str = "public, max-age=86400";

/// The stylesheet.
pub const CSS: &str = r#"body{max-width:64rem;color:#1d232b;background:#fbfbfa;display:flex;flex-direction:column}
body>nav.top{order:-1}
h1{font-size:1.6rem;margin:.2rem 0 1rem}
h2{font-size:1.2rem;margin:2rem 0 .6rem;border-bottom:1px solid #dde1e6;padding-bottom:.2rem}
a{color:#0b57a4}
nav.top{display:flex;gap:1rem;align-items:center;flex-wrap:wrap;padding:.5rem .8rem;margin:0 0 1.2rem;
 background:#1d3557;border-radius:.4rem}
nav.top a{color:#fff;text-decoration:none;font-weight:600}
nav.top a:hover,nav.top a:focus{text-decoration:underline}
nav.top .brand{margin-right:auto;color:#ffd166}
nav.top form{margin:0}
nav.top button{background:transparent;color:#fff;border:1px solid #9fb3c8;padding:.15rem .6rem}
table{border-collapse:collapse;width:100%;margin:.5rem 0}
th,td{text-align:left;padding:.35rem .5rem;border-bottom:1px solid #e3e6ea;vertical-align:top}
th{background:#f0f2f4;font-weight:600}
td code,dd code{overflow-wrap:anywhere}
td.number{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}
table.rules td:first-child,table.rules td:nth-child(5){white-space:nowrap}
td.target{min-width:12rem}
.counts{margin:.6rem 0}
nav.pages{justify-content:center}
dl.fields{display:grid;grid-template-columns:max-content 1fr;gap:.3rem 1.2rem}
dl.fields dt{font-weight:600;color:#4a5562}
dl.fields dd{margin:0}
form.stack{display:grid;gap:.9rem;max-width:40rem}
form.inline{display:flex;gap:.6rem;flex-wrap:wrap;align-items:end}
.field{display:grid;gap:.2rem}
label{font-weight:600}
.hint{color:#5b6673;font-size:.9rem;margin:0}
input[type=text],input[type=password],input[type=url],input[type=search],select,textarea{
 font:inherit;padding:.35rem .5rem;border:1px solid #a8b1bb;border-radius:.3rem;background:#fff}
textarea{font-family:ui-monospace,monospace;font-size:.9rem}
input:focus,select:focus,textarea:focus,button:focus{outline:2px solid #0b57a4;outline-offset:1px}
button,.button{font:inherit;font-weight:600;padding:.4rem .9rem;border-radius:.3rem;border:1px solid #0b57a4;
 background:#0b57a4;color:#fff;cursor:pointer;text-decoration:none;display:inline-block}
.button.secondary,button.secondary{background:#fff;color:#0b57a4}
button.danger{background:#b3261e;border-color:#b3261e}
.actions{display:flex;gap:.6rem;flex-wrap:wrap;align-items:center;margin:1rem 0}
.error{color:#b3261e;font-weight:600;margin:0}
[aria-invalid=true]{border-color:#b3261e;outline:1px solid #b3261e}
.summary{border:2px solid #b3261e;border-radius:.4rem;padding:.6rem 1rem;background:#fdf0ef;margin-bottom:1rem}
.summary h2{border:0;margin:0 0 .3rem;font-size:1.05rem}
.flash{border-left:4px solid #2b8a3e;background:#edf7ef;padding:.5rem .8rem}
.badge{display:inline-block;padding:0 .45rem;border-radius:.8rem;background:#e7ecf2;font-size:.85rem}
.badge.gone{background:#fde2e0;color:#8a1c14}
.muted{color:#5b6673}
pre.answer{background:#f0f2f4;padding:.6rem .8rem;border-radius:.3rem;overflow-x:auto;font-size:.9rem}
.chart{display:grid;grid-template-columns:minmax(0,3fr) minmax(12rem,1fr);gap:.4rem 1rem;align-items:start}
.chart svg{grid-column:1;background:#fff;border:1px solid #e3e6ea;border-radius:.3rem;font-size:11px}
.chart>.hint{grid-column:1}
.chart .figures{grid-column:2;grid-row:1/span 2;max-height:16rem;overflow-y:auto;border:1px solid #e3e6ea}
.chart .figures table{margin:0;font-size:.85rem}
.chart .figures caption{text-align:left;font-size:.8rem;color:#5b6673;padding:.2rem .4rem}
.chart .axis{stroke:#8a949e;stroke-width:1}
.chart text{fill:#4a5562}
.chart rect.hits{fill:#1d6fb8}
.chart rect.gone{fill:#c2372c}
nav.ranges{display:flex;gap:.8rem;margin:.3rem 0}
@media (max-width:48rem){.chart{grid-template-columns:1fr}.chart .figures{grid-column:1;grid-row:auto}}
"#;

/// `GET /-/admin/style.css`: the stylesheet, cacheable (RFC 9111 §5.2.2.1 max-age).
pub async fn stylesheet() -> impl axum::response::IntoResponse {
    use http::header::{CACHE_CONTROL, CONTENT_TYPE};
    (
        [
            (CONTENT_TYPE, "text/css; charset=utf-8"),
            (CACHE_CONTROL, CACHE_CONTROL_VALUE),
        ],
        CSS,
    )
}

/// Where the icon is served (named by every page, so browsers do not ask for `/favicon.ico`,
/// which is a path of the rules).
pub const ICON_PATH: &str = "/-/admin/favicon.svg";

/// The icon: "303" on the navigation bar's blue.
pub const ICON: &str = r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="6" fill="#1d3557"/><text x="16" y="21.5" font-family="sans-serif" font-size="13" font-weight="700" text-anchor="middle" fill="#ffd166">303</text></svg>
"##;

/// `GET /-/admin/favicon.svg`: the icon, cacheable as the stylesheet is.
pub async fn icon() -> impl axum::response::IntoResponse {
    use http::header::{CACHE_CONTROL, CONTENT_TYPE};
    (
        [
            (CONTENT_TYPE, "image/svg+xml"),
            (CACHE_CONTROL, CACHE_CONTROL_VALUE),
        ],
        ICON,
    )
}

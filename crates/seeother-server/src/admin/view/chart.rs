//! Hits over time as a bar chart: server-rendered SVG (no script), one bar per day, the
//! 410 Gone answers drawn over them in another colour, with the figures in a table beside it
//! that the chart is described by (`aria-describedby`), for screen readers and for copying.
//! At 400 days a bar is 2 px wide in a 800 px chart; the axis names the first, middle and
//! last days and the largest count.

use maud::{Markup, html};

use super::rules::grouped;
use crate::store::daily::{Day, DayCount, date};

/// The drawing's size, in SVG units (it scales to the page's width).
const WIDTH: f64 = 800.0;
const HEIGHT: f64 = 200.0;
/// Room for the axis labels.
const LEFT: f64 = 56.0;
const BOTTOM: f64 = 22.0;

/// A chart of `days` (those with counts; the others are drawn as zero) from `from` to `to`,
/// named `title`; `id` makes its elements' ids unique on the page.
pub fn days(id: &str, title: &str, days: &[DayCount], from: Day, to: Day) -> Markup {
    let span = (to - from + 1).max(1);
    let most = days.iter().map(|d| d.hits).max().unwrap_or(0);
    let total: u64 = days.iter().map(|d| d.hits).sum();
    let gone: u64 = days.iter().map(|d| d.gone).sum();
    let plot = WIDTH - LEFT;
    let bar = plot / span as f64;
    let y = |n: u64| {
        if most == 0 {
            0.0
        } else {
            (HEIGHT - BOTTOM) * n as f64 / most as f64
        }
    };
    let (title_id, desc_id, table_id) = (
        format!("{id}-title"),
        format!("{id}-desc"),
        format!("{id}-table"),
    );
    let summary = format!(
        "{} requests from {} to {} ({} days), at most {} on a day{}.",
        grouped(total),
        date(from),
        date(to),
        span,
        grouped(most),
        if gone > 0 {
            format!("; {} answered 410 Gone", grouped(gone))
        } else {
            String::new()
        }
    );
    let mid = from + (span - 1) / 2;
    html! {
        div class="chart" {
            svg viewBox={ "0 0 " (WIDTH) " " (HEIGHT) } role="img" width="100%"
                aria-labelledby={ (title_id) " " (desc_id) } aria-describedby=(table_id) {
                title id=(title_id) { (title) }
                desc id=(desc_id) { (summary) }
                line x1=(LEFT) y1=(HEIGHT - BOTTOM) x2=(WIDTH) y2=(HEIGHT - BOTTOM) class="axis" {}
                line x1=(LEFT) y1="0" x2=(LEFT) y2=(HEIGHT - BOTTOM) class="axis" {}
                text x=(LEFT - 4.0) y="10" text-anchor="end" { (grouped(most)) }
                text x=(LEFT - 4.0) y=(HEIGHT - BOTTOM) text-anchor="end" { "0" }
                @for d in days.iter().filter(|d| d.day >= from && d.day <= to) {
                    @let x = LEFT + (d.day - from) as f64 * bar;
                    @let w = (bar * 0.85).max(1.0);
                    rect class="hits" x=(fmt(x)) y=(fmt(HEIGHT - BOTTOM - y(d.hits)))
                        width=(fmt(w)) height=(fmt(y(d.hits))) {
                        title { (date(d.day)) ": " (grouped(d.hits)) }
                    }
                    @if d.gone > 0 {
                        rect class="gone" x=(fmt(x)) y=(fmt(HEIGHT - BOTTOM - y(d.gone)))
                            width=(fmt(w)) height=(fmt(y(d.gone))) {}
                    }
                }
                text x=(LEFT) y=(HEIGHT - 4.0) text-anchor="start" { (date(from)) }
                @if span > 2 {
                    text x=(fmt(LEFT + (mid - from) as f64 * bar + bar / 2.0)) y=(HEIGHT - 4.0)
                        text-anchor="middle" { (date(mid)) }
                }
                text x=(WIDTH) y=(HEIGHT - 4.0) text-anchor="end" { (date(to)) }
            }
            p class="hint" { (summary) @if gone > 0 { " Red: 410 Gone." } }
            div class="figures" {
                table id=(table_id) {
                    caption { (title) ": requests per day (days without any are not listed)" }
                    thead { tr {
                        th scope="col" { "Day" }
                        th scope="col" class="number" { "Requests" }
                        th scope="col" class="number" { "410 Gone" }
                    } }
                    tbody {
                        @for d in days.iter().rev() {
                            tr {
                                td { (date(d.day)) }
                                td class="number" { (grouped(d.hits)) }
                                td class="number" { (grouped(d.gone)) }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// A coordinate with two decimals at most.
fn fmt(v: f64) -> String {
    let s = format!("{v:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_owned()
}

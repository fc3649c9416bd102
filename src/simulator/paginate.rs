//! Laravel's `->paginate(getPaginate())`: the page size from `paginate`
//! (numeric as given, `"0"` gives the model's 15, anything else 20, absent
//! the site's setting), the page from `page`, and the `LengthAwarePaginator`
//! answer — `links` included — whose page URLs carry only `?page=N`.

use serde_json::{Value, json};

use super::params::{Input, Params};
use super::php::{filter_int, numeric_value};

/// The site's `paginate_number` (the admin's choice; 20 is the default).
pub(crate) const SITE_PAGINATE: f64 = 20.0;
/// `Model::$perPage`, used when `paginate` is `"0"`.
const MODEL_PER_PAGE: f64 = 15.0;
/// `getPaginate()` for a value that is not numeric.
const NOT_NUMERIC: f64 = 20.0;
/// `$onEachSide` of the link window.
const ON_EACH_SIDE: i64 = 3;
/// The app's `pagination.previous` / `pagination.next` lines.
const PREVIOUS: &str = "\u{2039}";
const NEXT: &str = "\u{203a}";

/// Paging a list cannot do: the page size is a zero other than `"0"`
/// (`"0.0"`), and PHP divides by it (an uncaught `DivisionByZeroError`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DivisionByZero;

/// The `$perPage` Laravel receives.
fn per_page(params: &Params) -> f64 {
    match params.get("paginate") {
        None | Some(Input::One(None)) => SITE_PAGINATE,
        Some(Input::One(Some(s))) if s == "0" => MODEL_PER_PAGE,
        Some(Input::One(Some(s))) => numeric_value(s).unwrap_or(NOT_NUMERIC),
        Some(Input::List(_)) => NOT_NUMERIC,
    }
}

/// `Paginator::resolveCurrentPage()`.
fn current_page(params: &Params) -> i64 {
    params
        .text("page")
        .and_then(filter_int)
        .filter(|p| *p >= 1)
        .unwrap_or(1)
}

/// PHP's `(int)` of a float (0 for what is not finite).
fn int(v: f64) -> i64 {
    if v.is_finite() { v.trunc() as i64 } else { 0 }
}

/// The paginator over `items` for the request at `path` (scheme, host and
/// path, no query).
pub(crate) fn paginate(
    items: Vec<Value>,
    params: &Params,
    path: &str,
) -> Result<Value, DivisionByZero> {
    let n = per_page(params);
    if n == 0.0 || !n.is_finite() {
        return Err(DivisionByZero);
    }
    let page = current_page(params);
    let total = items.len() as i64;
    let per = int(n);
    // forPage(): offset(max(0, (int) …)), limit only when not negative.
    let offset = int((page - 1) as f64 * n).max(0);
    let limit = if n >= 0.0 { Some(per) } else { None };
    let start = usize::try_from(offset).unwrap_or(usize::MAX);
    let take = limit.map_or(usize::MAX, |l| usize::try_from(l).unwrap_or(usize::MAX));
    let slice: Vec<Value> = items.into_iter().skip(start).take(take).collect();
    let last_page = int((total as f64 / n).ceil()).max(1);
    let path = if path == "/" {
        path.to_owned()
    } else {
        path.trim_end_matches('/').to_owned()
    };
    let url = |p: i64| format!("{path}?page={}", p.max(1));
    let count = slice.len() as i64;
    let from = (count > 0).then(|| (page - 1).saturating_mul(per).saturating_add(1));
    let to = from.map(|f| f + count - 1);
    let prev = (page > 1).then(|| url(page - 1));
    let next = (page < last_page).then(|| url(page + 1));
    let mut links = vec![json!({"url": prev, "label": PREVIOUS, "active": false})];
    for element in window(page, last_page) {
        match element {
            Element::Dots => links.push(json!({"url": null, "label": "...", "active": false})),
            Element::Pages(a, b) => {
                for p in a..=b {
                    links.push(json!({"url": url(p), "label": p.to_string(), "active": p == page}));
                }
            }
        }
    }
    links.push(json!({"url": next, "label": NEXT, "active": false}));
    Ok(json!({
        "current_page": page,
        "data": slice,
        "first_page_url": url(1),
        "from": from,
        "last_page": last_page,
        "last_page_url": url(last_page),
        "links": links,
        "next_page_url": next,
        "path": path,
        "per_page": per,
        "prev_page_url": prev,
        "to": to,
        "total": total,
    }))
}

enum Element {
    Pages(i64, i64),
    Dots,
}

/// `UrlWindow`: every page when there are few, else the start, a slider
/// around the current page and the end, with `...` between.
fn window(page: i64, last: i64) -> Vec<Element> {
    if last < ON_EACH_SIDE * 2 + 8 {
        return vec![Element::Pages(1, last)];
    }
    let window = ON_EACH_SIDE + 4;
    let finish = Element::Pages(last - 1, last);
    if page <= window {
        vec![
            Element::Pages(1, window + ON_EACH_SIDE),
            Element::Dots,
            finish,
        ]
    } else if page > last - window {
        vec![
            Element::Pages(1, 2),
            Element::Dots,
            Element::Pages(last - (window + (ON_EACH_SIDE - 1)), last),
        ]
    } else {
        vec![
            Element::Pages(1, 2),
            Element::Dots,
            Element::Pages(page - ON_EACH_SIDE, page + ON_EACH_SIDE),
            Element::Dots,
            finish,
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(n: usize, query: &str) -> Value {
        let items: Vec<Value> = (1..=n).map(|i| json!(i)).collect();
        let params = Params::from_pairs(url::form_urlencoded::parse(query.as_bytes()));
        paginate(items, &params, "http://h/external-api/x").unwrap()
    }

    #[test]
    fn pages_like_laravel() {
        let p = page(45, "page=3");
        assert_eq!(p["data"], json!([41, 42, 43, 44, 45]));
        assert_eq!((p["from"].clone(), p["to"].clone()), (json!(41), json!(45)));
        assert_eq!(p["last_page"], 3);
        assert_eq!(p["per_page"], 20);
        assert_eq!(p["next_page_url"], Value::Null);
        assert_eq!(p["prev_page_url"], "http://h/external-api/x?page=2");
        let labels: Vec<&str> = p["links"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["label"].as_str().unwrap())
            .collect();
        assert_eq!(labels, ["\u{2039}", "1", "2", "3", "\u{203a}"]);
        assert_eq!(p["links"][3]["active"], true);

        assert_eq!(page(45, "paginate=0")["per_page"], 15);
        assert_eq!(page(45, "paginate=abc")["per_page"], 20);
        assert_eq!(page(45, "paginate=7&page=x")["current_page"], 1);
        assert_eq!(page(45, "paginate=2.5")["per_page"], 2);
        assert_eq!(page(45, "paginate=2.5")["last_page"], 18);
        let past = page(45, "page=9");
        assert_eq!(
            (past["from"].clone(), past["data"].clone()),
            (Value::Null, json!([]))
        );
        assert_eq!(page(0, "")["last_page"], 1);
        let negative = page(5, "paginate=-2");
        assert_eq!(negative["data"].as_array().unwrap().len(), 5);
        let params = Params::from_pairs([("paginate", "0.0")]);
        assert_eq!(paginate(vec![], &params, "/"), Err(DivisionByZero));
    }

    #[test]
    fn long_lists_get_dots() {
        let labels = |p: &Value| -> Vec<String> {
            p["links"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| l["label"].as_str().unwrap().to_owned())
                .collect()
        };
        let p = page(400, "page=10");
        assert_eq!(
            labels(&p)[1..labels(&p).len() - 1],
            [
                "1", "2", "...", "7", "8", "9", "10", "11", "12", "13", "...", "19", "20"
            ]
        );
        let first = page(400, "page=1");
        assert_eq!(labels(&first)[10], "10");
        assert_eq!(labels(&first)[11], "...");
    }
}

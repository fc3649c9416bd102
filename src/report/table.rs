//! The one table style of every command (`report`, `campaign list`, the
//! `load` summary and its dry run, `templates list`, `suppress list`, the
//! API commands), and how a time is shown in one.
//!
//! The style is plain ASCII (`+`, `-`, `|`), condensed: it reads the same in
//! a terminal, in cron mail (often sent as US-ASCII when the job has no
//! locale, which garbles box-drawing characters) and pasted into a ticket
//! or a spreadsheet.
//!
//! Times are shown in the local timezone, which follows `TZ`
//! (`TZ=Asia/Dhaka wutt-campaign report`), each with its UTC offset, or
//! `UTC`: `2026-12-01 09:00 +06:00`.

use chrono::{DateTime, Local, Offset as _, Utc};
use comfy_table::{CellAlignment, ContentArrangement, Table, presets::ASCII_FULL_CONDENSED};

/// A new table in the style of every command.
pub fn new() -> Table {
    let mut table = Table::new();
    table.load_style(ASCII_FULL_CONDENSED);
    table.set_content_arrangement(ContentArrangement::Dynamic);
    table
}

/// Aligns the given columns (counts) to the right.
pub fn align_right(table: &mut Table, columns: impl IntoIterator<Item = usize>) {
    for i in columns {
        if let Some(column) = table.column_mut(i) {
            column.set_cell_alignment(CellAlignment::Right);
        }
    }
}

/// A time for people: the local timezone (`TZ`), to the minute, with its
/// offset (`2026-12-01 09:00 +06:00`, or `… UTC`).
pub fn time(t: DateTime<Utc>) -> String {
    in_zone(t.with_timezone(&Local))
}

/// [`time`] of an optional time (empty when `None`).
pub fn maybe_time(t: Option<DateTime<Utc>>) -> String {
    t.map(time).unwrap_or_default()
}

fn in_zone<Tz: chrono::TimeZone>(t: DateTime<Tz>) -> String
where
    Tz::Offset: std::fmt::Display,
{
    let offset = t.offset().fix().local_minus_utc();
    if offset == 0 {
        format!("{} UTC", t.format("%Y-%m-%d %H:%M"))
    } else {
        format!("{}", t.format("%Y-%m-%d %H:%M %:z"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{FixedOffset, TimeZone};

    #[test]
    fn a_time_says_its_zone() {
        let t = Utc.with_ymd_and_hms(2026, 12, 1, 3, 0, 0).unwrap();
        assert_eq!(in_zone(t), "2026-12-01 03:00 UTC");
        let dhaka = FixedOffset::east_opt(6 * 3600).unwrap();
        assert_eq!(in_zone(t.with_timezone(&dhaka)), "2026-12-01 09:00 +06:00");
    }

    #[test]
    fn tables_are_plain_ascii() {
        let mut t = new();
        t.set_header(["state", "recipients"]);
        t.add_row(["queued", "3"]);
        let text = t.to_string();
        assert!(text.is_ascii(), "{text}");
        assert!(
            text.starts_with("+-") && text.contains("| queued"),
            "{text}"
        );
    }
}

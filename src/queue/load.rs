//! Loading a whole campaign in one transaction: the campaign row, its media, and
//! its recipients through COPY.
//!
//! A [`LoadTx`] holds a transaction-scoped advisory lock on the drop's content
//! hash, so two runners scanning one inbox never load the same drop twice; the
//! `UNIQUE (source_sha256)` constraint backs it up. Recipients are streamed in
//! as binary COPY chunks built with [`RowEncoder`].

use std::io::Write as _;

use chrono::{DateTime, Utc};
use futures::TryStreamExt as _;
use sha2::{Digest as _, Sha256};
use sqlx::{Acquire as _, PgPool, Postgres, Transaction};
use tokio::sync::mpsc;

use crate::campaign::phone::PhoneNumber;
use crate::campaign::settings::CampaignSettings;

/// A campaign that already holds some content.
#[derive(Debug, Clone, PartialEq)]
pub struct ExistingCampaign {
    pub id: i64,
    pub name: String,
    pub source_file: String,
    pub created_at: DateTime<Utc>,
    /// Seconds since it was created, by the database clock.
    pub age_seconds: f64,
}

/// The campaign row to insert: the drop's identity and the settings its
/// validated manifest gives.
#[derive(Debug, Clone, Default)]
pub struct NewCampaign {
    /// Wanted name; " (2)", " (3)", … is appended when another campaign has it.
    pub name: String,
    pub source_sha256: Vec<u8>,
    pub source_file: String,
    pub settings: CampaignSettings,
    pub template_verified: Option<bool>,
    /// The manifest as written, as JSON.
    pub manifest: serde_json::Value,
}

/// A media file captured with the campaign.
#[derive(Debug, Clone)]
pub struct NewMedia {
    pub kind: &'static str,
    pub file_name: String,
    pub mime_type: String,
    pub content: Vec<u8>,
}

/// The campaign's drop by content hash, if it was loaded before.
pub async fn find_by_source(
    pool: &PgPool,
    sha256: &[u8],
) -> Result<Option<ExistingCampaign>, sqlx::Error> {
    let mut conn = pool.acquire().await?;
    existing(&mut conn, sha256).await
}

async fn existing(
    conn: &mut sqlx::PgConnection,
    sha256: &[u8],
) -> Result<Option<ExistingCampaign>, sqlx::Error> {
    let row: Option<(i64, String, String, DateTime<Utc>, f64)> = sqlx::query_as(
        "SELECT id, name, source_file, created_at,
                EXTRACT(EPOCH FROM now() - created_at)::float8
         FROM campaigns WHERE source_sha256 = $1",
    )
    .bind(sha256)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(
        |(id, name, source_file, created_at, age_seconds)| ExistingCampaign {
            id,
            name,
            source_file,
            created_at,
            age_seconds,
        },
    ))
}

/// Calls `f(mobile_code, mobile)` for every number on the opt-out list.
pub async fn for_each_suppression(
    conn: &mut sqlx::PgConnection,
    mut f: impl FnMut(&str, &str),
) -> Result<(), sqlx::Error> {
    let mut rows =
        sqlx::query_as::<_, (String, String)>("SELECT mobile_code, mobile FROM suppressions")
            .fetch(&mut *conn);
    while let Some((code, mobile)) = rows.try_next().await? {
        f(&code, &mobile);
    }
    Ok(())
}

/// Same as [`for_each_suppression`] on a pool (dry runs).
pub async fn for_each_suppression_in(
    pool: &PgPool,
    f: impl FnMut(&str, &str),
) -> Result<(), sqlx::Error> {
    let mut conn = pool.acquire().await?;
    for_each_suppression(&mut conn, f).await
}

/// One campaign load: a transaction holding the advisory lock of its content.
pub struct LoadTx {
    tx: Transaction<'static, Postgres>,
}

impl LoadTx {
    /// Begins the transaction and waits for the lock on this content hash.
    pub async fn begin(pool: &PgPool, sha256: &[u8]) -> Result<LoadTx, sqlx::Error> {
        let mut tx = pool.begin().await?;
        let mut key = [0u8; 8];
        key.copy_from_slice(&sha256[..8.min(sha256.len())]);
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(i64::from_be_bytes(key))
            .execute(&mut *tx)
            .await?;
        Ok(LoadTx { tx })
    }

    /// The campaign already loaded from this content (seen after the lock, so a
    /// concurrent load that committed first is visible).
    pub async fn existing(
        &mut self,
        sha256: &[u8],
    ) -> Result<Option<ExistingCampaign>, sqlx::Error> {
        existing(&mut self.tx, sha256).await
    }

    /// The opt-out list as of now, inside this transaction.
    pub async fn for_each_suppression(
        &mut self,
        f: impl FnMut(&str, &str),
    ) -> Result<(), sqlx::Error> {
        for_each_suppression(&mut self.tx, f).await
    }

    /// Inserts the campaign; returns its id and the name it got.
    pub async fn insert_campaign(&mut self, c: &NewCampaign) -> Result<(i64, String), sqlx::Error> {
        for n in 1..=10_000u32 {
            let name = if n == 1 {
                c.name.clone()
            } else {
                format!("{} ({n})", c.name)
            };
            let mut sp = self.tx.begin().await?;
            let (ws, we, wtz) = match &c.settings.send_window {
                Some((s, e, tz)) => (Some(*s), Some(*e), Some(tz.clone())),
                None => (None, None, None),
            };
            let inserted: Result<i64, sqlx::Error> = sqlx::query_scalar(
                "INSERT INTO campaigns (name, source_sha256, source_file, template_id,
                    message_template, from_number, latitude, longitude, cta_url_id,
                    interactive_list_id, start_at, expires_at, send_window_start,
                    send_window_end, send_window_tz, rate_per_second, max_attempts,
                    template_verified, manifest, body_variables, header_variables,
                    create_contacts)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, COALESCE($11, now()), $12,
                    $13, $14, $15, $16, COALESCE($17, 5), $18, $19, $20, $21, $22)
                 RETURNING id",
            )
            .bind(&name)
            .bind(&c.source_sha256)
            .bind(&c.source_file)
            .bind(c.settings.template_id)
            .bind(&c.settings.message_template)
            .bind(&c.settings.from_number)
            .bind(c.settings.latitude)
            .bind(c.settings.longitude)
            .bind(c.settings.cta_url_id)
            .bind(c.settings.interactive_list_id)
            .bind(c.settings.start_at)
            .bind(c.settings.expires_at)
            .bind(ws)
            .bind(we)
            .bind(wtz)
            .bind(c.settings.rate_per_second)
            .bind(c.settings.max_attempts)
            .bind(c.template_verified)
            .bind(&c.manifest)
            .bind(&c.settings.body_variables)
            .bind(&c.settings.header_variables)
            .bind(c.settings.create_contacts)
            .fetch_one(&mut *sp)
            .await;
            match inserted {
                Ok(id) => {
                    sp.commit().await?;
                    return Ok((id, name));
                }
                Err(sqlx::Error::Database(db)) if db.constraint() == Some("campaigns_name_key") => {
                    sp.rollback().await?;
                }
                Err(e) => return Err(e),
            }
        }
        Err(sqlx::Error::Protocol(format!(
            "no free campaign name for {:?}",
            c.name
        )))
    }

    /// The campaign's start time as the database stored it.
    pub async fn start_at(&mut self, campaign_id: i64) -> Result<DateTime<Utc>, sqlx::Error> {
        sqlx::query_scalar("SELECT start_at FROM campaigns WHERE id = $1")
            .bind(campaign_id)
            .fetch_one(&mut *self.tx)
            .await
    }

    /// Stores a media file (content-addressed) and attaches it to the campaign.
    pub async fn insert_media(
        &mut self,
        campaign_id: i64,
        m: &NewMedia,
    ) -> Result<(), sqlx::Error> {
        let sha = Sha256::digest(&m.content).to_vec();
        sqlx::query(
            "INSERT INTO media_blobs (sha256, size_bytes, content) VALUES ($1, $2, $3)
             ON CONFLICT (sha256) DO NOTHING",
        )
        .bind(&sha)
        .bind(m.content.len() as i64)
        .bind(&m.content)
        .execute(&mut *self.tx)
        .await?;
        sqlx::query(
            "INSERT INTO campaign_media (campaign_id, kind, file_name, mime_type, sha256)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(campaign_id)
        .bind(m.kind)
        .bind(&m.file_name)
        .bind(&m.mime_type)
        .bind(&sha)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// COPYs recipient rows (chunks of tuples built by [`RowEncoder`]) until
    /// the sender closes the channel; returns the number of rows written.
    pub async fn copy_recipients(
        &mut self,
        chunks: &mut mpsc::Receiver<Vec<u8>>,
    ) -> Result<u64, sqlx::Error> {
        let mut copy = self
            .tx
            .copy_in_raw(&format!(
                "COPY recipients ({COPY_COLUMNS}) FROM STDIN WITH (FORMAT binary)"
            ))
            .await?;
        let mut first = true;
        while let Some(mut chunk) = chunks.recv().await {
            if std::mem::take(&mut first) {
                chunk.splice(0..0, BINARY_HEADER.iter().copied());
            }
            if let Err(e) = copy.send(chunk).await {
                let _ = copy.abort("load failed").await;
                return Err(e);
            }
        }
        let end = if first {
            [BINARY_HEADER, BINARY_TRAILER].concat()
        } else {
            BINARY_TRAILER.to_vec()
        };
        if let Err(e) = copy.send(end).await {
            let _ = copy.abort("load failed").await;
            return Err(e);
        }
        copy.finish().await
    }

    pub async fn commit(self) -> Result<(), sqlx::Error> {
        self.tx.commit().await
    }

    pub async fn rollback(self) -> Result<(), sqlx::Error> {
        self.tx.rollback().await
    }
}

/// One recipient row for COPY.
#[derive(Debug, Clone, Copy)]
pub struct RecipientRow<'a> {
    pub row_number: u32,
    pub line_number: u64,
    pub raw_phone: &'a str,
    pub phone: Option<&'a PhoneNumber>,
    pub state: &'static str,
    pub template_id: Option<i64>,
    pub message: Option<&'a str>,
    pub from_number: Option<&'a str>,
    pub duplicate_of: Option<u32>,
    pub error: Option<&'a str>,
    /// Rendered template variables (`None`: NULL, the row sends none).
    pub body_variables: Option<&'a [String]>,
    pub header_variables: Option<&'a [String]>,
    /// The contact's names (`None` unless the campaign creates contacts).
    pub firstname: Option<&'a str>,
    pub lastname: Option<&'a str>,
}

/// Columns of [`RowEncoder`]'s rows, in order.
const COPY_COLUMNS: &str = "campaign_id, row_number, line_number, raw_phone, mobile_code, \
    mobile, state, next_attempt_at, template_id, message, from_number, duplicate_of, \
    error, body_variables, header_variables, firstname, lastname";

/// How many columns [`COPY_COLUMNS`] names.
const COPY_FIELDS: i16 = 17;

/// PostgreSQL's type OID of `text` (the element type of `text[]`).
const TEXT_OID: u32 = 25;

/// Start of a binary COPY stream: signature, flags, no header extension.
const BINARY_HEADER: &[u8] = b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0";
/// End of a binary COPY stream: a tuple of -1 fields.
const BINARY_TRAILER: &[u8] = &[0xff, 0xff];
/// Microseconds from the Unix epoch to PostgreSQL's (2000-01-01 UTC).
const PG_EPOCH_MICROS: i64 = 946_684_800_000_000;

/// Writes rows of one campaign in COPY's binary format: the server stores
/// them without parsing numbers and timestamps from text, which took about a
/// sixth of its time in a large load.
#[derive(Debug, Clone)]
pub struct RowEncoder {
    campaign_id: i64,
    next_attempt_at: i64,
}

impl RowEncoder {
    pub fn new(campaign_id: i64, next_attempt_at: DateTime<Utc>) -> RowEncoder {
        RowEncoder {
            campaign_id,
            next_attempt_at: next_attempt_at.timestamp_micros() - PG_EPOCH_MICROS,
        }
    }

    /// Appends one tuple to `buf` (the stream's header and trailer are
    /// written by [`LoadTx::copy_recipients`]).
    pub fn encode(&self, buf: &mut Vec<u8>, r: &RecipientRow<'_>) {
        let line = i32::try_from(r.line_number).unwrap_or(i32::MAX);
        let row = i32::try_from(r.row_number).unwrap_or(i32::MAX);
        buf.extend_from_slice(&COPY_FIELDS.to_be_bytes());
        fixed(buf, &self.campaign_id.to_be_bytes());
        fixed(buf, &row.to_be_bytes());
        fixed(buf, &line.to_be_bytes());
        text(buf, Some(r.raw_phone));
        match r.phone {
            Some(p) => {
                let at = open(buf);
                let _ = write!(buf, "{}", p.country_code());
                close(buf, at);
                text(buf, Some(p.mobile()));
            }
            None => {
                null(buf);
                null(buf);
            }
        }
        text(buf, Some(r.state));
        fixed(buf, &self.next_attempt_at.to_be_bytes());
        match r.template_id {
            Some(t) => fixed(buf, &t.to_be_bytes()),
            None => null(buf),
        }
        text(buf, r.message);
        text(buf, r.from_number);
        match r.duplicate_of.and_then(|d| i32::try_from(d).ok()) {
            Some(d) => fixed(buf, &d.to_be_bytes()),
            None => null(buf),
        }
        text(buf, r.error);
        text_array(buf, r.body_variables);
        text_array(buf, r.header_variables);
        text(buf, r.firstname);
        text(buf, r.lastname);
    }
}

fn null(buf: &mut Vec<u8>) {
    buf.extend_from_slice(&(-1i32).to_be_bytes());
}

fn fixed(buf: &mut Vec<u8>, bytes: &[u8]) {
    buf.extend_from_slice(&(bytes.len() as i32).to_be_bytes());
    buf.extend_from_slice(bytes);
}

/// Reserves a field's length; [`close`] fills it in.
fn open(buf: &mut Vec<u8>) -> usize {
    buf.extend_from_slice(&[0; 4]);
    buf.len()
}

fn close(buf: &mut [u8], at: usize) {
    let len = i32::try_from(buf.len() - at).unwrap_or(i32::MAX);
    buf[at - 4..at].copy_from_slice(&len.to_be_bytes());
}

/// One text field (`None` is NULL).
fn text(buf: &mut Vec<u8>, value: Option<&str>) {
    match value {
        None => null(buf),
        Some(v) => {
            let at = open(buf);
            push_text(buf, v);
            close(buf, at);
        }
    }
}

/// One `text[]` field in binary array form (`None` is NULL): dimensions,
/// no-nulls flag, element type, then (for a non-empty array) its length and
/// lower bound 1, then each element as a text field.
fn text_array(buf: &mut Vec<u8>, values: Option<&[String]>) {
    let Some(values) = values else {
        return null(buf);
    };
    let at = open(buf);
    let dims: i32 = if values.is_empty() { 0 } else { 1 };
    buf.extend_from_slice(&dims.to_be_bytes());
    buf.extend_from_slice(&0i32.to_be_bytes());
    buf.extend_from_slice(&TEXT_OID.to_be_bytes());
    if !values.is_empty() {
        let len = i32::try_from(values.len()).unwrap_or(i32::MAX);
        buf.extend_from_slice(&len.to_be_bytes());
        buf.extend_from_slice(&1i32.to_be_bytes());
        for v in values {
            text(buf, Some(v));
        }
    }
    close(buf, at);
}

/// Text bytes; NUL, which PostgreSQL text cannot hold, becomes U+FFFD.
fn push_text(buf: &mut Vec<u8>, v: &str) {
    let mut rest = v.as_bytes();
    while let Some(i) = rest.iter().position(|&b| b == 0) {
        buf.extend_from_slice(&rest[..i]);
        buf.extend_from_slice("\u{FFFD}".as_bytes());
        rest = &rest[i + 1..];
    }
    buf.extend_from_slice(rest);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Splits one binary tuple into its fields (`None` for NULL).
    fn fields(mut t: &[u8]) -> Vec<Option<Vec<u8>>> {
        let n = i16::from_be_bytes([t[0], t[1]]);
        t = &t[2..];
        let mut out = Vec::new();
        for _ in 0..n {
            let len = i32::from_be_bytes(t[..4].try_into().unwrap());
            t = &t[4..];
            if len < 0 {
                out.push(None);
            } else {
                out.push(Some(t[..len as usize].to_vec()));
                t = &t[len as usize..];
            }
        }
        assert!(t.is_empty(), "bytes after the tuple");
        out
    }

    #[test]
    fn binary_tuple_holds_every_column() {
        let enc = RowEncoder::new(7, DateTime::from_timestamp(946_684_801, 0).unwrap());
        let phone = PhoneNumber::from_canonical(880, "1988123456");
        let mut buf = Vec::new();
        enc.encode(
            &mut buf,
            &RecipientRow {
                row_number: 3,
                line_number: 4,
                raw_phone: "a\tb\\c\nd\re\0",
                phone: Some(&phone),
                state: "queued",
                template_id: None,
                message: Some("hi"),
                from_number: None,
                duplicate_of: Some(1),
                error: None,
                body_variables: None,
                header_variables: None,
                firstname: None,
                lastname: None,
            },
        );
        let s = |v: &str| Some(v.as_bytes().to_vec());
        assert_eq!(
            fields(&buf),
            [
                Some(7i64.to_be_bytes().to_vec()),
                Some(3i32.to_be_bytes().to_vec()),
                Some(4i32.to_be_bytes().to_vec()),
                s("a\tb\\c\nd\re\u{FFFD}"),
                s("880"),
                s("1988123456"),
                s("queued"),
                Some(1_000_000i64.to_be_bytes().to_vec()),
                None,
                s("hi"),
                None,
                Some(1i32.to_be_bytes().to_vec()),
                None,
                None,
                None,
                None,
                None,
            ]
        );
        assert_eq!(BINARY_HEADER.len(), 19);
    }

    #[test]
    fn invalid_rows_have_no_canonical_number() {
        let enc = RowEncoder::new(1, DateTime::from_timestamp(0, 0).unwrap());
        let mut buf = Vec::new();
        enc.encode(
            &mut buf,
            &RecipientRow {
                row_number: 1,
                line_number: 2,
                raw_phone: "",
                phone: None,
                state: "invalid",
                template_id: Some(42),
                message: None,
                from_number: Some("+1"),
                duplicate_of: None,
                error: Some("no phone number"),
                body_variables: None,
                header_variables: None,
                firstname: None,
                lastname: None,
            },
        );
        let f = fields(&buf);
        assert_eq!(f.len(), 17);
        assert_eq!((&f[4], &f[5]), (&None, &None));
        assert_eq!(f[7], Some((-PG_EPOCH_MICROS).to_be_bytes().to_vec()));
        assert_eq!(f[8], Some(42i64.to_be_bytes().to_vec()));
        assert_eq!(f[12].as_deref(), Some("no phone number".as_bytes()));
    }

    #[test]
    fn variables_and_names_are_binary_text_arrays_and_texts() {
        let enc = RowEncoder::new(1, DateTime::from_timestamp(0, 0).unwrap());
        let body = vec!["Ann".to_string(), "A\0-7".to_string()];
        let mut buf = Vec::new();
        enc.encode(
            &mut buf,
            &RecipientRow {
                row_number: 1,
                line_number: 2,
                raw_phone: "+8801711000001",
                phone: None,
                state: "queued",
                template_id: Some(7),
                message: None,
                from_number: None,
                duplicate_of: None,
                error: None,
                body_variables: Some(&body),
                header_variables: Some(&[][..]),
                firstname: Some("Ann"),
                lastname: Some("Lee"),
            },
        );
        let f = fields(&buf);
        assert_eq!(f.len(), 17);
        let mut array = Vec::new();
        for n in [1i32, 0, 25, 2, 1] {
            array.extend_from_slice(&n.to_be_bytes());
        }
        array.extend_from_slice(&3i32.to_be_bytes());
        array.extend_from_slice(b"Ann");
        let second = "A\u{FFFD}-7".as_bytes();
        array.extend_from_slice(&(second.len() as i32).to_be_bytes());
        array.extend_from_slice(second);
        assert_eq!(f[13].as_deref(), Some(&array[..]));
        let mut empty = Vec::new();
        for n in [0i32, 0, 25] {
            empty.extend_from_slice(&n.to_be_bytes());
        }
        assert_eq!(f[14].as_deref(), Some(&empty[..]));
        assert_eq!(f[15].as_deref(), Some("Ann".as_bytes()));
        assert_eq!(f[16].as_deref(), Some("Lee".as_bytes()));
    }
}

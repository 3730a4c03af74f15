//! Guest import (Excel 数据迁移): CSV (UTF-8, UTF-8 with BOM, UTF-16,
//! GBK/GB18030) or XLSX, read as a stream so memory stays flat whatever
//! the file's size, written in batches.
//!
//! A row is imported whole or not at all: rows that fail validation are
//! reported (row, column, problem — never the value) and nothing of them
//! is written. Each row has a source key (its external id column, else a
//! hash of its content), so a re-run of the same file creates nothing
//! twice. The CLI (`hotel-crm import guests FILE`) and the API
//! (`POST /imports`) run the same code.

use crate::crypto::{sha256_hex, DataCipher};
use crate::error::ApiError;
use crate::state::write_transaction;
use chrono::{DateTime, Utc};
use crm_domain::identity::DocumentNumber;
use crm_domain::import::{self, ColumnMapping, ImportField};
use crm_domain::values::CountryCode;
use crm_domain::FieldError;
use crm_storage::bulk::{self, Batch};
use crm_storage::guests::{self, Guest};
use crm_storage::imports::{self as store, ImportJob, Problem};
use crm_storage::{organizations, Database};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Rows per transaction. Larger batches write each index page touched by
/// a batch once rather than once per smaller batch (SQLite copies every
/// dirty page into its WAL at each commit: 1,000-row batches ran at 4,500
/// rows/s, 5,000-row batches at BATCH5K); memory stays bounded by this.
const BATCH_ROWS: usize = 5_000;
/// At most this many problems are kept per job (the counters stay exact).
const MAX_PROBLEMS: i32 = 100_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    Csv,
    Xlsx,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Xlsx => "xlsx",
        }
    }

    /// XLSX files are ZIP archives; anything else is read as CSV.
    pub fn sniff(path: &Path) -> std::io::Result<Format> {
        let mut head = [0u8; 4];
        let n = File::open(path)?.read(&mut head)?;
        Ok(if n == 4 && head == *b"PK\x03\x04" {
            Format::Xlsx
        } else {
            Format::Csv
        })
    }
}

/// One `header → field` pair of a mapping, as presets and jobs store them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MappingEntry {
    /// The column header as it appears in the file.
    pub header: String,
    pub field: ImportField,
}

pub fn overrides_of(entries: &[MappingEntry]) -> Vec<(String, ImportField)> {
    entries
        .iter()
        .map(|e| (e.header.trim().to_string(), e.field))
        .collect()
}

/// Counts the bytes read from the file (progress).
struct Counting<R> {
    inner: R,
    read: Arc<AtomicU64>,
}

impl<R: std::io::Seek> std::io::Seek for Counting<R> {
    fn seek(&mut self, pos: std::io::SeekFrom) -> std::io::Result<u64> {
        self.inner.seek(pos)
    }
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// The encoding of a CSV file, from its first bytes: a BOM says it; text
/// that is valid UTF-8 is UTF-8; anything else is read as GB18030 (a
/// superset of GBK and GB2312, which Chinese Excel writes).
fn sniff_encoding(head: &[u8]) -> &'static encoding_rs::Encoding {
    if head.starts_with(&[0xEF, 0xBB, 0xBF]) {
        return encoding_rs::UTF_8;
    }
    if head.starts_with(&[0xFF, 0xFE]) {
        return encoding_rs::UTF_16LE;
    }
    if head.starts_with(&[0xFE, 0xFF]) {
        return encoding_rs::UTF_16BE;
    }
    match std::str::from_utf8(head) {
        Ok(_) => encoding_rs::UTF_8,
        // Cut in the middle of a character at the end of the sample.
        Err(e) if e.error_len().is_none() => encoding_rs::UTF_8,
        Err(_) => encoding_rs::GB18030,
    }
}

/// The delimiter of the header line: comma, semicolon or tab, whichever
/// it has most of.
fn sniff_delimiter(text: &str) -> u8 {
    let line = text.lines().next().unwrap_or_default();
    [b',', b';', b'\t']
        .into_iter()
        .max_by_key(|d| line.bytes().filter(|b| b == d).count())
        .unwrap_or(b',')
}

/// What a reader hands the import: the header, then each row with its
/// row number in the file (the header being row 1 of a CSV).
enum RowEvent<'a> {
    Header(&'a [String]),
    Row(u64, &'a [String]),
}

/// Reads `path` row by row. Returns the encoding used (CSV).
fn read_rows(
    path: &Path,
    format: Format,
    read: Arc<AtomicU64>,
    mut f: impl FnMut(RowEvent<'_>) -> Result<(), ApiError>,
) -> Result<Option<&'static str>, ApiError> {
    let unreadable = |why: String| ApiError::field("file", "unreadable_file", why);
    match format {
        Format::Csv => {
            let mut head = vec![0u8; 64 * 1024];
            let n = File::open(path)
                .and_then(|mut file| file.read(&mut head))
                .map_err(|e| unreadable(format!("cannot read the file: {e}")))?;
            head.truncate(n);
            let encoding = sniff_encoding(&head);
            let (sample, _, _) = encoding.decode(&head);
            let delimiter = sniff_delimiter(&sample);
            let file = File::open(path).map_err(|e| unreadable(format!("cannot open: {e}")))?;
            let decoded = encoding_rs_io::DecodeReaderBytesBuilder::new()
                .encoding(Some(encoding))
                .bom_sniffing(true)
                .utf8_passthru(true)
                .strip_bom(true)
                .build(Counting {
                    inner: BufReader::with_capacity(256 * 1024, file),
                    read,
                });
            let mut reader = csv::ReaderBuilder::new()
                .has_headers(false)
                .flexible(true)
                .delimiter(delimiter)
                .buffer_capacity(256 * 1024)
                .from_reader(decoded);
            let mut record = csv::StringRecord::new();
            let mut cells: Vec<String> = Vec::new();
            let mut row: u64 = 0;
            loop {
                match reader.read_record(&mut record) {
                    Ok(false) => break,
                    Ok(true) => {}
                    Err(e) => {
                        return Err(unreadable(format!(
                            "row {}: not readable as CSV ({})",
                            row + 1,
                            match e.kind() {
                                csv::ErrorKind::Utf8 { .. } => "invalid text encoding",
                                _ => "malformed quoting or line",
                            }
                        )))
                    }
                }
                row += 1;
                cells.clear();
                cells.extend(record.iter().map(str::to_string));
                if row == 1 {
                    f(RowEvent::Header(&cells))?;
                } else {
                    f(RowEvent::Row(row, &cells))?;
                }
            }
            Ok(Some(encoding.name()))
        }
        Format::Xlsx => {
            let file = File::open(path).map_err(|e| unreadable(format!("cannot open: {e}")))?;
            let source = BufReader::new(Counting { inner: file, read });
            let mut header_seen = false;
            let rows = crate::xlsx::read_first_sheet(source, |row, cells| {
                if header_seen {
                    f(RowEvent::Row(u64::from(row) + 1, cells))
                } else if cells.iter().all(|c| c.trim().is_empty()) {
                    Ok(())
                } else {
                    header_seen = true;
                    f(RowEvent::Header(cells))
                }
            })
            .map_err(|e| unreadable(e.to_string()))?;
            rows?;
            Ok(None)
        }
    }
}

/// The column a problem of a draft field came from.
fn column_of(path: &str, mapping: &ColumnMapping, headers: &[String]) -> String {
    let head = path.split(['.', '[']).next().unwrap_or(path);
    let index = path
        .split_once('[')
        .and_then(|(_, rest)| rest.split(']').next())
        .and_then(|i| i.parse::<usize>().ok())
        .unwrap_or(0);
    let candidates: &[ImportField] = match head {
        "family_name" => &[ImportField::FamilyName, ImportField::FullName],
        "given_name" => &[ImportField::GivenName, ImportField::FullName],
        "family_name_latin" => &[ImportField::FamilyNameLatin, ImportField::FullNameLatin],
        "given_name_latin" => &[ImportField::GivenNameLatin, ImportField::FullNameLatin],
        "gender" => &[ImportField::Gender],
        "birthday" => &[ImportField::Birthday],
        "nationality" => &[ImportField::Nationality],
        "language" => &[ImportField::Language],
        "phones" if index == 0 => &[ImportField::Phone, ImportField::Phone2],
        "phones" => &[ImportField::Phone2, ImportField::Phone],
        "emails" => &[ImportField::Email],
        "company" => &[ImportField::Company],
        "address" => &[
            ImportField::AddressLine,
            ImportField::City,
            ImportField::Region,
            ImportField::PostalCode,
            ImportField::Country,
        ],
        "notes" => &[ImportField::Notes],
        "tags" => &[ImportField::Tags],
        "resident" => &[ImportField::Resident],
        _ => &[],
    };
    candidates
        .iter()
        .find_map(|want| {
            mapping
                .columns
                .iter()
                .position(|f| f == want)
                .and_then(|i| headers.get(i))
        })
        .cloned()
        .unwrap_or_else(|| head.to_string())
}

/// A row made ready to write.
struct Prepared {
    row: u64,
    key: String,
    guest: Guest,
    document: Option<bulk::DocumentRow>,
    consents: Vec<(&'static str, bool)>,
}

/// What the import is told.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub overrides: Vec<(String, ImportField)>,
}

/// The job's run: reads the file, validates and writes rows, records
/// problems and progress on `job` (saved every batch) and calls `progress`
/// after each batch. The job ends `completed` (whatever the rows' fate) or
/// `failed` (a file that cannot be read, a mapping that does not work).
///
/// Two threads: one reads and validates the file a batch ahead while this
/// one writes the batch before (a bounded channel of two batches between
/// them, so memory stays flat); the database and the parsing each have a
/// core.
pub fn run(
    db: &Database,
    cipher: &DataCipher,
    job: &mut ImportJob,
    path: &Path,
    options: &Options,
    now: impl Fn() -> DateTime<Utc>,
    progress: &mut dyn FnMut(&ImportJob),
) -> Result<(), ApiError> {
    let started = now();
    job.status = "running".into();
    job.started_at = Some(started);
    job.heartbeat_at = Some(started);
    write_transaction(db, |conn| Ok(store::save_job(conn, job)?))?;
    let region = db
        .read(|conn| organizations::find(conn, &job.org_id))
        .ok()
        .and_then(|o| CountryCode::parse(&o.default_country).ok());
    let format = match job.format.as_str() {
        "xlsx" => Format::Xlsx,
        _ => Format::Csv,
    };
    let mut validator = Validator {
        cipher,
        region,
        org_id: job.org_id.clone(),
        job_id: job.id.clone(),
        created_by: job.created_by.clone(),
        mapping: None,
        headers: Vec::new(),
        chunk: Chunk::default(),
        keys: HashSet::new(),
        failed: 0,
        today: started.date_naive(),
    };
    let mut writer = Writer {
        db,
        seen: HashSet::new(),
    };
    let (read, written) = std::thread::scope(|scope| {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Message>(2);
        let reader = scope.spawn(move || {
            let bytes = Arc::new(AtomicU64::new(0));
            let outcome = read_rows(path, format, bytes.clone(), |event| {
                let message = validator.take(event, options)?;
                let full = validator.chunk.rows.len() >= BATCH_ROWS;
                for m in message
                    .into_iter()
                    .chain(full.then(|| validator.cut(&bytes)))
                {
                    tx.send(m)
                        .map_err(|_| ApiError::internal("the import's writer stopped"))?;
                }
                Ok(())
            });
            // What was read before the end (or an unreadable row) is written.
            let _ = tx.send(validator.cut(&bytes));
            outcome.map(|encoding| (encoding, validator.mapping.is_some()))
        });
        let mut written = Ok(());
        for message in rx {
            match message {
                Message::Mapping(json) => job.mapping = Some(json),
                Message::Chunk(chunk) => {
                    job.processed_bytes = chunk.processed_bytes;
                    if let Err(e) = writer.flush(job, chunk, now()) {
                        written = Err(e);
                        break;
                    }
                    progress(job);
                }
            }
        }
        // Dropping the receiver stops a reader still going.
        let read = reader
            .join()
            .unwrap_or_else(|_| Err(ApiError::internal("the import's reader panicked")));
        (read, written)
    });
    written?;
    match read {
        Ok((_, false)) => fail(db, job, "the file has no header row".into(), now()),
        Ok((encoding, true)) => {
            job.encoding = encoding.map(str::to_ascii_lowercase);
            job.processed_bytes = job.total_bytes;
            job.status = "completed".into();
            job.finished_at = Some(now());
            job.heartbeat_at = job.finished_at;
            write_transaction(db, |conn| Ok(store::save_job(conn, job)?))?;
            progress(job);
            Ok(())
        }
        Err(e) => {
            let why = e
                .errors
                .first()
                .map(|x| format!("{}: {}", x.field, x.message))
                .unwrap_or_else(|| e.detail.clone());
            fail(db, job, why, now())
        }
    }
}

fn fail(
    db: &Database,
    job: &mut ImportJob,
    why: String,
    at: DateTime<Utc>,
) -> Result<(), ApiError> {
    job.status = "failed".into();
    job.error = Some(why);
    job.finished_at = Some(at);
    write_transaction(db, |conn| Ok(store::save_job(conn, job)?))
}

/// What the reading thread hands the writing one.
enum Message {
    /// The mapping used, as the job stores it.
    Mapping(String),
    Chunk(Chunk),
}

/// A batch of validated rows with what the reading found on the way.
#[derive(Default)]
struct Chunk {
    rows: Vec<Prepared>,
    problems: Vec<Problem>,
    rows_read: i32,
    failed: i32,
    /// Rows whose source key came twice in the batch.
    skipped: i32,
    processed_bytes: i64,
}

/// Reads rows into chunks: conversion and validation, no database.
struct Validator<'a> {
    cipher: &'a DataCipher,
    region: Option<CountryCode>,
    org_id: String,
    job_id: String,
    created_by: String,
    mapping: Option<ColumnMapping>,
    headers: Vec<String>,
    chunk: Chunk,
    /// The source keys of the chunk's rows.
    keys: HashSet<String>,
    /// Rows failed so far in the job (problems stop being kept past
    /// [`MAX_PROBLEMS`]).
    failed: i32,
    today: chrono::NaiveDate,
}

impl Validator<'_> {
    fn take(
        &mut self,
        event: RowEvent<'_>,
        options: &Options,
    ) -> Result<Option<Message>, ApiError> {
        match event {
            RowEvent::Header(headers) => {
                let headers: Vec<String> = headers.iter().map(|h| h.trim().to_string()).collect();
                let mapping = ColumnMapping::from_headers(&headers, &options.overrides)?;
                let used: Vec<MappingEntry> = headers
                    .iter()
                    .zip(&mapping.columns)
                    .map(|(h, f)| MappingEntry {
                        header: h.clone(),
                        field: *f,
                    })
                    .collect();
                self.headers = headers;
                self.mapping = Some(mapping);
                Ok(serde_json::to_string(&used).ok().map(Message::Mapping))
            }
            RowEvent::Row(row, cells) => {
                self.row(row, cells);
                Ok(None)
            }
        }
    }

    /// The chunk so far, handed over.
    fn cut(&mut self, bytes: &AtomicU64) -> Message {
        self.keys.clear();
        let mut chunk = std::mem::take(&mut self.chunk);
        chunk.processed_bytes = i64::try_from(bytes.load(Ordering::Relaxed)).unwrap_or(i64::MAX);
        Message::Chunk(chunk)
    }

    fn problem(&mut self, row: u64, errors: Vec<FieldError>) {
        self.failed += 1;
        self.chunk.failed += 1;
        if self.failed > MAX_PROBLEMS {
            return;
        }
        for (i, e) in errors.into_iter().enumerate() {
            self.chunk.problems.push(Problem {
                org_id: self.org_id.clone(),
                job_id: self.job_id.clone(),
                row_number: i32::try_from(row).unwrap_or(i32::MAX),
                position: i32::try_from(i).unwrap_or(i32::MAX),
                field: e.field,
                code: e.code.to_string(),
                message: e.message,
            });
        }
    }

    /// Validates one row; a valid one joins the chunk.
    fn row(&mut self, row: u64, cells: &[String]) {
        let Some(mapping) = self.mapping.as_ref() else {
            return;
        };
        // Every problem of the row at once: what conversion found, then
        // what validation finds in the rest.
        let Some((imported, mut errors)) =
            import::convert_row_with_problems(mapping, &self.headers, cells)
        else {
            return;
        };
        self.chunk.rows_read += 1;
        let key = match &imported.external_id {
            Some(id) => format!("ext:{}", id.trim()),
            None => format!(
                "row:{}",
                sha256_hex(import::canonical_row(mapping, cells).as_bytes())
            ),
        };
        let profile = match imported.draft.parse(self.region, self.today) {
            Ok(p) => Some(p),
            Err(e) => {
                for mut fe in e.into_field_errors() {
                    fe.field = column_of(&fe.field, mapping, &self.headers);
                    // A column already reported is not reported twice.
                    if !errors.iter().any(|x| x.field == fe.field) {
                        errors.push(fe);
                    }
                }
                None
            }
        };
        let guest_id = crm_domain::id::new_id().to_string();
        let document = match &imported.document {
            None => None,
            Some((doc_type, raw)) => match DocumentNumber::parse(raw, *doc_type, None) {
                Ok(number) => Some(bulk::DocumentRow {
                    id: crm_domain::id::new_id().to_string(),
                    org_id: self.org_id.clone(),
                    guest_id: guest_id.clone(),
                    doc_type: doc_type.as_str().to_string(),
                    number_encrypted: self.cipher.encrypt(number.as_str()),
                    number_hash: self.cipher.blind_index(number.as_str()),
                    number_masked: number.masked(),
                    issuing_country: None,
                    expires_on: None,
                    created_by: self.created_by.clone(),
                    created_at: chrono::Utc::now().naive_utc(),
                }),
                Err(e) => {
                    let column = mapping
                        .columns
                        .iter()
                        .position(|f| *f == ImportField::DocumentNumber)
                        .and_then(|i| self.headers.get(i))
                        .cloned()
                        .unwrap_or_else(|| "document_number".into());
                    errors.extend(e.into_field_errors().into_iter().map(|mut fe| {
                        fe.field = column.clone();
                        fe
                    }));
                    None
                }
            },
        };
        let Some(profile) = profile.filter(|_| errors.is_empty()) else {
            self.problem(row, errors);
            return;
        };
        let mut consents = Vec::new();
        if let Some(granted) = imported.marketing_email {
            consents.push(("email", granted));
        }
        if let Some(granted) = imported.marketing_sms {
            consents.push(("sms", granted));
        }
        // The same key twice in one batch: the first wins.
        if !self.keys.insert(key.clone()) {
            self.chunk.skipped += 1;
            return;
        }
        self.chunk.rows.push(Prepared {
            row,
            key,
            guest: Guest {
                id: guest_id,
                org_id: self.org_id.clone(),
                profile,
                blacklist: None,
                erased_at: None,
                merged_into: None,
                merged_at: None,
                version: 1,
                created_by: self.created_by.clone(),
                created_at: chrono::Utc::now(),
                updated_at: chrono::Utc::now(),
            },
            document,
            consents,
        });
    }
}

/// Writes chunks: rows not imported before, problems, the job's counters.
struct Writer<'a> {
    db: &'a Database,
    /// Dry runs write no source keys: the keys seen so far, hashed.
    seen: HashSet<u64>,
}

impl Writer<'_> {
    /// Writes the chunk's rows (those not imported before), its problems
    /// and the job's counters in one transaction.
    fn flush(
        &mut self,
        job: &mut ImportJob,
        chunk: Chunk,
        at: DateTime<Utc>,
    ) -> Result<(), ApiError> {
        job.rows_read += chunk.rows_read;
        job.failed_count += chunk.failed;
        job.skipped_count += chunk.skipped;
        let problems = chunk.problems;
        let keys: Vec<String> = chunk.rows.iter().map(|p| p.key.clone()).collect();
        let known = if keys.is_empty() {
            Default::default()
        } else {
            self.db
                .read(|conn| store::known_source_keys(conn, &job.org_id, &keys))?
        };
        let mut fresh: Vec<Prepared> = Vec::with_capacity(chunk.rows.len());
        for p in chunk.rows {
            let seen_before = if job.dry_run {
                use std::hash::{Hash, Hasher};
                let mut h = std::collections::hash_map::DefaultHasher::new();
                p.key.hash(&mut h);
                !self.seen.insert(h.finish())
            } else {
                false
            };
            if known.contains_key(&p.key) || seen_before {
                job.skipped_count += 1;
            } else {
                fresh.push(p);
            }
        }
        job.heartbeat_at = Some(at);
        if job.dry_run {
            job.created_count += i32::try_from(fresh.len()).unwrap_or(i32::MAX);
            return write_transaction(self.db, |conn| {
                store::insert_problems(conn, &problems)?;
                store::save_job(conn, job)?;
                Ok(())
            });
        }
        let batch = batch_of(job, &fresh, at)?;
        let created = i32::try_from(fresh.len()).unwrap_or(i32::MAX);
        let mut saved = job.clone();
        saved.created_count += created;
        let written = write_transaction(self.db, |conn| {
            bulk::write(conn, &batch)?;
            store::insert_problems(conn, &problems)?;
            store::save_job(conn, &saved)?;
            Ok(())
        });
        match written {
            Ok(()) => {
                *job = saved;
                Ok(())
            }
            // Another import of the same file got some of these rows in
            // first (their source keys collide): row by row, the rest.
            Err(_) => {
                let mut problems = problems;
                for p in fresh {
                    let one = batch_of(job, std::slice::from_ref(&p), at)?;
                    match write_transaction(self.db, |conn| Ok(bulk::write(conn, &one)?)) {
                        Ok(_) => job.created_count += 1,
                        Err(_) => {
                            let again = self.db.read(|conn| {
                                store::known_source_keys(
                                    conn,
                                    &job.org_id,
                                    std::slice::from_ref(&p.key),
                                )
                            })?;
                            if again.is_empty() {
                                job.failed_count += 1;
                                problems.push(Problem {
                                    org_id: job.org_id.clone(),
                                    job_id: job.id.clone(),
                                    row_number: i32::try_from(p.row).unwrap_or(i32::MAX),
                                    position: 0,
                                    field: "row".into(),
                                    code: "write_failed".into(),
                                    message: "the row could not be stored".into(),
                                });
                            } else {
                                job.skipped_count += 1;
                            }
                        }
                    }
                }
                write_transaction(self.db, |conn| {
                    store::insert_problems(conn, &problems)?;
                    store::save_job(conn, job)?;
                    Ok(())
                })
            }
        }
    }
}

fn batch_of(job: &ImportJob, rows: &[Prepared], at: DateTime<Utc>) -> Result<Batch, ApiError> {
    let mut batch = Batch::default();
    for p in rows {
        let (g, tags, terms) = guests::bulk_rows(&p.guest)?;
        batch.guests.push(g);
        batch.tags.extend(tags);
        batch.terms.extend(terms);
        if let Some(d) = &p.document {
            batch.documents.push(d.clone());
        }
        for (channel, granted) in &p.consents {
            batch.consents.push(bulk::ConsentRow {
                id: crm_domain::id::new_id().to_string(),
                org_id: job.org_id.clone(),
                guest_id: p.guest.id.clone(),
                purpose: "marketing".into(),
                channel: Some((*channel).to_string()),
                status: if *granted { "granted" } else { "withdrawn" }.into(),
                source: "import".into(),
                recorded_by: job.created_by.clone(),
                recorded_at: at.naive_utc(),
            });
        }
        batch.source_keys.push(bulk::SourceKeyRow {
            org_id: job.org_id.clone(),
            source_key: p.key.clone(),
            guest_id: p.guest.id.clone(),
            job_id: job.id.clone(),
            created_at: at.naive_utc(),
        });
    }
    Ok(batch)
}

/// Writes a job's problem report as CSV: row, column, code, message.
pub fn write_report<W: std::io::Write>(
    db: &Database,
    org: &str,
    job_id: &str,
    out: &mut csv::Writer<W>,
) -> Result<(), ApiError> {
    let io = |e: csv::Error| ApiError::internal(e.to_string());
    out.write_record(["row", "column", "code", "message"])
        .map_err(io)?;
    let mut after = (0, -1);
    loop {
        let page = db.read(|conn| store::problems_after(conn, org, job_id, after, 5_000))?;
        let Some(last) = page.last() else { break };
        after = (last.row_number, last.position);
        for p in &page {
            out.write_record([
                p.row_number.to_string().as_str(),
                &p.field,
                &p.code,
                &p.message,
            ])
            .map_err(io)?;
        }
    }
    out.flush().map_err(|e| ApiError::internal(e.to_string()))?;
    Ok(())
}

/// A new job for a file.
#[allow(clippy::too_many_arguments)]
pub fn new_job(
    org_id: &str,
    created_by: &str,
    file_name: &str,
    format: Format,
    total_bytes: u64,
    dry_run: bool,
    preset_id: Option<String>,
    source: &str,
    now: DateTime<Utc>,
) -> ImportJob {
    ImportJob {
        id: crm_domain::id::new_id().to_string(),
        org_id: org_id.to_string(),
        status: "queued".into(),
        dry_run,
        file_name: file_name.chars().take(200).collect(),
        format: format.as_str().into(),
        encoding: None,
        mapping: None,
        preset_id,
        source: source.into(),
        total_bytes: i64::try_from(total_bytes).unwrap_or(i64::MAX),
        processed_bytes: 0,
        rows_read: 0,
        created_count: 0,
        skipped_count: 0,
        failed_count: 0,
        error: None,
        created_by: created_by.to_string(),
        created_at: now,
        started_at: None,
        finished_at: None,
        heartbeat_at: Some(now),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings_are_recognised_from_the_first_bytes() {
        assert_eq!(sniff_encoding(b"\xEF\xBB\xBFname"), encoding_rs::UTF_8);
        assert_eq!(sniff_encoding("姓名,手机".as_bytes()), encoding_rs::UTF_8);
        let (gbk, _, _) = encoding_rs::GBK.encode("姓名,手机");
        assert_eq!(sniff_encoding(&gbk), encoding_rs::GB18030);
        // A UTF-8 character cut at the end of the sample is still UTF-8.
        let bytes = "姓名".as_bytes();
        assert_eq!(sniff_encoding(&bytes[..4]), encoding_rs::UTF_8);
        assert_eq!(sniff_delimiter("a;b;c\n1,2"), b';');
        assert_eq!(sniff_delimiter("a\tb\tc"), b'\t');
        assert_eq!(sniff_delimiter("a,b"), b',');
    }
}

//! Streams the first worksheet of an XLSX workbook row by row.
//!
//! Excel keeps most text of a sheet in one shared-string table that cells
//! point into. A general reader (calamine) holds it as one `String` per
//! entry; for an export of a million guests that is five million strings
//! and about 300 MB. Here the table is one text buffer and one offset per
//! string (a tenth of that), and the sheet itself is read as a stream of
//! XML events from the compressed entry, so nothing else grows with the
//! file.
//!
//! Cells come out as text: shared and inline strings as written, booleans
//! as `true`/`false`, numbers as Excel stores them (whole numbers without
//! a decimal point, so a phone typed as a number reads right; dates are
//! their serial numbers, which the import's date parser understands),
//! errors as empty.

use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;
use std::io::{BufRead, BufReader, Read, Seek};

/// Why a workbook could not be read.
#[derive(Debug, thiserror::Error)]
pub enum XlsxError {
    #[error("not a readable XLSX workbook ({0})")]
    Archive(String),
    #[error("the workbook has no sheet")]
    NoSheet,
    #[error("malformed XML in {part}: {why}")]
    Xml { part: String, why: String },
}

/// Columns past this are ignored (a guest export has a few dozen).
const MAX_COLUMNS: usize = 512;

/// The shared strings: one buffer, and where each string ends in it.
#[derive(Default)]
struct SharedStrings {
    text: String,
    ends: Vec<u32>,
}

impl SharedStrings {
    fn get(&self, i: usize) -> Option<&str> {
        let end = *self.ends.get(i)? as usize;
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        self.text.get(start..end)
    }

    fn push_end(&mut self) -> Result<(), XlsxError> {
        let end = u32::try_from(self.text.len()).map_err(|_| XlsxError::Xml {
            part: "sharedStrings".into(),
            why: "more than 4 GB of text".into(),
        })?;
        self.ends.push(end);
        Ok(())
    }
}

fn xml_error(part: &str, e: impl std::fmt::Display) -> XlsxError {
    XlsxError::Xml {
        part: part.to_string(),
        why: e.to_string(),
    }
}

fn attribute(e: &BytesStart<'_>, name: &[u8]) -> Option<String> {
    e.attributes()
        .flatten()
        .find(|a| a.key.as_ref() == name || a.key.local_name().as_ref() == name)
        .and_then(|a| a.unescape_value().ok().map(|v| v.into_owned()))
}

/// The path of the first sheet: workbook.xml's first `<sheet>` and the
/// relationship it names.
fn first_sheet_path<R: Read + Seek>(zip: &mut zip::ZipArchive<R>) -> Result<String, XlsxError> {
    let rel_id = {
        let entry = zip
            .by_name("xl/workbook.xml")
            .map_err(|e| XlsxError::Archive(e.to_string()))?;
        let mut reader = Reader::from_reader(BufReader::new(entry));
        let mut buf = Vec::new();
        loop {
            match reader.read_event_into(&mut buf) {
                Ok(Event::Start(e) | Event::Empty(e)) if e.local_name().as_ref() == b"sheet" => {
                    break attribute(&e, b"id").ok_or(XlsxError::NoSheet)?;
                }
                Ok(Event::Eof) => return Err(XlsxError::NoSheet),
                Ok(_) => {}
                Err(e) => return Err(xml_error("workbook.xml", e)),
            }
            buf.clear();
        }
    };
    let target = match zip.by_name("xl/_rels/workbook.xml.rels") {
        Err(_) => None,
        Ok(entry) => {
            let mut reader = Reader::from_reader(BufReader::new(entry));
            let mut buf = Vec::new();
            let mut found = None;
            loop {
                match reader.read_event_into(&mut buf) {
                    Ok(Event::Start(e) | Event::Empty(e))
                        if e.local_name().as_ref() == b"Relationship"
                            && attribute(&e, b"Id").as_deref() == Some(rel_id.as_str()) =>
                    {
                        found = attribute(&e, b"Target");
                        break;
                    }
                    Ok(Event::Eof) => break,
                    Ok(_) => {}
                    Err(e) => return Err(xml_error("workbook.xml.rels", e)),
                }
                buf.clear();
            }
            found
        }
    };
    Ok(match target {
        Some(t) if t.starts_with('/') => t.trim_start_matches('/').to_string(),
        Some(t) => format!("xl/{t}"),
        None => "xl/worksheets/sheet1.xml".to_string(),
    })
}

/// Reads `<si>` entries: the text of their `<t>` elements, phonetic
/// readings (`<rPh>`) left out.
fn read_shared_strings(entry: impl Read) -> Result<SharedStrings, XlsxError> {
    let mut strings = SharedStrings::default();
    let mut reader = Reader::from_reader(BufReader::new(entry));
    let mut buf = Vec::new();
    let (mut in_t, mut in_phonetic) = (false, false);
    loop {
        match reader.read_event_into(&mut buf) {
            Ok(Event::Start(e)) => match e.local_name().as_ref() {
                b"t" => in_t = true,
                b"rPh" => in_phonetic = true,
                _ => {}
            },
            Ok(Event::End(e)) => match e.local_name().as_ref() {
                b"t" => in_t = false,
                b"rPh" => in_phonetic = false,
                b"si" => strings.push_end()?,
                _ => {}
            },
            Ok(Event::Empty(e)) if e.local_name().as_ref() == b"si" => strings.push_end()?,
            Ok(Event::Text(t)) if in_t && !in_phonetic => {
                let text = t
                    .unescape()
                    .map_err(|e| xml_error("sharedStrings.xml", e))?;
                strings.text.push_str(&text);
            }
            Ok(Event::CData(t)) if in_t && !in_phonetic => {
                strings.text.push_str(&String::from_utf8_lossy(&t));
            }
            Ok(Event::Eof) => break,
            Ok(_) => {}
            Err(e) => return Err(xml_error("sharedStrings.xml", e)),
        }
        buf.clear();
    }
    Ok(strings)
}

/// The zero-based column of a cell reference: "C7" → 2.
fn column_of(reference: &str) -> Option<usize> {
    let mut col = 0usize;
    let mut letters = 0;
    for b in reference.bytes() {
        if b.is_ascii_uppercase() {
            col = col * 26 + usize::from(b - b'A' + 1);
            letters += 1;
            if letters > 3 {
                return None;
            }
        } else {
            break;
        }
    }
    (letters > 0).then(|| col - 1)
}

/// A number as text, whole numbers without a decimal point.
fn number_text(raw: &str) -> String {
    match raw.trim().parse::<f64>() {
        Ok(x) if x.fract() == 0.0 && x.abs() < 1e15 => format!("{}", x as i64),
        _ => raw.trim().to_string(),
    }
}

/// Calls `f(row, cells)` for each row of the first sheet that has cells,
/// `row` zero-based as in the sheet (a gap in the numbering is a gap).
pub fn read_first_sheet<R, E>(
    source: R,
    mut f: impl FnMut(u32, &[String]) -> Result<(), E>,
) -> Result<Result<(), E>, XlsxError>
where
    R: Read + Seek,
{
    let mut zip = zip::ZipArchive::new(source).map_err(|e| XlsxError::Archive(e.to_string()))?;
    let sheet = first_sheet_path(&mut zip)?;
    let strings = match zip.by_name("xl/sharedStrings.xml") {
        Ok(entry) => read_shared_strings(entry)?,
        Err(_) => SharedStrings::default(),
    };
    let entry = zip
        .by_name(&sheet)
        .map_err(|_| XlsxError::Archive(format!("the sheet {sheet} is missing")))?;
    let mut reader = Reader::from_reader(BufReader::with_capacity(256 * 1024, entry));
    stream_rows(&mut reader, &strings, &mut f).map_err(|e| xml_error(&sheet, e))
}

/// What a cell's `t` attribute says it holds.
#[derive(Clone, Copy, PartialEq)]
enum CellType {
    Number,
    Shared,
    Inline,
    Text,
    Bool,
    Error,
}

/// The sheet's rows; an XML error comes back as the outer error, the
/// callback's as the inner one.
fn stream_rows<B: BufRead, E>(
    reader: &mut Reader<B>,
    strings: &SharedStrings,
    f: &mut impl FnMut(u32, &[String]) -> Result<(), E>,
) -> Result<Result<(), E>, quick_xml::Error> {
    let mut buf = Vec::new();
    let mut cells: Vec<String> = Vec::new();
    let mut row: u32 = 0;
    let mut next_row: u32 = 0;
    let mut column = 0usize;
    let mut kind = CellType::Number;
    let mut value = String::new();
    let (mut in_value, mut in_inline_t) = (false, false);
    loop {
        match reader.read_event_into(&mut buf)? {
            Event::Start(e) => match e.local_name().as_ref() {
                b"row" => {
                    row = attribute(&e, b"r")
                        .and_then(|r| r.parse::<u32>().ok())
                        .map(|r| r.saturating_sub(1))
                        .unwrap_or(next_row);
                    cells.clear();
                    column = 0;
                }
                b"c" => {
                    start_cell(&e, &mut column, &mut kind);
                    value.clear();
                }
                b"v" => in_value = true,
                b"t" if kind == CellType::Inline => in_inline_t = true,
                _ => {}
            },
            Event::Empty(e) => match e.local_name().as_ref() {
                // An empty cell holds nothing but moves the column on.
                b"c" => {
                    start_cell(&e, &mut column, &mut kind);
                    column += 1;
                }
                b"row" => {
                    next_row = attribute(&e, b"r")
                        .and_then(|r| r.parse::<u32>().ok())
                        .unwrap_or(next_row + 1);
                }
                _ => {}
            },
            Event::Text(t) if in_value || in_inline_t => {
                value.push_str(&t.unescape()?);
            }
            Event::End(e) => match e.local_name().as_ref() {
                b"v" => in_value = false,
                b"t" => in_inline_t = false,
                b"c" => {
                    if column < MAX_COLUMNS {
                        let text = match kind {
                            CellType::Shared => value
                                .trim()
                                .parse::<usize>()
                                .ok()
                                .and_then(|i| strings.get(i))
                                .unwrap_or_default()
                                .to_string(),
                            CellType::Inline | CellType::Text => value.clone(),
                            CellType::Bool => (value.trim() == "1").to_string(),
                            CellType::Error => String::new(),
                            CellType::Number => number_text(&value),
                        };
                        if cells.len() <= column {
                            cells.resize(column + 1, String::new());
                        }
                        cells[column] = text;
                    }
                    column += 1;
                }
                b"row" => {
                    next_row = row + 1;
                    if !cells.is_empty() {
                        if let Err(e) = f(row, &cells) {
                            return Ok(Err(e));
                        }
                    }
                }
                _ => {}
            },
            Event::Eof => return Ok(Ok(())),
            _ => {}
        }
        buf.clear();
    }
}

fn start_cell(e: &BytesStart<'_>, column: &mut usize, kind: &mut CellType) {
    if let Some(c) = attribute(e, b"r").as_deref().and_then(column_of) {
        *column = c;
    }
    *kind = match attribute(e, b"t").as_deref() {
        Some("s") => CellType::Shared,
        Some("inlineStr") => CellType::Inline,
        Some("str") | Some("d") => CellType::Text,
        Some("b") => CellType::Bool,
        Some("e") => CellType::Error,
        _ => CellType::Number,
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows_of(book: &mut rust_xlsxwriter::Workbook) -> Vec<(u32, Vec<String>)> {
        let bytes = book.save_to_buffer().unwrap();
        let mut out = Vec::new();
        read_first_sheet(std::io::Cursor::new(bytes), |r, cells| {
            out.push((r, cells.to_vec()));
            Ok::<_, ()>(())
        })
        .unwrap()
        .unwrap();
        out
    }

    #[test]
    fn reads_strings_numbers_gaps_and_booleans() {
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        sheet.write_string(0, 0, "姓名").unwrap();
        sheet.write_string(0, 2, "手机号").unwrap();
        sheet.write_string(1, 0, "张伟 & <Co>").unwrap();
        sheet.write_number(1, 2, 13800138000.0).unwrap();
        sheet.write_number(1, 3, 12.5).unwrap();
        sheet.write_boolean(3, 1, true).unwrap();
        // The same text twice is one shared string.
        sheet.write_string(3, 0, "张伟 & <Co>").unwrap();
        let rows = rows_of(&mut book);
        assert_eq!(
            rows,
            vec![
                (0, vec!["姓名".into(), "".into(), "手机号".into()]),
                (
                    1,
                    vec![
                        "张伟 & <Co>".into(),
                        "".into(),
                        "13800138000".into(),
                        "12.5".into()
                    ]
                ),
                (3, vec!["张伟 & <Co>".into(), "true".into()]),
            ]
        );
    }

    #[test]
    fn cell_references_name_columns() {
        assert_eq!(column_of("A1"), Some(0));
        assert_eq!(column_of("Z9"), Some(25));
        assert_eq!(column_of("AA10"), Some(26));
        assert_eq!(column_of("7"), None);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        let err = read_first_sheet(
            std::io::Cursor::new(b"PK\x03\x04 not a zip".to_vec()),
            |_, _| Ok::<_, ()>(()),
        );
        assert!(matches!(err, Err(XlsxError::Archive(_))));
    }
}

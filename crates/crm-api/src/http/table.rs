//! Tables as JSON, CSV or XLSX: what reports and exports answer with,
//! chosen by `?format=`.

use crate::error::ApiError;
use actix_web::http::header;
use actix_web::HttpResponse;
use serde::Deserialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema, Default)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    #[default]
    Json,
    Csv,
    Xlsx,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    Int(i64),
    Float(f64),
    Null,
}

impl From<String> for Cell {
    fn from(s: String) -> Self {
        Cell::Text(s)
    }
}

impl From<&str> for Cell {
    fn from(s: &str) -> Self {
        Cell::Text(s.to_string())
    }
}

impl From<Option<String>> for Cell {
    fn from(s: Option<String>) -> Self {
        s.map_or(Cell::Null, Cell::Text)
    }
}

impl From<i64> for Cell {
    fn from(n: i64) -> Self {
        Cell::Int(n)
    }
}

impl From<Option<i64>> for Cell {
    fn from(n: Option<i64>) -> Self {
        n.map_or(Cell::Null, Cell::Int)
    }
}

impl From<f64> for Cell {
    fn from(x: f64) -> Self {
        Cell::Float(x)
    }
}

impl From<Option<f64>> for Cell {
    fn from(x: Option<f64>) -> Self {
        x.map_or(Cell::Null, Cell::Float)
    }
}

impl Cell {
    fn json(&self) -> Value {
        match self {
            Cell::Text(s) => Value::String(s.clone()),
            Cell::Int(n) => Value::from(*n),
            Cell::Float(x) => serde_json::Number::from_f64(*x).map_or(Value::Null, Value::Number),
            Cell::Null => Value::Null,
        }
    }

    fn text(&self) -> String {
        match self {
            Cell::Text(s) => s.clone(),
            Cell::Int(n) => n.to_string(),
            Cell::Float(x) => format!("{x:.4}"),
            Cell::Null => String::new(),
        }
    }
}

/// A report or export: named columns, rows of cells.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// File name without extension, e.g. `channel-mix`.
    pub name: String,
    pub columns: Vec<&'static str>,
    pub rows: Vec<Vec<Cell>>,
}

impl Table {
    pub fn new(name: &str, columns: &[&'static str]) -> Self {
        Table {
            name: name.to_string(),
            columns: columns.to_vec(),
            rows: Vec::new(),
        }
    }

    pub fn push(&mut self, row: Vec<Cell>) {
        self.rows.push(row);
    }

    fn json(&self) -> Value {
        let rows: Vec<Value> = self
            .rows
            .iter()
            .map(|r| {
                let mut m = Map::new();
                for (c, v) in self.columns.iter().zip(r) {
                    m.insert(c.to_string(), v.json());
                }
                Value::Object(m)
            })
            .collect();
        serde_json::json!({"report": self.name, "columns": self.columns, "rows": rows})
    }

    /// CSV with a header row; a UTF-8 BOM first so Excel reads Chinese
    /// text right.
    pub fn csv(&self) -> Result<Vec<u8>, ApiError> {
        let mut out = b"\xEF\xBB\xBF".to_vec();
        {
            let mut w = csv::Writer::from_writer(&mut out);
            w.write_record(&self.columns).map_err(ApiError::internal)?;
            for r in &self.rows {
                w.write_record(r.iter().map(Cell::text))
                    .map_err(ApiError::internal)?;
            }
            w.flush().map_err(ApiError::internal)?;
        }
        Ok(out)
    }

    pub fn xlsx(&self) -> Result<Vec<u8>, ApiError> {
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        sheet
            .set_name(sanitize_sheet_name(&self.name))
            .map_err(ApiError::internal)?;
        let bold = rust_xlsxwriter::Format::new().set_bold();
        for (c, name) in self.columns.iter().enumerate() {
            sheet
                .write_string_with_format(0, c as u16, *name, &bold)
                .map_err(ApiError::internal)?;
        }
        for (r, row) in self.rows.iter().enumerate() {
            write_row(sheet, (r + 1) as u32, row)?;
        }
        book.save_to_buffer().map_err(ApiError::internal)
    }

    /// The table in the requested format, with a file name for downloads.
    pub fn respond(&self, format: Format) -> Result<HttpResponse, ApiError> {
        Ok(match format {
            Format::Json => HttpResponse::Ok().json(self.json()),
            Format::Csv => download(self.csv()?, &self.name, "csv", "text/csv; charset=utf-8"),
            Format::Xlsx => download(
                self.xlsx()?,
                &self.name,
                "xlsx",
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            ),
        })
    }
}

pub fn write_row(
    sheet: &mut rust_xlsxwriter::Worksheet,
    r: u32,
    row: &[Cell],
) -> Result<(), ApiError> {
    for (c, cell) in row.iter().enumerate() {
        let c = c as u16;
        match cell {
            Cell::Text(s) => sheet.write_string(r, c, s).map(|_| ()),
            Cell::Int(n) => sheet.write_number(r, c, *n as f64).map(|_| ()),
            Cell::Float(x) => sheet.write_number(r, c, *x).map(|_| ()),
            Cell::Null => Ok(()),
        }
        .map_err(ApiError::internal)?;
    }
    Ok(())
}

fn sanitize_sheet_name(name: &str) -> String {
    name.chars()
        .filter(|c| !"[]:*?/\\".contains(*c))
        .take(31)
        .collect()
}

pub fn download(body: Vec<u8>, name: &str, ext: &str, content_type: &str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}.{ext}\""),
        ))
        .body(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> Table {
        let mut t = Table::new("demo", &["channel", "stays", "share"]);
        t.push(vec![
            "直销, \"官网\"".into(),
            Cell::Int(3),
            Cell::Float(0.5),
        ]);
        t.push(vec![Cell::Null, Cell::Int(0), Cell::Null]);
        t
    }

    #[test]
    fn csv_quotes_and_starts_with_a_bom() {
        let csv = String::from_utf8(table().csv().unwrap()).unwrap();
        assert!(csv.starts_with('\u{feff}'));
        let lines: Vec<&str> = csv.trim_start_matches('\u{feff}').lines().collect();
        assert_eq!(lines[0], "channel,stays,share");
        assert_eq!(lines[1], "\"直销, \"\"官网\"\"\",3,0.5000");
        assert_eq!(lines[2], ",0,");
    }

    #[test]
    fn xlsx_is_a_zip_and_json_names_the_columns() {
        let x = table().xlsx().unwrap();
        assert!(x.starts_with(b"PK"));
        let j = table().json();
        assert_eq!(j["rows"][0]["stays"], 3);
        assert!(j["rows"][1]["channel"].is_null());
    }
}
